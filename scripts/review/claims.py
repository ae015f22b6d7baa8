"""Rule claims_table: combine the stages' claims into results/claims.csv and the claims page
results/claims.html (a summary line per claim, then a section per claim)."""

from pathlib import Path

from noise_injection.claims.page import claims_html
from noise_injection.claims.table import CLAIM_COLUMNS, combine_claims
from noise_injection.base.inputs import read_table
from noise_injection.base.runlog import log_to_file

log = log_to_file(snakemake.log[0])
for path in snakemake.input:  # each stage's claims parse and have the columns, or name the file
    read_table(path, columns=CLAIM_COLUMNS, dtype=str, keep_default_na=False)
table = combine_claims(snakemake.input)
log.info("%d claims from %s", len(table), list(snakemake.input))
table.to_csv(snakemake.output.csv, index=False)
scale = snakemake.config["scale"]
Path(snakemake.output.html).write_text(
    claims_html(table, f"Paper vs this repository ({scale} scale)",
                snakemake.config.get("networks"))
)
