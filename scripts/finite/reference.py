"""Rule finite_reference: the convex solutions at the sigma grid and along a fine path."""

import numpy as np

from noise_injection.finite.compare import reference_path
from noise_injection.base.results import Stopwatch, make_record, write_json, write_npz
from noise_injection.base.runlog import log_to_file

SOLVERS = {
    "lasso": "scikit-learn Lasso (coordinate descent)",
    "group_lasso": "cvxpy + Clarabel (interior point)",
    "nuclear": "singular-value soft-thresholding (X^T X / n = I) or cvxpy + Clarabel",
}

log = log_to_file(snakemake.log[0])
cfg, model = snakemake.params.cfg, snakemake.wildcards.model
data = dict(np.load(snakemake.input[0]))
sigmas = np.asarray(cfg["sigmas"], dtype=float)
path_sigmas = np.linspace(sigmas.min(), sigmas.max(), cfg["path_points"])
clock = Stopwatch()
solutions, path_solutions = reference_path(model, data, sigmas), reference_path(model, data, path_sigmas)
times = clock.times()
write_npz(snakemake.output.npz, sigmas=sigmas, solutions=solutions, path_sigmas=path_sigmas,
          path_solutions=path_solutions)
write_json(snakemake.output.json,
           make_record(cfg, cfg["data_seed"], "ok", **times, model=model,
                       solver=SOLVERS[model]))
log.info("%s references (%s) in %.1f s", model, SOLVERS[model], times["wall_time_s"])
