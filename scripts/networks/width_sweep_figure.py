"""Rule width_sweep_figure: figures/width_sweep.{pdf,png} from the width sweep's analysis
(docs/width_sweep.md). Left two columns, one per noise scheme: the paired drop of final test
accuracy below plain GD's (mean +- 1 std over seeds) and the final train loss (mean +- 1 std;
plain GD dashed) against sigma, one curve per width, with the breaking threshold
(config/verdicts.yaml sweep_acc_drop) and each width's onset (geometric mean over the seeds
whose onset was measured) marked. Right: sigma* against width on log-log axes, per seed
(censored onsets as triangles at the grid's end they passed), the geometric mean with its t
interval, the least-squares fit, and lines of the predicted slopes (at initialization,
config/width_sweep_prediction.json, and the paper's mean-field picture) through the fit's
centre. Sigma = layer-wise std; all-weights noise sigma/sqrt(M)."""

import matplotlib.pyplot as plt
import numpy as np

from noise_injection.networks.experiments import swept
from noise_injection.networks.onsets import ABOVE, BELOW, DROP_COLUMNS, FIT_COLUMNS, \
    ONSET_COLUMNS, SUMMARY_COLUMNS
from noise_injection.networks.summary import read_checked
from noise_injection.networks.summary import SUMMARY_COLUMNS as RUN_SUMMARY_COLUMNS
from noise_injection.networks.sweep import MEAN_FIELD_SLOPES
from noise_injection.base.inputs import read_table
from noise_injection.base.plotting import (SCHEME_COLORS, SCHEME_LABELS, legend_below,
                                               save_figure, use_style)
from noise_injection.base.results import Stopwatch, write_figure_record
from noise_injection.base.runlog import log_to_file

log = log_to_file(snakemake.log[0])
clock = Stopwatch()
networks = snakemake.config["networks"]
experiments = networks["experiments"]
names = swept(networks)
widths = [experiments[n]["sweep"]["width"] for n in names]
threshold = snakemake.params.constants["sweep_acc_drop"]["value"]
predicted = snakemake.params.predicted
summaries = {w: read_checked(path, RUN_SUMMARY_COLUMNS,
                             [("none", 0.0)] + [(s, x) for s in ("layer", "all")
                                                for x in experiments[n]["sigmas"][s]],
                             ["train_loss"])
             for w, n, path in zip(widths, names, snakemake.input.summary)}
drops = read_table(snakemake.input.drops, "width_sweep_analysis", DROP_COLUMNS)
onsets = read_table(snakemake.input.onsets, "width_sweep_analysis", ONSET_COLUMNS,
                    keep_default_na=False, na_values=[""])
onsets["censored"] = onsets["censored"].fillna("")
summary = read_table(snakemake.input.onset_summary, "width_sweep_analysis", SUMMARY_COLUMNS)
fits = read_table(snakemake.input.fits, "width_sweep_analysis", FIT_COLUMNS).set_index("fit")
colors = dict(zip(widths, plt.cm.viridis(np.linspace(0.0, 0.85, len(widths)))))
SIGMA_LABEL = "$\\sigma$ (layer-wise std; all weights: $\\sigma/\\sqrt{M}$)"


def drop_panel(ax, scheme):
    for width in widths:
        rows = drops[(drops["width"] == width) & (drops["scheme"] == scheme)]
        stats = rows.groupby("sigma")["drop"].agg(["mean", "std"]).reset_index()
        ax.errorbar(stats["sigma"], stats["mean"], yerr=stats["std"].fillna(0.0), marker="o",
                    ms=3, capsize=2, color=colors[width], label=f"width {width}")
        mark = summary[(summary["width"] == width) & (summary["scheme"] == scheme)]
        if len(mark) and np.isfinite(mark["onset"].iloc[0]):
            ax.plot(mark["onset"].iloc[0], threshold, marker="v", ms=9, color=colors[width],
                    markeredgecolor="black", zorder=5)
    ax.axhline(threshold, color="black", lw=1, ls=":")
    ax.set_xscale("log")
    ax.set(xlabel=SIGMA_LABEL, ylabel="test accuracy: plain GD - noise (points)",
           title=f"{SCHEME_LABELS[scheme]}\n▼ onset (drop reaches {threshold:g} points, dotted)")


