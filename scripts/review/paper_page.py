"""Rule paper_page: docs/paper.md (the project's account of the paper) as a report page."""

from pathlib import Path

from noise_injection.base.htmltable import markdown_page
from noise_injection.base.runlog import log_to_file

log_to_file(snakemake.log[0])
text = snakemake.params.text
Path(snakemake.output[0]).write_text(markdown_page("The paper, as this project reads it",
                                                   text.split("\n", 1)[1]))
