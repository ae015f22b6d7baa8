"""Rule network_claims: claims C5 and C6 (docs/paper.md section 5) from the experiments'
per-seed final values (finals.csv): per claim a claim line and one row per declared
comparison -> results/networks/claims.csv. Each finals table must hold every configured
setting (plain (S)GD included) and metric; a missing one stops the job naming the file."""

from noise_injection.networks.experiments import METRICS, configured, settings
from noise_injection.claims.networks import network_claims
from noise_injection.networks.summary import FINAL_COLUMNS, read_checked
from noise_injection.base.runlog import log_to_file

log = log_to_file(snakemake.log[0])

experiments = snakemake.config["networks"]["experiments"]
finals = {name: read_checked(path, FINAL_COLUMNS, settings(experiments[name]), METRICS)
          for name, path in zip(configured(snakemake.config["networks"]),
                                snakemake.input.finals)}
table = network_claims(finals, experiments, snakemake.config["scale"],
                       snakemake.config["networks"]["n_seeds"])
table.to_csv(snakemake.output[0], index=False)
log.info("claims:\n%s", table[["claim", "row", "verdict_text", "estimate", "ci_low",
                               "ci_high", "n_ok"]].to_string())
