"""Rule run_timings: wall time and status of every run record under results/."""

from noise_injection.workflow.timings import run_timings
from noise_injection.base.runlog import log_to_file

log = log_to_file(snakemake.log[0])
table = run_timings("results")
table.insert(0, "scale", snakemake.config["scale"])
log.info("%d result groups, %.1f s in total", len(table), table["wall_time_s"].sum())
table.to_csv(snakemake.output[0], index=False)
