"""Rule finite_claims: claims C1-C3 (PGD solves the convex problems): per model a claim line
and its tested rows (objective gap, parameter error) -> results/finite/claims.csv."""

import pandas as pd

from noise_injection.claims.finite import model_rows
from noise_injection.claims.table import CLAIM_COLUMNS
from noise_injection.workflow.inputs import read_table
from noise_injection.workflow.runlog import log_to_file

log = log_to_file(snakemake.log[0])
cfg = snakemake.params.cfg
summary = read_table(snakemake.input[0])
rows = [row for model in dict.fromkeys(summary.model)
        for row in model_rows(model, summary[summary.model == model], cfg,
                              snakemake.config["scale"])]
table = pd.DataFrame(rows, columns=list(CLAIM_COLUMNS))
table.to_csv(snakemake.output[0], index=False)
log.info("\n%s", table[["claim", "row", "verdict", "estimate", "measured"]].to_string())
