"""Rule aggregate_network: the runs of one experiment -> curves.csv (mean/std/sem over seeds
per scheme, sigma, metric and evaluation epoch) and summary.csv (final metrics of ok runs).
Every run file is checked first (:func:`summary.read_runs`)."""

from noise_injection.networks.summary import read_runs, summarize
from noise_injection.workflow.runlog import log_to_file

log = log_to_file(snakemake.log[0])

curves, final = summarize(read_runs(snakemake.input.json, snakemake.input.npz))
curves.to_csv(snakemake.output.curves, index=False)
final.to_csv(snakemake.output.summary, index=False)
log.info("final metrics:\n%s", final.to_string())
