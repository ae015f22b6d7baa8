"""Rule deviations_page: the deviations list (config/deviations.yaml) as an HTML table."""

from pathlib import Path

from noise_injection.workflow.deviations import RST_TITLE, html_page, load_deviations
from noise_injection.base.runlog import log_to_file

log = log_to_file(snakemake.log[0])
data = load_deviations()  # config/deviations.yaml of this checkout (the rule's params hold it)
log.info("%d deviations", len(data["deviations"]))
Path(snakemake.output[0]).write_text(html_page(data, RST_TITLE))
