"""Rule finite_claims: claims C1-C3 (PGD solves the convex problems): per model a claim line
and its tested rows (objective gap, parameter error) -> results/finite/claims.csv."""

from noise_injection.claims.finite import claims_table
from noise_injection.base.inputs import read_table
from noise_injection.base.runlog import log_to_file

log = log_to_file(snakemake.log[0])
table = claims_table(read_table(snakemake.input[0]), snakemake.params.cfg,
                     snakemake.config["scale"])
table.to_csv(snakemake.output[0], index=False)
log.info("\n%s", table[["claim", "row", "verdict", "estimate", "measured"]].to_string())
