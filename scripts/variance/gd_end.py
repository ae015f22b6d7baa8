"""Rule variance_gd_end: plain GD's end point at one width (the Fig. 2 inits, lr, iterations):
its risk and R_eff penalty per seed, for the calibration and the stall prediction."""

from noise_injection.variance.dynamics import gd_end_point
from noise_injection.variance.study import stage_data
from noise_injection.base.results import Stopwatch, make_record, write_json
from noise_injection.base.runlog import log_to_file

log = log_to_file(snakemake.log[0])
dyn = snakemake.params.dynamics
width = int(snakemake.wildcards.width)
clock = Stopwatch()
X, Y = stage_data(snakemake.params.data)
end = gd_end_point(X, Y[:, 0], width, dyn["lr"], dyn["iterations"], list(range(dyn["n_seeds"])))
log.info("GD end point at width %d: %s", width, end)
write_json(snakemake.output[0], make_record(
    {"data": snakemake.params.data, "lr": dyn["lr"], "iterations": dyn["iterations"],
     "n_seeds": dyn["n_seeds"]}, 0, "ok", **clock.times(), width=width, **end))
