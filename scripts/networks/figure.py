"""Rule network_figure_*: one of Figs. 3-12 from the experiments' curves.csv / summary.csv, or
the curves figure of an experiment beyond the paper (``configured_figures``).

Curves against iterations (full batch, log axis) or epochs (minibatch): accuracies as mean +- 1
std over seeds; train loss and Hessian trace on a log axis as the geometric mean times / divided
by the geometric std (the band never reaches zero), or on a labelled symlog axis with mean +- 1
std when a seed's value is <= 0. Fig. 6 (sigma sweep): final test accuracy and Hessian trace vs
sigma, mean +- s.e.m., plain SGD as a horizontal line with its band. Runs that diverged are
counted in the legend, and so is a test-accuracy curve whose last two evaluations differ by
more than their seed spread (the larger std): "not converged". Fig. 6's sigmas are the
paper's, digitized from its log axis (approximate). The tables are checked first: a
series the figure draws that is missing stops the job naming the file.
"""

import matplotlib.pyplot as plt
import numpy as np

from noise_injection.networks.experiments import configured_figures, figure_columns, figure_series
from noise_injection.networks.summary import CURVE_COLUMNS, SUMMARY_COLUMNS, read_checked
from noise_injection.workflow.plotting import SCHEME_COLORS, SCHEME_LABELS, save_figure, use_style
from noise_injection.workflow.runlog import log_to_file

log = log_to_file(snakemake.log[0])

METRIC_LABELS = {"test_acc": "test accuracy (%)", "train_loss": "train loss",
                 "hessian_trace": "Hessian trace", "train_acc": "train accuracy (%)",
                 "test_loss": "test loss"}
LOG_METRICS = ("train_loss", "hessian_trace")
DATASETS = {"digits": "8x8 digits", "fashion_mnist": "FashionMNIST", "cifar10": "CIFAR-10"}

spec = configured_figures(snakemake.config["networks"])[snakemake.params.figure]
experiments = snakemake.config["networks"]["experiments"]
series = figure_series(spec, experiments)
curves = {name: read_checked(path, CURVE_COLUMNS, series[name], spec.metrics)
          for name, path in zip(spec.experiments, snakemake.input.curves)}
final = {name: read_checked(path, SUMMARY_COLUMNS, series[name], spec.metrics)
         for name, path in zip(spec.experiments, snakemake.input.summary)}


def optimizer(name):
    """GD (full batch) or SGD (minibatches)."""
    return "SGD" if experiments[name]["batch_size"] else "GD"


def describe(name):
    """A title in plain words: model; data set and its training size; optimizer."""
    exp = experiments[name]
    kw = exp["arch_kwargs"]
    model = {"mlp": lambda: f"MLP {'-'.join(map(str, kw.get('widths', [])))}",
             "fcnn": lambda: f"FCNN {'-'.join(map(str, kw.get('channels', [32, 128, 128, 128])))}",
             "toy_cnn": lambda: "toy CNN",
             "resnet18": lambda: f"ResNet-18 (width {kw.get('width', 64)})"}.get(
        exp["arch"], lambda: f"{exp['arch']} {kw}")()
    size = (f"{exp['train_subset']} training images" if exp["train_subset"]
            else "all training images")
    opt = "full-batch GD" if not exp["batch_size"] else f"SGD, batch {exp['batch_size']}"
    return f"{model}\n{DATASETS[exp['dataset']]}, {size}\n{opt}"


def diverged_note(name, scheme, sigma):
    row = final[name][(final[name]["scheme"] == scheme) & np.isclose(final[name]["sigma"], sigma)]
    k = int(row["n_diverged"].iloc[0]) if len(row) else 0
    return f" ({k}/{int(row['n_runs'].iloc[0])} diverged)" if k else ""


def scheme_label(name, scheme, sigma):
    if scheme == "none":
        return f"{optimizer(name)}, {SCHEME_LABELS[scheme]}"
    return f"{SCHEME_LABELS[scheme]}, $\\sigma$ = {sigma:g}"


def band(rows, log):
    """(centre, low, high): geometric mean times / divided by the geometric std on a log axis,
    mean +- 1 std otherwise."""
    if log:
        centre, spread = np.exp(rows["log_mean"]), np.exp(rows["log_std"].fillna(0.0))
        return centre, centre / spread, centre * spread
    std = rows["std"].fillna(0.0)
    return rows["mean"], rows["mean"] - std, rows["mean"] + std


def not_converged(rows):
    """Whether the last two evaluations differ by more than their seed spread."""
    last = rows.tail(2)
    return len(last) == 2 and abs(last["mean"].diff().iloc[-1]) > last["std"].max()


