"""Rule variance_claims: results/variance/claims.csv (claim C4) from the stage's results."""

from noise_injection.claims.variance import claims_from_results
from noise_injection.base.runlog import log_to_file

log = log_to_file(snakemake.log[0])
table = claims_from_results(snakemake.input.heatmap, snakemake.input.width,
                            snakemake.input.dynamics, snakemake.input.stall,
                            snakemake.params.width_sweep, snakemake.params.scale)
table.to_csv(snakemake.output[0], index=False)
for row in table.itertuples():
    log.info("%s %s: %s", row.row, row.verdict, row.measured)
