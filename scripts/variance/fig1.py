"""Rule variance_fig1: Fig. 1 heat maps of the Monte Carlo smoothed loss (shared log colour
scale) and the relative gap to the closed form."""

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.colors import LogNorm, TwoSlopeNorm

from noise_injection.workflow.plotting import save_figure, use_style
from noise_injection.variance import records
from noise_injection.workflow.results import read_json
from noise_injection.workflow.runlog import log_to_file

log = log_to_file(snakemake.log[0])
heat = read_json(snakemake.input[0], "variance_heatmap", records.HEATMAP)
sigmas, widths = np.asarray(heat["sigmas"]), np.asarray(heat["widths"])
mean, exact = np.asarray(heat["mc_mean"]), np.asarray(heat["exact"])
gap = mean / exact - 1
titles = {"all": "simultaneous (all weights, std $\\sigma$)",
          "layer": "layer-wise (one layer, std $\\sqrt{2}\\sigma$)"}
use_style()
fig, axes = plt.subplots(2, 2, figsize=(10, 7.5))
norm = LogNorm(vmin=mean.min(), vmax=mean.max())
bound = max(np.abs(gap).max(), 1e-12)
gap_norm = TwoSlopeNorm(vcenter=0.0, vmin=-bound, vmax=bound)
for i, scheme in enumerate(heat["schemes"]):
    top, bottom = axes[0, i], axes[1, i]
    mesh = top.pcolormesh(widths, sigmas, mean[i], norm=norm, cmap="viridis", shading="nearest")
    lines = top.contour(widths, sigmas, exact[i], levels=np.logspace(0, 5, 11), colors="w",
                        linewidths=0.8, norm=LogNorm())
    top.clabel(lines, fmt="%.3g", fontsize=7)
    top.set(title=f"Monte Carlo $R_\\sigma$, {titles[scheme]}", xlabel="width $d_1$",
            ylabel="$\\sigma$")
    gap_mesh = bottom.pcolormesh(widths, sigmas, gap[i], norm=gap_norm, cmap="RdBu_r",
                                 shading="nearest")
    bottom.set(title=f"{scheme}: Monte Carlo / closed form $-$ 1", xlabel="width $d_1$",
               ylabel="$\\sigma$")
fig.colorbar(mesh, ax=axes[0], label="$R_\\sigma$ (log scale); white: closed form")
fig.colorbar(gap_mesh, ax=axes[1], label="relative gap")
save_figure(fig, *snakemake.output)
log.info("max relative gap %.3g", np.abs(gap).max())
