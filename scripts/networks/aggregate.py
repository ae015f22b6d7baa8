"""Rule aggregate_network: the runs of one experiment -> curves.csv (mean/std/sem over seeds
per scheme, sigma, metric and evaluation epoch), summary.csv (final metrics of ok runs) and
finals.csv (each run's final value and status, for the paired claims).
Every run file is checked first (:func:`summary.read_runs`)."""

from noise_injection.networks.summary import read_runs, seed_finals, summarize
from noise_injection.base.runlog import log_to_file

log = log_to_file(snakemake.log[0])

runs_long = read_runs(snakemake.input.json, snakemake.input.npz)
curves, final = summarize(runs_long)
curves.to_csv(snakemake.output.curves, index=False)
final.to_csv(snakemake.output.summary, index=False)
seed_finals(runs_long).to_csv(snakemake.output.finals, index=False)
log.info("final metrics:\n%s", final.to_string())
