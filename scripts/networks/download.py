"""Rule download_dataset: fetch a data set (pinned SHA-256) and parse it once, on the node
that has internet access, so that training jobs only read the verified files."""

from pathlib import Path

from noise_injection.networks.data import load_dataset
from noise_injection.workflow.runlog import log_to_file

log = log_to_file(snakemake.log[0])
name = snakemake.wildcards.dataset
data = load_dataset(name, root=snakemake.config["networks"]["data_root"])
log.info("%s: %d train / %d test images of shape %s", name, len(data.x_train),
         len(data.x_test), data.in_shape)
Path(snakemake.output[0]).write_text(f"{name}: verified and parsed\n")
