"""Rule variance_fig1: Fig. 1 heat maps of the Monte Carlo smoothed loss, each scheme on a log
colour scale of its own (the layer-wise values span a fraction of a decade, the simultaneous
ones several), the closed form as contours, the paper's reading marked on each colour bar;
below, the relative gap to the closed form on one shared diverging scale."""

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.colors import LogNorm, TwoSlopeNorm

from noise_injection.base import paper_numbers
from noise_injection.variance import records
from noise_injection.base.plotting import save_figure, use_style
from noise_injection.base.results import Stopwatch, read_json, write_figure_record
from noise_injection.base.runlog import log_to_file

log = log_to_file(snakemake.log[0])
clock = Stopwatch()
heat = read_json(snakemake.input[0], "variance_heatmap", records.HEATMAP)
sigmas, widths = np.asarray(heat["sigmas"]), np.asarray(heat["widths"])
mean, exact = np.asarray(heat["mc_mean"]), np.asarray(heat["exact"])
gap = mean / exact - 1
SHORT = {"all": "simultaneous", "layer": "layer-wise"}
NOISE = {"all": "all weights, std $\\sigma$", "layer": "one layer, std $\\sqrt{2}\\sigma$"}
#: The paper's reading per scheme (config/paper_numbers.yaml): a bound on the smoothed loss.
PAPER = {"all": ("fig1_all_max", "> {:g} at large $\\sigma d_1$"),
         "layer": ("fig1_layer_max", "$\\leq$ {:g} over its grid")}


def contour_levels(values, n=4):
    """``n`` levels evenly spaced in log between the smallest and largest value, at two
    significant digits."""
    inner = np.geomspace(values.min(), values.max(), n + 2)[1:-1]
    return np.unique([float(f"{v:.2g}") for v in inner])


use_style()
fig, axes = plt.subplots(2, 2, figsize=(11, 8))
bound = max(np.abs(gap).max(), 1e-12)
gap_norm = TwoSlopeNorm(vcenter=0.0, vmin=-bound, vmax=bound)
for i, scheme in enumerate(heat["schemes"]):
    top, bottom = axes[0, i], axes[1, i]
    key, wording = PAPER[scheme]
    reading = paper_numbers.value(key)
    # the scale reaches a little past the paper's level, so that its line shows
    norm = LogNorm(vmin=min(mean[i].min(), reading / 1.25),
                   vmax=max(mean[i].max(), reading * 1.25))
    mesh = top.pcolormesh(widths, sigmas, mean[i], norm=norm, cmap="viridis", shading="nearest")
    lines = top.contour(widths, sigmas, exact[i], levels=contour_levels(exact[i]), colors="w",
                        linewidths=0.8)
    top.clabel(lines, fmt="%.3g", fontsize=7)
    top.set(title=f"Monte Carlo $R_\\sigma$, {SHORT[scheme]} ({NOISE[scheme]})",
            xlabel="width $d_1$", ylabel="$\\sigma$")
    bar = fig.colorbar(mesh, ax=top, label=f"$R_\\sigma$, {SHORT[scheme]} (own log scale)\n"
                       f"black line: the paper, {wording.format(reading)}")
    bar.ax.axhline(reading, color="k", lw=2)
    gap_mesh = bottom.pcolormesh(widths, sigmas, gap[i], norm=gap_norm, cmap="RdBu_r",
                                 shading="nearest")
    bottom.set(title=f"{SHORT[scheme]}: Monte Carlo / closed form $-$ 1",
               xlabel="width $d_1$", ylabel="$\\sigma$")
fig.colorbar(gap_mesh, ax=axes[1], label="relative gap (one scale for both)")
save_figure(fig, snakemake.output.pdf, snakemake.output.png)
write_figure_record(snakemake, clock)
log.info("max relative gap %.3g", np.abs(gap).max())
