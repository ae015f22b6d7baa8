"""Rule finite_data: the seeded synthetic instance of one finite-dimensional model."""

from noise_injection.finite.data import make_instance
from noise_injection.base.results import write_npz
from noise_injection.base.runlog import log_to_file

log = log_to_file(snakemake.log[0])
model = snakemake.wildcards.model
data = make_instance(model, snakemake.params.cfg)
log.info("%s instance: %s", model, {k: v.shape for k, v in data.items()})
write_npz(snakemake.output[0], **data)
