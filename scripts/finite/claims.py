"""Rule finite_claims: claims C1-C3 (PGD solves the convex problems) with their verdicts."""

import pandas as pd

from noise_injection.claims.finite import claim_row
from noise_injection.workflow.inputs import read_table
from noise_injection.workflow.runlog import log_to_file

log = log_to_file(snakemake.log[0])
cfg = snakemake.params.cfg
summary = read_table(snakemake.input[0])
rows = [claim_row(model, summary[summary.model == model], cfg["max_rel_error"],
                  cfg["structure_tol"], snakemake.config["scale"])
        for model in dict.fromkeys(summary.model)]
table = pd.DataFrame(rows)
table.to_csv(snakemake.output[0], index=False)
log.info("\n%s", table[["claim", "verdict", "measured"]].to_string())
