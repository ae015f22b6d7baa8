"""Rule finite_summary: every PGD and GD run against the reference, one CSV row each."""

import pandas as pd

from noise_injection.finite.compare import summary_rows
from noise_injection.finite import records
from noise_injection.base.inputs import read_npz
from noise_injection.base.runlog import log_to_file

log = log_to_file(snakemake.log[0])
cfg = snakemake.params.cfg
rows = []
for model in snakemake.params.models:
    data = read_npz(snakemake.input[f"{model}_data"], "finite_data", records.DATA[model])
    path = read_npz(snakemake.input[f"{model}_pgd"], "finite_pgd", records.PGD)
    references = read_npz(snakemake.input[f"{model}_reference"], "finite_reference",
                          records.REFERENCE)["solutions"]
    rows += summary_rows(model, data, path, references, cfg["structure_tol"],
                         cfg["structure_clearance"])
table = pd.DataFrame(rows)
table.to_csv(snakemake.output[0], index=False)
log.info("\n%s", table.groupby(["model", "method", "sigma"]).rel_error.agg(["mean", "max"]))
