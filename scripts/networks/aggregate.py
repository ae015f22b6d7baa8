"""Rule aggregate_network: the runs of one experiment -> curves.csv (mean/std/sem over seeds
per scheme, sigma, metric and evaluation epoch) and summary.csv (final metrics of ok runs)."""

import numpy as np
import pandas as pd

from noise_injection.networks.experiments import METRICS
from noise_injection.networks.summary import summarize
from noise_injection.workflow.results import read_json
from noise_injection.workflow.runlog import log_to_file

log = log_to_file(snakemake.log[0])

rows = []
for json_path, npz_path in zip(snakemake.input.json, snakemake.input.npz):
    record = read_json(json_path)
    arrays = np.load(npz_path)
    for metric in METRICS:
        for epoch, value in zip(arrays["epoch"], arrays[metric]):
            rows.append({"scheme": record["config"]["scheme"],
                         "sigma": record["config"]["sigma"], "seed": record["seed"],
                         "status": record["status"], "epoch": int(epoch), "metric": metric,
                         "value": float(value)})
curves, final = summarize(pd.DataFrame(rows))
curves.to_csv(snakemake.output.curves, index=False)
final.to_csv(snakemake.output.summary, index=False)
log.info("final metrics:\n%s", final.to_string())
