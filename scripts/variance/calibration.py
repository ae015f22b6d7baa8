"""Rule variance_calibration: Fig. 2's sigma fitted to the paper's digitized targets of the
width-50 panel only (noise_injection.variance.onset.calibrate_sigma; the width-300 panel is
the out-of-sample test). The fit is recorded either way; the sigma
used is the fit, or the configured one when variance.dynamics.sigma is a number."""

import math

from noise_injection.variance.onset import FIG2_TARGETS, calibrate_sigma
from noise_injection.variance.study import stage_data
from noise_injection.variance import records
from noise_injection.base.results import Stopwatch, make_record, read_json, write_json
from noise_injection.base.runlog import log_to_file

log = log_to_file(snakemake.log[0])
clock = Stopwatch()
dyn = snakemake.params.dynamics
X, Y = stage_data(snakemake.params.data)
ends = {r["width"]: r for r in (read_json(p, "variance_gd_end", records.GD_END)
                                 for p in snakemake.input)}
small = min(dyn["widths"])
fit = calibrate_sigma(X, Y, small, ends[small])
log.info("targets %s: fit %s", FIG2_TARGETS, fit)
fixed = dyn["sigma"] != "calibrated"
sigma = float(dyn["sigma"]) if fixed else fit["sigma"]
status = "ok" if math.isfinite(sigma) else "diverged"
write_json(snakemake.output[0], make_record(
    {"data": snakemake.params.data, "dynamics": dyn}, 0, status, **clock.times(),
    sigma=sigma, source="config" if fixed else "calibrated", fit=fit))
