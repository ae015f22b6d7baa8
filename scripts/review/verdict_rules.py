"""Rule verdict_rules_page: the constants that decide verdicts (config/verdicts.yaml) and the
rates the calibration suite measures (report/verdict_calibration.csv, written by
``python -m noise_injection.workflow.calibration write`` and checked by
tests/test_calibration.py) as HTML tables; the rules themselves are the page's caption
(report/verdict_rules.rst)."""

import html
from pathlib import Path

from noise_injection.base.constants import constants
from noise_injection.base.htmltable import page, table_html
from noise_injection.base.runlog import log_to_file

log = log_to_file(snakemake.log[0])
entries = constants()  # config/verdicts.yaml of this checkout (the rule's params hold it)
rates = snakemake.params.rates  # report/verdict_calibration.csv, by content
log.info("%d verdict constants, %d calibration rates", len(entries), len(rates))
Path(snakemake.output[0]).write_text(page(
    "Verdict rules: the constants that decide verdicts, and their calibration",
    table_html(("constant", "value", "why"),
               [(name, e["value"], e["why"]) for name, e in entries.items()])
    + f"<h3>{html.escape('Rates measured by simulation under known truths')}</h3>"
    + table_html(("case", "what is simulated and counted", "seeds", "tables",
                  "measured rate", "Monte-Carlo s.e.", "target"),
                 [(r["case"], r["what"], r["seeds"], r["tables"], f"{float(r['rate']):.2%}",
                   f"{float(r['mc_se']):.2%}", r["target"]) for r in rates],
                 numeric=("seeds", "tables", "measured rate", "Monte-Carlo s.e."))))