def draw_curves(ax, name, sigma, metric):
    """none, layer and all at ``sigma`` for one experiment and metric; the figure's window of
    the run (if it has one) is shaded."""
    table = curves[name]
    if spec.window:
        ax.axvspan(*(f * experiments[name]["epochs"] for f in spec.window), color="0.93",
                   lw=0, label="the paper's window")
    series = {scheme: table[(table["scheme"] == scheme) & np.isclose(table["sigma"], s)
                            & (table["metric"] == metric) & (table["epoch"] > 0)]
              .sort_values("epoch") for scheme, s in (("none", 0.0), ("layer", sigma),
                                                      ("all", sigma))}
    log = metric in LOG_METRICS and all(r["log_mean"].notna().all() for r in series.values())
    for scheme, rows in series.items():
        s = 0.0 if scheme == "none" else sigma
        color = SCHEME_COLORS[scheme]
        centre, low, high = band(rows, log)
        note = ", not converged" if metric == "test_acc" and not_converged(rows) else ""
        ax.plot(rows["epoch"], centre, color=color, marker=".",
                label=scheme_label(name, scheme, s) + diverged_note(name, scheme, s) + note)
        ax.fill_between(rows["epoch"], low, high, color=color, alpha=0.2, lw=0)
    ylabel = METRIC_LABELS[metric]
    if log:
        ax.set_yscale("log")
    elif metric in LOG_METRICS:
        ax.set_yscale("symlog", linthresh=1.0)
        ylabel += " (symlog: linear in [-1, 1])"
    full_batch = not experiments[name]["batch_size"]
    if full_batch:
        ax.set_xscale("log")
    ax.set(ylabel=ylabel, xlabel="iterations" if full_batch else "epochs")


def curve_figure():
    columns = figure_columns(spec, experiments)
    rows = len(spec.metrics)
    fig, axes = plt.subplots(rows, len(columns), figsize=(4.2 * len(columns), 3.0 * rows),
                             squeeze=False)
    for j, (name, sigma) in enumerate(columns):
        for i, metric in enumerate(spec.metrics):
            draw_curves(axes[i, j], name, sigma, metric)
        axes[0, j].set_title(describe(name), fontsize=9)
        axes[0, j].legend(fontsize=7)
    return fig


def sweep_figure():
    name = spec.experiments[0]
    table = final[name]
    fig, axes = plt.subplots(1, len(spec.metrics), figsize=(4.6 * len(spec.metrics), 3.4),
                             squeeze=False)
    for ax, metric in zip(axes[0], spec.metrics):
        rows = table[table["metric"] == metric]
        none = rows[rows["scheme"] == "none"].iloc[0]
        for scheme in ("layer", "all"):
            r = rows[rows["scheme"] == scheme].sort_values("sigma")
            ax.errorbar(r["sigma"], r["mean"], yerr=r["sem"].fillna(0.0), marker="o",
                        capsize=3, color=SCHEME_COLORS[scheme], label=SCHEME_LABELS[scheme])
            for _, d in r[r["n_diverged"] > 0].iterrows():
                ax.annotate(f"{int(d['n_diverged'])}/{int(d['n_runs'])} diverged",
                            (d["sigma"], d["mean"]), fontsize=7, color=SCHEME_COLORS[scheme])
        sem = 0.0 if np.isnan(none["sem"]) else float(none["sem"])
        ax.axhline(none["mean"], color=SCHEME_COLORS["none"], ls="--", lw=1,
                   label=scheme_label(name, "none", 0.0))
        ax.axhspan(none["mean"] - sem, none["mean"] + sem, color=SCHEME_COLORS["none"],
                   alpha=0.15, lw=0)
        ax.set_xscale("log")
        ax.set(xlabel="$\\sigma$ (layer-wise std; all weights: $\\sigma/\\sqrt{M}$)\n"
               "grid digitized from the paper's log axis (approximate)",
               ylabel="final " + METRIC_LABELS[metric])
    axes[0, 0].set_title(describe(name), fontsize=9)
    axes[0, -1].legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.02, 1))  # off the points
    return fig


use_style()
fig = sweep_figure() if spec.kind == "sigma_sweep" else curve_figure()
spread = ("mean ± s.e.m." if spec.kind == "sigma_sweep"
          else "mean ± 1 std; on log axes ×/÷ geometric std")
n_seeds = snakemake.config["networks"]["n_seeds"]
fig.suptitle(f"{spec.label}, {snakemake.config['scale']} scale, {n_seeds} "
             f"seed{'s' if n_seeds > 1 else ''}\n{spread}", fontsize=10)
save_figure(fig, snakemake.output.pdf, snakemake.output.png)
