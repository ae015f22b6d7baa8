"""Rule verdict_rules_page: the constants that decide verdicts (config/verdicts.yaml) as an
HTML table; the rules themselves are the page's caption (report/verdict_rules.rst)."""

from pathlib import Path

from noise_injection.claims.constants import constants
from noise_injection.workflow.htmltable import table_page
from noise_injection.workflow.runlog import log_to_file

log = log_to_file(snakemake.log[0])
entries = constants()  # config/verdicts.yaml of this checkout (the rule's params hold it)
log.info("%d verdict constants", len(entries))
Path(snakemake.output[0]).write_text(table_page(
    "Verdict rules: the constants that decide verdicts", ("constant", "value", "why"),
    [(name, e["value"], e["why"]) for name, e in entries.items()]))
