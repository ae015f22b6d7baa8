"""Rule network_figure_*: one of Figs. 3-12 from the experiments' curves.csv / summary.csv.

Curves: mean +- 1 std over seeds vs iterations (full batch) or epochs (minibatch), log x axis.
Fig. 6 (sigma sweep): final test accuracy and Hessian trace vs sigma, mean +- s.e.m., the
noiseless run drawn at sigma = 1e-3; the sigmas are the paper's, digitized (approximate).
Runs that diverged are counted in the legend. The tables are checked first: a series the
figure draws that is missing stops the job naming the file.
"""

import matplotlib.pyplot as plt
import numpy as np

from noise_injection.networks.experiments import FIGURES, figure_columns, figure_series
from noise_injection.networks.summary import CURVE_COLUMNS, SUMMARY_COLUMNS, read_checked
from noise_injection.workflow.plotting import SCHEME_COLORS, SCHEME_LABELS, save_figure, use_style
from noise_injection.workflow.runlog import log_to_file

log = log_to_file(snakemake.log[0])

METRIC_LABELS = {"test_acc": "test accuracy (%)", "train_loss": "train loss",
                 "hessian_trace": "Hessian trace", "train_acc": "train accuracy (%)",
                 "test_loss": "test loss"}
SGD_SIGMA = 1e-3  # where the noiseless run is drawn on Fig. 6's log sigma axis

spec = FIGURES[snakemake.params.figure]
experiments = snakemake.config["networks"]["experiments"]
series = figure_series(spec, experiments)
curves = {name: read_checked(path, CURVE_COLUMNS, series[name], spec.metrics)
          for name, path in zip(spec.experiments, snakemake.input.curves)}
final = {name: read_checked(path, SUMMARY_COLUMNS, series[name], spec.metrics)
         for name, path in zip(spec.experiments, snakemake.input.summary)}


def describe(name):
    """A short title: model, data, optimizer."""
    exp = experiments[name]
    kw = exp["arch_kwargs"]
    model = {"mlp": lambda: f"MLP {'-'.join(map(str, kw.get('widths', [])))}",
             "fcnn": lambda: f"FCNN {'-'.join(map(str, kw.get('channels', [32, 128, 128, 128])))}",
             "toy_cnn": lambda: "toy CNN",
             "resnet18": lambda: f"ResNet-18 (width {kw.get('width', 64)})"}[exp["arch"]]()
    subset = f" ({exp['train_subset']})" if exp["train_subset"] else ""
    opt = "GD" if not exp["batch_size"] else f"SGD b{exp['batch_size']}"
    return f"{model}, {exp['dataset']}{subset}, {opt}"


def diverged_note(name, scheme, sigma):
    row = final[name][(final[name]["scheme"] == scheme) & np.isclose(final[name]["sigma"], sigma)]
    k = int(row["n_diverged"].iloc[0]) if len(row) else 0
    return f" ({k}/{int(row['n_runs'].iloc[0])} diverged)" if k else ""


def draw_curves(ax, name, sigma, metric):
    """none, layer and all at ``sigma`` for one experiment and metric; the figure's window of
    the run (if it has one) is shaded."""
    table = curves[name]
    if spec.window:
        ax.axvspan(*(f * experiments[name]["epochs"] for f in spec.window), color="0.93",
                   lw=0, label="the paper's window")
    for scheme, s in (("none", 0.0), ("layer", sigma), ("all", sigma)):
        rows = table[(table["scheme"] == scheme) & np.isclose(table["sigma"], s)
                     & (table["metric"] == metric) & (table["epoch"] > 0)].sort_values("epoch")
        label = SCHEME_LABELS[scheme] + ("" if scheme == "none" else f", $\\sigma$={s:g}")
        color = SCHEME_COLORS[scheme]
        ax.plot(rows["epoch"], rows["mean"], color=color, marker=".",
                label=label + diverged_note(name, scheme, s))
        std = rows["std"].fillna(0.0)
        ax.fill_between(rows["epoch"], rows["mean"] - std, rows["mean"] + std, color=color,
                        alpha=0.2, lw=0)
    ax.set_xscale("log")
    if metric == "train_loss":
        ax.set_yscale("log")
    elif metric == "hessian_trace":
        ax.set_yscale("symlog", linthresh=1.0)
    ax.set_ylabel(METRIC_LABELS[metric])
    ax.set_xlabel("iterations" if not experiments[name]["batch_size"] else "epochs")


def curve_figure():
    columns = figure_columns(spec, experiments)
    rows = len(spec.metrics)
    fig, axes = plt.subplots(rows, len(columns), figsize=(4.2 * len(columns), 3.0 * rows),
                             squeeze=False)
    for j, (name, sigma) in enumerate(columns):
        for i, metric in enumerate(spec.metrics):
            draw_curves(axes[i, j], name, sigma, metric)
        axes[0, j].set_title(f"{describe(name)}\n$\\sigma$ = {sigma:g}", fontsize=9)
        axes[0, j].legend(fontsize=7)
    return fig


def sweep_figure():
    name = spec.experiments[0]
    table = final[name]
    fig, axes = plt.subplots(1, len(spec.metrics), figsize=(4.6 * len(spec.metrics), 3.4),
                             squeeze=False)
    for ax, metric in zip(axes[0], spec.metrics):
        rows = table[table["metric"] == metric]
        none = rows[rows["scheme"] == "none"]
        for scheme in ("layer", "all"):
            r = rows[rows["scheme"] == scheme].sort_values("sigma")
            ax.errorbar(r["sigma"], r["mean"], yerr=r["sem"].fillna(0.0), marker="o",
                        capsize=3, color=SCHEME_COLORS[scheme], label=SCHEME_LABELS[scheme])
            for _, d in r[r["n_diverged"] > 0].iterrows():
                ax.annotate(f"{int(d['n_diverged'])}/{int(d['n_runs'])} diverged",
                            (d["sigma"], d["mean"]), fontsize=7, color=SCHEME_COLORS[scheme])
        ax.errorbar([SGD_SIGMA], none["mean"], yerr=none["sem"].fillna(0.0), marker="s",
                    capsize=3, color=SCHEME_COLORS["none"], label=SCHEME_LABELS["none"])
        ax.axhline(float(none["mean"].iloc[0]), color=SCHEME_COLORS["none"], ls="--", lw=0.8)
        ax.set_xscale("log")
        ax.set(xlabel="$\\sigma$ (layer-wise std; all weights: $\\sigma/\\sqrt{M}$)\n"
               "grid digitized from the paper's log axis (approximate)",
               ylabel="final " + METRIC_LABELS[metric])
    axes[0, 0].set_title(describe(name), fontsize=9)
    axes[0, 0].legend(fontsize=7)
    return fig


use_style()
fig = sweep_figure() if spec.kind == "sigma_sweep" else curve_figure()
fig.suptitle(f"Fig. {spec.number} ({snakemake.config['scale']} scale, "
             f"{snakemake.config['networks']['n_seeds']} seeds)", fontsize=10)
save_figure(fig, snakemake.output.pdf, snakemake.output.png)
