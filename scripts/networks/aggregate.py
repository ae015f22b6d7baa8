"""Rule aggregate_network: the runs of one experiment -> curves.csv (mean/std/sem over seeds
per scheme, sigma, metric and evaluation epoch), summary.csv (final metrics of ok runs) and
finals.csv (each run's final value and status, for the paired claims).
Every run file is checked first: it parses, holds the run its name says, and has every
metric at every evaluation epoch."""

from pathlib import Path

import pandas as pd

from noise_injection.networks.experiments import METRICS, run_stem, sigma_label
from noise_injection.networks.summary import seed_finals, summarize
from noise_injection.workflow.inputs import input_error, read_json, read_npz
from noise_injection.workflow.runlog import log_to_file

log = log_to_file(snakemake.log[0])

rows = []
for json_path, npz_path in zip(snakemake.input.json, snakemake.input.npz):
    record = read_json(json_path, keys=("config.scheme", "config.sigma", "seed", "status"))
    config = record["config"]
    stem = run_stem(config["scheme"], sigma_label(config["sigma"]), record["seed"])
    if stem != Path(json_path).stem:
        raise input_error(json_path, f"holds run {stem}, not the run its name says")
    arrays = read_npz(npz_path, keys=("epoch", *METRICS))
    lengths = {k: len(arrays[k]) for k in ("epoch", *METRICS)}
    if len(set(lengths.values())) != 1:
        raise input_error(npz_path, f"arrays of different lengths {lengths}")
    for metric in METRICS:
        for epoch, value in zip(arrays["epoch"], arrays[metric]):
            rows.append({"scheme": config["scheme"], "sigma": config["sigma"],
                         "seed": record["seed"], "status": record["status"],
                         "epoch": int(epoch), "metric": metric, "value": float(value)})
runs_long = pd.DataFrame(rows)
curves, final = summarize(runs_long)
curves.to_csv(snakemake.output.curves, index=False)
final.to_csv(snakemake.output.summary, index=False)
seed_finals(runs_long).to_csv(snakemake.output.finals, index=False)
log.info("final metrics:\n%s", final.to_string())
