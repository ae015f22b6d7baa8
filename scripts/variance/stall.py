"""Rule variance_stall: layer-wise and all-weights dynamics over the stall sigma grid at one
width (the Fig. 2 protocol), with the closed-form onset predicted from GD's end point."""

import numpy as np

from noise_injection.variance.dynamics import record_iterations
from noise_injection.variance.onset import predicted_onset
from noise_injection.variance.study import stage_data, stall_sweep
from noise_injection.variance import records
from noise_injection.base.results import Stopwatch, make_record, read_json, write_json
from noise_injection.base.runlog import log_to_file

log = log_to_file(snakemake.log[0])
dyn, stall = snakemake.params.dynamics, snakemake.params.stall
width = int(snakemake.wildcards.width)
clock = Stopwatch()
X, Y = stage_data(snakemake.params.data)
gd_end = read_json(snakemake.input[0], "variance_gd_end", records.GD_END)
prediction = predicted_onset(X, Y, width, gd_end)
log.info("width %d: predicted onset sigma %.4g; grid %s", width, prediction, stall["sigmas"])
result = stall_sweep(X, Y, width, stall["sigmas"], dyn["lr"], dyn["iterations"],
                     list(range(stall["n_seeds"])), stall["noise_seed"],
                     record_iterations(dyn["iterations"], stall["records"]))
log.info("diverged (sigma x method x seed): %s", result["diverged"].tolist())
status = "diverged" if np.any(result["diverged"]) else "ok"  # diverged runs count as stalled
write_json(snakemake.output[0], make_record(
    {"data": snakemake.params.data, "lr": dyn["lr"], "iterations": dyn["iterations"],
     "stall": stall}, stall["noise_seed"], status, **clock.times(),
    predicted_onset=prediction, gd_end={k: gd_end[k] for k in ("risk", "penalty")},
    n_diverged=int(np.sum(result["diverged"])), **result))
