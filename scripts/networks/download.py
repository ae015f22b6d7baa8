"""Rule download_dataset: find a verified local copy of a data set (data_root, then the
mirrors of networks.data_mirrors) or download it (pinned SHA-256), and parse it once, on the
node that has internet access, so that training jobs only read verified files. The flag file
lists, per file, the path read and its SHA-256 and content SHA-256 (JSON)."""

from pathlib import Path

from noise_injection.networks.data import load_dataset
from noise_injection.base.results import write_json
from noise_injection.base.runlog import log_to_file

log = log_to_file(snakemake.log[0])
name = snakemake.wildcards.dataset
networks = snakemake.config["networks"]
data = load_dataset(name, root=networks["data_root"], mirrors=networks["data_mirrors"])
log.info("%s: %d train / %d test images of shape %s, read from %s", name, len(data.x_train),
         len(data.x_test), data.in_shape, sorted({str(Path(s["path"]).parent)
                                                   for s in data.source}))
write_json(snakemake.output[0], {"dataset": name, "source": list(data.source)})
