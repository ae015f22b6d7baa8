"""Rule curve_comparison: our curves of the MLP experiments against the paper's digitized
App. Figs. 7-10 (noise_injection.claims.curves; the criterion: config/verdicts.yaml curve_*)
-> results/networks/curves/comparison.csv (one row per digitized point) and claims.csv
(F<N>a train loss, F<N>b test accuracy). Every run file is checked first."""

from noise_injection.claims.curves import curve_tables
from noise_injection.networks.experiments import run_paths
from noise_injection.networks.summary import read_runs
from noise_injection.base.runlog import log_to_file

log = log_to_file(snakemake.log[0])
networks = snakemake.config["networks"]
runs = {name: read_runs(run_paths(name, networks, "json"), run_paths(name, networks, "npz"))
        for name in snakemake.params.experiments}
tables = curve_tables(runs, networks["experiments"], snakemake.config["scale"])
tables["comparison"].to_csv(snakemake.output.comparison, index=False)
tables["claims"].to_csv(snakemake.output.claims, index=False)
log.info("claims:\n%s", tables["claims"][["claim", "row", "verdict_text"]].to_string())
