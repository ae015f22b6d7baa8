"""Rule variance_claims: results/variance/claims.csv (claim C4) from the stage's results."""

import pandas as pd

from noise_injection.variance import records
from noise_injection.workflow.results import read_json
from noise_injection.workflow.runlog import log_to_file
from noise_injection.claims.table import CLAIM_COLUMNS
from noise_injection.claims.variance import claims_table

log = log_to_file(snakemake.log[0])
runs = sorted((read_json(p, "variance_dynamics", records.DYNAMICS)
               for p in snakemake.input.dynamics), key=lambda r: r["width"])
rows = claims_table(read_json(snakemake.input.heatmap, "variance_heatmap", records.HEATMAP),
                    read_json(snakemake.input.width, "variance_width", records.WIDTH),
                    runs[0], runs[-1], snakemake.params.width_sweep["fit_decades"],
                    snakemake.params.width_sweep["slope_tolerance"],
                    snakemake.params.scale,
                    [read_json(p, "variance_stall", records.STALL) for p in snakemake.input.stall])
pd.DataFrame(rows, columns=list(CLAIM_COLUMNS)).to_csv(snakemake.output[0], index=False)
for row in rows:
    log.info("%s %s: %s", row["row"], row["verdict"], row["measured"])
