"""Rule finite_pgd: PGD at every (sigma, seed) and plain GD at every seed, one batch."""

import numpy as np

from noise_injection.finite.pgd import pgd_path
from noise_injection.base.results import Stopwatch, make_record, write_json, write_npz
from noise_injection.base.runlog import log_to_file

log = log_to_file(snakemake.log[0])
cfg, model = snakemake.params.cfg, snakemake.wildcards.model
data = dict(np.load(snakemake.input[0]))
log.info("PGD on %s: sigmas %s, %d seeds, %s", model, cfg["sigmas"], cfg["n_seeds"], cfg[model])
clock = Stopwatch()
path = pgd_path(model, data, cfg, progress=True)
times = clock.times()
finite = bool(path["pgd_finite"].all() and path["gd_finite"].all())
write_npz(snakemake.output.npz, **path)
write_json(
    snakemake.output.json,
    make_record(cfg, None, "ok" if finite else "diverged", **times, model=model,
                seeds=path["seeds"], pgd_finite=path["pgd_finite"], gd_finite=path["gd_finite"]),
)
log.info("done in %.1f s (finite: %s)", times["wall_time_s"], finite)