def loss_panel(ax, scheme):
    for width in widths:
        table = summaries[width]
        rows = table[(table["scheme"] == scheme) & (table["metric"] == "train_loss")]
        rows = rows.sort_values("sigma")
        ax.errorbar(rows["sigma"], rows["mean"], yerr=rows["std"].fillna(0.0), marker="o",
                    ms=3, capsize=2, color=colors[width])
        gd = table[(table["scheme"] == "none") & (table["metric"] == "train_loss")]
        ax.axhline(float(gd["mean"].iloc[0]), color=colors[width], ls="--", lw=1)
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set(xlabel=SIGMA_LABEL, ylabel="final train loss (plain GD dashed)")


def onset_panel(ax):
    x = np.array(widths, dtype=float)
    for scheme in ("layer", "all"):
        color = SCHEME_COLORS[scheme]
        rows = onsets[onsets["scheme"] == scheme]
        measured = rows[rows["censored"] == ""]
        ax.plot(measured["width"], measured["onset"], "o", ms=3, alpha=0.5, color=color)
        for state, bound, marker in ((BELOW, "bracket_high", "v"), (ABOVE, "bracket_low", "^")):
            cut = rows[rows["censored"] == state]
            ax.plot(cut["width"], cut[bound], marker, ms=6, ls="none", mfc="none", color=color)
        s = summary[summary["scheme"] == scheme]
        ok = np.isfinite(s["onset"]) & np.isfinite(s["ci_low"])
        ax.errorbar(s["width"][ok], s["onset"][ok],
                    yerr=[s["onset"][ok] - s["ci_low"][ok], s["ci_high"][ok] - s["onset"][ok]],
                    fmt="s", ms=5, capsize=3, color=color, label=SCHEME_LABELS[scheme])
        fit = fits.loc[scheme]
        if not np.isfinite(fit["slope"]):
            continue
        centre = fit["intercept"] + fit["slope"] * fit["x_mean"]
        logx = np.log(x)
        ax.plot(x, np.exp(fit["intercept"] + fit["slope"] * logx), color=color,
                label=f"fit: slope {fit['slope']:+.2f} [{fit['ci_low']:+.2f}, "
                      f"{fit['ci_high']:+.2f}]")
        for slope, style, what in ((predicted["centre"][scheme], "--", "at init"),
                                   (MEAN_FIELD_SLOPES[scheme], ":", "mean-field")):
            ax.plot(x, np.exp(centre + slope * (logx - fit["x_mean"])), color=color, ls=style,
                    lw=1, label=f"predicted {what}: {slope:+.2f}")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xticks(x, [str(w) for w in widths])
    ax.minorticks_off()
    ax.set(xlabel="hidden width", ylabel="onset $\\sigma^*$",
           title="onset against width (▽/△: censored\nbelow/above the grid; ■: mean, 95 % CI)")


use_style()
fig, axes = plt.subplot_mosaic([["layer_drop", "all_drop", "onset"],
                                ["layer_loss", "all_loss", "onset"]],
                               figsize=(14.5, 7.4), width_ratios=[1, 1, 1.15])
for scheme in ("layer", "all"):
    drop_panel(axes[f"{scheme}_drop"], scheme)
    loss_panel(axes[f"{scheme}_loss"], scheme)
onset_panel(axes["onset"])
legend_below(fig, ncol=4)
base = experiments[names[0]]
n_seeds = base.get("n_seeds") or networks["n_seeds"]
fig.suptitle(f"Width sweep on {base['dataset']} ({snakemake.config['scale']} scale): "
             f"MLP with {len(base['arch_kwargs']['widths'])} hidden layers of width w, "
             f"{base['train_subset']} training images, {base['epochs']:,} "
             f"full-batch iterations, {n_seeds} seeds; mean ± 1 std over seeds", fontsize=10)
save_figure(fig, snakemake.output.pdf, snakemake.output.png)
write_figure_record(snakemake, clock)
log.info("drew %d widths", len(widths))
