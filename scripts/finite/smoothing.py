"""Rule finite_smoothing: Monte-Carlo smoothed risk vs its closed form, three models."""

import numpy as np
import pandas as pd

from noise_injection.finite.pgd import build_model
from noise_injection.base.results import Stopwatch, make_record, write_json
from noise_injection.base.runlog import log_to_file
from noise_injection.finite.smoothing import random_point, smoothing_check

log = log_to_file(snakemake.log[0])
cfg = snakemake.params.cfg
mc = cfg["smoothing"]
clock = Stopwatch()
rows = []
for model, path in snakemake.input.items():
    fm = build_model(model, dict(np.load(path)), cfg)
    theta = random_point(fm, mc["seed"], mc["point_scale"])
    rows += smoothing_check(fm, theta, mc["sigmas"], mc["draws"], mc["seed"])
    log.info("%s done", model)
table = pd.DataFrame(rows)
table.to_csv(snakemake.output.csv, index=False)
write_json(snakemake.output.json,
           make_record(mc, mc["seed"], "ok", **clock.times(),
                       max_abs_z_exact=float(table.z_exact.abs().max()),
                       max_abs_z_second_order=float(table.z_second_order.abs().max())))
log.info("\n%s", table[["model", "sigma", "z_exact", "z_second_order"]])
