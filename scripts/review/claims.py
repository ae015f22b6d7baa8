"""Rule claims_table: combine the stages' claims into results/claims.csv and the claims page
results/claims.html (a summary line per claim, then a section per claim). At the scale that
benchmarks/travel.py measured (config/travel.yaml), the rows whose verdict word changed on an
imitated machine say so in their verdict text."""

from pathlib import Path

from noise_injection.base.inputs import read_table
from noise_injection.base.runlog import log_to_file
from noise_injection.claims.page import claims_html
from noise_injection.claims.table import CLAIM_COLUMNS, combine_claims, mark_fragile

log = log_to_file(snakemake.log[0])
for path in snakemake.input:  # each stage's claims parse and have the columns, or name the file
    read_table(path, columns=CLAIM_COLUMNS, dtype=str, keep_default_na=False)
table = combine_claims(snakemake.input)
log.info("%d claims from %s", len(table), list(snakemake.input))
scale = snakemake.config["scale"]
measured = snakemake.params.travel  # {} unless benchmarks/travel.py measured this scale
if measured:
    table, stale = mark_fragile(table, measured["fragile"], measured["variants"],
                                f"docs/travel.md, revision {str(measured['revision'])[:7]}")
    for entry in stale:
        log.warning("config/travel.yaml names a fragile row the table does not have (rerun "
                    "benchmarks/travel.py): %s %s", entry["claim"], entry["row"])
table.to_csv(snakemake.output.csv, index=False)
Path(snakemake.output.html).write_text(
    claims_html(table, f"Paper vs this repository ({scale} scale)",
                snakemake.config.get("networks"))
)
