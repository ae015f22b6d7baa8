"""Rule variance_heatmap: Fig. 1 Monte Carlo grid of the smoothed loss with its closed form."""

import torch

from noise_injection.base.results import Stopwatch, make_record, write_json
from noise_injection.base.runlog import log_to_file
from noise_injection.variance.study import heatmap, stage_data

log = log_to_file(snakemake.log[0])
torch.set_num_threads(snakemake.threads)
grid = snakemake.params.heatmap
log.info("heat map: %s", grid)
clock = Stopwatch()
X, Y = stage_data(snakemake.params.data)
result = heatmap(X, Y, grid["sigmas"], grid["widths"], grid["repetitions"], grid["seed"])
write_json(snakemake.output[0], make_record(
    {"data": snakemake.params.data, "heatmap": grid}, grid["seed"], "ok", **clock.times(),
    **result))
