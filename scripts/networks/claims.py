"""Rule network_claims: claims C5 and C6 (paper.md section 5) from the experiments' final
metrics: per claim a claim line and one row per declared comparison ->
results/networks/claims.csv."""

import pandas as pd

from noise_injection.networks.experiments import EXPERIMENTS
from noise_injection.claims.networks import network_claims
from noise_injection.workflow.runlog import log_to_file

log = log_to_file(snakemake.log[0])

summaries = {name: pd.read_csv(path) for name, path in zip(EXPERIMENTS, snakemake.input.summaries)}
table = network_claims(summaries, snakemake.config["networks"]["experiments"],
                       snakemake.config["scale"])
table.to_csv(snakemake.output[0], index=False)
log.info("claims:\n%s", table[["claim", "row", "verdict", "estimate", "ci_low", "ci_high",
                               "n_ok"]].to_string())
