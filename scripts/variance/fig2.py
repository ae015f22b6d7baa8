"""Rule variance_fig2: Fig. 2, R and R_eff vs iterations (log-log), one row per width: the
geometric mean times / divided by the geometric std over seeds (plotting.SPREAD: a band on a
log axis that never reaches zero), and the paper's readings (config/paper_numbers.yaml, values
at the end of its run) as diamonds at the end of ours, in the row of the width the paper's
panel shows."""

import re
import textwrap

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.lines import Line2D

from noise_injection.base import paper_numbers
from noise_injection.variance import records
from noise_injection.base.plotting import (
    SCHEME_COLORS,
    SCHEME_LABELS,
    SPREAD,
    geometric_spread,
    legend_below,
    save_figure,
    use_style,
)
from noise_injection.base.results import Stopwatch, read_json, write_figure_record
from noise_injection.base.runlog import log_to_file

log = log_to_file(snakemake.log[0])
clock = Stopwatch()
runs = sorted((read_json(p, "variance_dynamics", records.DYNAMICS)
               for p in snakemake.input.dynamics), key=lambda r: r["width"])
calibration = read_json(snakemake.input.calibration, "variance_calibration",
                        records.CALIBRATION)
STYLE = {"gd": "none", "layer": "layer", "all": "all", "reff": "reff"}
#: The calibration's targets in words (noise_injection.variance.onset.FIG2_TARGETS).
TARGETS = {"gd_reff_small": "GD's late $R_{eff}$", "reff_optimum": "the $R_{eff}$ optimum"}
#: Where each reading of the registry's Fig. 2 entries goes: (panel, the schemes it is of;
#: "optimum": the convex minimum). A list value is a range.
READINGS = {"gd_risk": ("risk", ("none",)), "gd_effective_risk": ("effective_risk", ("none",)),
            "noise_effective_risk": ("effective_risk", ("layer", "all")),
            "optimum": ("effective_risk", ("reference",)), "all_risk": ("risk", ("all",)),
            "all_effective_risk": ("effective_risk", ("all",)),
            "layer_effective_risk": ("effective_risk", ("layer",))}


def paper_readings(width):
    """(panel, scheme, low, high) of every registry reading of the paper's panel at ``width``
    (entries fig2_small, fig2_large; the width is the one their panel names)."""
    out = []
    for key in ("fig2_small", "fig2_large"):
        if int(re.search(r"width (\d+)", paper_numbers.entry(key)["panel"]).group(1)) != width:
            continue
        for name, value in paper_numbers.value(key).items():
            panel, schemes = READINGS[name]
            low, high = (min(value), max(value)) if isinstance(value, list) else (value, value)
            out += [(panel, scheme, low, high) for scheme in schemes]
    return out


use_style()
fig, axes = plt.subplots(len(runs), 2, figsize=(10, 3.6 * len(runs) + 1.6), squeeze=False,
                         sharex=True)
read_any = False
for row, run in zip(axes, runs):
    t = np.asarray(run["iterations"], dtype=float)
    keep = t > 0
    readings = paper_readings(run["width"])
    for ax, key, name in ((row[0], "risk", "$R$"), (row[1], "effective_risk", "$R_{eff}$")):
        values = np.asarray(run[key], dtype=float)
        for i, method in enumerate(run["methods"]):
            centre, low, high, _ = geometric_spread(values[i][:, keep])
            color = SCHEME_COLORS[STYLE[method]]
            ax.plot(t[keep], centre, color=color, label=SCHEME_LABELS[STYLE[method]])
            ax.fill_between(t[keep], low, high, color=color, alpha=0.2, lw=0)
        shown = [r for r in readings if r[0] == key]
        for j, (_, scheme, lo, hi) in enumerate(shown):
            # side by side at the end of the run, each a little further left
            x = t[keep][-1] / 1.5 ** j
            ax.errorbar([x], [(lo * hi) ** 0.5], yerr=[[(lo * hi) ** 0.5 - lo],
                                                      [hi - (lo * hi) ** 0.5]],
                        fmt="D", ms=6, mfc="white", capsize=3, color=SCHEME_COLORS[scheme])
        read_any |= bool(shown)
        ax.set(xscale="log", yscale="log", ylabel=name,
               title=f"width {run['width']}: {name}")
    row[1].axhline(run["effective_risk_minimum"], color="k", ls="--", lw=0.8,
                   label="min $R_{eff}$ (convex)")
axes[-1, 0].set_xlabel("iteration")
axes[-1, 1].set_xlabel("iteration")
handles = axes[0, 1].get_legend_handles_labels()[0]
if read_any:
    handles.append(Line2D([], [], color="0.3", marker="D", mfc="white", ls="none",
                          label="the paper's reading at the end of its run (bar: a range), "
                                "drawn at the end of ours (config/paper_numbers.yaml)"))
legend_below(fig, handles, ncol=3)
fit = calibration["fit"]
if calibration["source"] == "calibrated":
    panel = paper_numbers.entry("fig2_small")["panel"]
    how = (f"fitted on our width {fit['width']} to the paper's {panel} panel: " + "; ".join(
        f"{TARGETS.get(k, k)} ours {fit['model'][k]:.3g} vs the paper's {target:g} "
        f"(log ratio {fit['log_residuals'][k]:+.2f})" for k, target in fit["targets"].items()))
else:
    how = "set in the configuration"
fig.suptitle("\n".join([textwrap.fill(f"noise $\\sigma$ = {calibration['sigma']:.3g}, {how}",
                                      130), f"bands: {SPREAD}"]), fontsize=8)
save_figure(fig, snakemake.output.pdf, snakemake.output.png)
write_figure_record(snakemake, clock)
