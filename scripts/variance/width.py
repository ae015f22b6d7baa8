"""Rule variance_width: loss variance and gradient covariance vs width for one net."""

import torch

from noise_injection.base.results import Stopwatch, make_record, write_json
from noise_injection.base.runlog import log_to_file
from noise_injection.variance.study import stage_data, width_sweep

log = log_to_file(snakemake.log[0])
torch.set_num_threads(snakemake.threads)
sweep = snakemake.params.width_sweep
net = snakemake.wildcards.net
log.info("width sweep of %s: %s", net, sweep)
clock = Stopwatch()
X, Y = stage_data(snakemake.params.data)
result = width_sweep(net, X, Y, sweep["widths"][net], sweep["sigma"], sweep["samples"],
                     sweep["seed"])
write_json(snakemake.output[0], make_record(
    {"data": snakemake.params.data, "width_sweep": sweep}, sweep["seed"], "ok",
    **clock.times(), **result))
