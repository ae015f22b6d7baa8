"""Rule variance_dynamics: Fig. 2 runs (4 methods x n_seeds, one batch) at one width."""

import numpy as np

from noise_injection.variance.dynamics import record_iterations, run_dynamics
from noise_injection.variance import records
from noise_injection.base.results import Stopwatch, make_record, read_json, write_json
from noise_injection.base.runlog import log_to_file
from noise_injection.theory import linear_effective_risk_minimum
from noise_injection.variance.study import stage_data

log = log_to_file(snakemake.log[0])
calibration = read_json(snakemake.input[0], "variance_calibration", records.CALIBRATION)
sigma = calibration["sigma"]  # the calibrated or configured sigma
dyn = {**snakemake.params.dynamics, "sigma": sigma}
width = int(snakemake.wildcards.width)
log.info("dynamics at width %d (sigma %s: %.6g): %s", width,
         snakemake.params.dynamics["sigma"], sigma, dyn)
clock = Stopwatch()
X, Y = stage_data(snakemake.params.data)
result = run_dynamics(X, Y[:, 0], width, dyn["sigma"], dyn["lr"], dyn["iterations"],
                      list(range(dyn["n_seeds"])), dyn["noise_seed"],
                      record_iterations(dyn["iterations"], dyn["records"]))
status = "diverged" if np.any(result["diverged"]) else "ok"
write_json(snakemake.output[0], make_record(
    {"data": snakemake.params.data, "dynamics": dyn}, dyn["noise_seed"], status,
    **clock.times(), width=width, sigma_setting=snakemake.params.dynamics["sigma"],
    calibration_residuals=calibration["fit"]["log_residuals"],
    effective_risk_minimum=linear_effective_risk_minimum(X, Y, dyn["sigma"]), **result))
