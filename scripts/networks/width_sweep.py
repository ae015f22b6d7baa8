"""Rule width_sweep_analysis: the width sweep's per-seed finals (one finals.csv per width) ->
results/networks/width_sweep/: paired drops, onsets per width, scheme and seed, their summary
over seeds, the slope fits, the Fig. 3 prediction and claim rows W1-W4
(noise_injection.claims.width_sweep; the criterion: config/verdicts.yaml sweep_acc_drop).
Each finals table must hold every run of its width, or the job stops naming the file."""

from pathlib import Path

from noise_injection.claims.width_sweep import sweep_tables
from noise_injection.networks.experiments import METRICS, SWEEP_TABLES, settings, sweep_epochs, swept
from noise_injection.networks.summary import FINAL_COLUMNS, read_checked
from noise_injection.base.runlog import log_to_file

log = log_to_file(snakemake.log[0])
networks = snakemake.config["networks"]
experiments = networks["experiments"]
finals = {experiments[name]["sweep"]["width"]: read_checked(path, FINAL_COLUMNS,
                                                            settings(experiments[name]), METRICS)
          for name, path in zip(swept(networks), snakemake.input.finals)}
tables = sweep_tables(finals, snakemake.params.constants["sweep_acc_drop"]["value"],
                      snakemake.params.predicted, sweep_epochs(networks),
                      snakemake.config["scale"])
for name in SWEEP_TABLES:
    Path(snakemake.output[name]).parent.mkdir(parents=True, exist_ok=True)
    tables[name].to_csv(snakemake.output[name], index=False)
log.info("onsets:\n%s", tables["onset_summary"].to_string())
log.info("fits:\n%s", tables["fits"].to_string())
log.info("claims:\n%s", tables["claims"][["claim", "row", "verdict_text"]].to_string())
