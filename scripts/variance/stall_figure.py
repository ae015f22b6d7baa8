"""Rule variance_stall_figure: late R_eff of all-weights and layer-wise noise vs sigma, one
panel per width, with min R_eff, the stall threshold, the predicted onset (vertical line) and
the measured onset interval (shaded). Mean +- std over seeds; diverged runs are crosses at
the top."""

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.ticker import NullFormatter

from noise_injection.claims.variance import stall_summary
from noise_injection.variance.onset import STALL_FACTOR
from noise_injection.base.plotting import SCHEME_COLORS, SCHEME_LABELS, save_figure, use_style
from noise_injection.variance import records
from noise_injection.base.results import Stopwatch, read_json, write_figure_record
from noise_injection.base.runlog import log_to_file

log = log_to_file(snakemake.log[0])
clock = Stopwatch()
DIVERGED_Y = {"all": 1.0, "layer": 0.7}  # where diverged runs are marked
MAX_SIGMA_LABELS = 6  # labelled x ticks per panel, so that the labels never overlap
stalls = [read_json(p, "variance_stall", records.STALL) for p in snakemake.input]
summaries = [stall_summary(r) for r in sorted(stalls, key=lambda r: r["width"])]
use_style()
fig, axes = plt.subplots(1, len(summaries), figsize=(3.4 * len(summaries), 4.0), squeeze=False,
                         sharey=True, layout="constrained")
for ax, s in zip(axes[0], summaries):
    sigmas = np.asarray(s["sigmas"])
    for scheme in ("layer", "all"):
        mean = np.array([v[scheme][0] for v in s["late"]])
        std = np.array([v[scheme][1] for v in s["late"]])
        ax.errorbar(sigmas, mean, yerr=std, color=SCHEME_COLORS[scheme], marker="o", ms=3,
                    capsize=2, label=SCHEME_LABELS[scheme])
        bad = ~np.isfinite(mean)
        ax.plot(sigmas[bad], np.full(bad.sum(), DIVERGED_Y[scheme]), "x", color=SCHEME_COLORS[scheme],
                label=f"{SCHEME_LABELS[scheme]} diverged" if bad.any() else None)
    optimum = np.asarray(s["optimum"])
    ax.plot(sigmas, optimum, "k--", lw=0.8, label="min $R_{eff}$")
    ax.plot(sigmas, STALL_FACTOR * optimum, "k:", lw=0.8, label=f"{STALL_FACTOR} x min")
    low, high = s["onset"]
    ax.axvspan(max(low, sigmas.min() / 1.2), min(high, sigmas.max() * 1.2), color="0.85",
               label="measured onset")
    if np.isfinite(s["predicted"]):
        ax.axvline(s["predicted"], color="r", lw=1, label="predicted onset")
    ax.set(xscale="log", yscale="log", xlabel=r"$\sigma$ (theory's)",
           title=f"width {s['width']}")
    ax.xaxis.set_minor_formatter(NullFormatter())
    # every grid sigma a tick, at most 6 of them labelled (a paper-scale grid has 15)
    labelled = sigmas[:: -(-len(sigmas) // MAX_SIGMA_LABELS)]
    ax.set_xticks(labelled, [f"{x:.3g}" for x in labelled], rotation=45, fontsize=6)
    ax.set_xticks(sigmas, minor=True)
    log.info("width %s: onset %s, predicted %.4g", s["width"], s["onset"], s["predicted"])
axes[0, 0].set_ylabel("late $R_{eff}$")
handles = {label: h for ax in axes[0] for h, label in zip(*ax.get_legend_handles_labels())}
fig.legend(handles.values(), handles.keys(), loc="outside lower center", ncol=4, fontsize=7,
           frameon=False)
save_figure(fig, snakemake.output.pdf, snakemake.output.png)
write_figure_record(snakemake, clock)
