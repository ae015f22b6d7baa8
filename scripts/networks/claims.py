"""Rule network_claims: claims C5 and C6 (docs/paper.md section 5) from the experiments' final
metrics: per claim a claim line and one row per declared comparison ->
results/networks/claims.csv. Each summary must hold every configured setting (plain (S)GD
included) and metric; a missing one stops the job naming the file."""

from noise_injection.networks.experiments import EXPERIMENTS, METRICS, settings
from noise_injection.claims.networks import network_claims
from noise_injection.networks.summary import SUMMARY_COLUMNS, read_checked
from noise_injection.workflow.runlog import log_to_file

log = log_to_file(snakemake.log[0])

experiments = snakemake.config["networks"]["experiments"]
summaries = {name: read_checked(path, SUMMARY_COLUMNS, settings(experiments[name]), METRICS)
             for name, path in zip(EXPERIMENTS, snakemake.input.summaries)}
table = network_claims(summaries, experiments, snakemake.config["scale"])
table.to_csv(snakemake.output[0], index=False)
log.info("claims:\n%s", table[["claim", "row", "verdict", "estimate", "ci_low", "ci_high",
                               "n_ok"]].to_string())
