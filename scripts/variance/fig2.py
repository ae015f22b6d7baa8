"""Rule variance_fig2: Fig. 2, R and R_eff vs iterations (log-log), geometric mean times /
divided by the geometric std over seeds (a band on a log axis that never reaches zero)."""

import matplotlib.pyplot as plt
import numpy as np

from noise_injection.workflow.plotting import SCHEME_COLORS, SCHEME_LABELS, save_figure, use_style
from noise_injection.variance import records
from noise_injection.workflow.results import read_json
from noise_injection.workflow.runlog import log_to_file

log = log_to_file(snakemake.log[0])
runs = sorted((read_json(p, "variance_dynamics", records.DYNAMICS)
               for p in snakemake.input.dynamics), key=lambda r: r["width"])
calibration = read_json(snakemake.input.calibration, "variance_calibration",
                        records.CALIBRATION)
style = {"gd": "none", "layer": "layer", "all": "all", "reff": "reff"}
use_style()
fig, axes = plt.subplots(len(runs), 2, figsize=(10, 3.6 * len(runs)), squeeze=False,
                         sharex=True)
for row, run in zip(axes, runs):
    t = np.asarray(run["iterations"], dtype=float)
    keep = t > 0
    for ax, key, name in ((row[0], "risk", "$R$"), (row[1], "effective_risk", "$R_{eff}$")):
        values = np.asarray(run[key], dtype=float)
        for i, method in enumerate(run["methods"]):
            logs = np.log(values[i][:, keep])
            centre, spread = np.exp(logs.mean(axis=0)), np.exp(logs.std(axis=0))
            color = SCHEME_COLORS[style[method]]
            ax.plot(t[keep], centre, color=color, label=SCHEME_LABELS[style[method]])
            ax.fill_between(t[keep], centre / spread, centre * spread,
                            color=color, alpha=0.2, lw=0)
        ax.set(xscale="log", yscale="log", ylabel=name,
               title=f"width {run['width']}: {name}")
    row[1].axhline(run["effective_risk_minimum"], color="k", ls="--", lw=0.8,
                   label="min $R_{eff}$ (convex)")
axes[-1, 0].set_xlabel("iteration")
axes[-1, 1].set_xlabel("iteration")
axes[0, 1].legend(fontsize=8)
fit = calibration["fit"]
fig.suptitle(
    f"sigma = {calibration['sigma']:.4g} ({calibration['source']}); fit: "
    + ", ".join(f"{k} {fit['model'][k]:.3g} vs {t:g} (log residual {fit['log_residuals'][k]:+.2f})"
                for k, t in fit["targets"].items()), fontsize=7)
save_figure(fig, *snakemake.output)
