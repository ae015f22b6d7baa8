"""Rule network_figure_*: one of Figs. 3-12 from the experiments' curves.csv / summary.csv and,
for the log axes, the runs' own records, the paper's curves beside ours; or the curves figure of
an experiment beyond the paper (``configured_figures``).

Curves against iterations (full batch, log axis) or epochs (minibatch). One spread over seeds
(plotting.SPREAD): accuracies as mean +- 1 std; train loss and Hessian trace on a log axis as
the geometric mean times / divided by the geometric std of the seeds' positive values, each
evaluation where a seed's value is <= 0 marked by a triangle at the bottom edge. Fig. 6 (sigma
sweep): final test accuracy and Hessian trace vs sigma, mean +- 1 std, plain SGD as a
horizontal line with its band; its sigmas are the paper's, digitized from its log axis.

The paper (noise_injection.networks.paper_view): its curves read off App. Figs. 7-10 and Fig. 6
dashed in the scheme's colour, shaded by their reading error, with the paper's own band as bars
(mean +- 1 std; Fig. 6: +- s.e.m.); on our axes where our runs have the paper's data set,
training images, length and batch, else in a column (Fig. 6: a row) of their own. Its Hessian
traces (a sum over a random number of probes) always on an axis of their own: a twin axis on
the right where the rest shares ours. Figs. 3, 5, 11, 12: the registry's readings at a known x
as diamonds, where the axes are shared. Runs that diverged and a test-accuracy curve whose
last two evaluations differ by more than their seed spread (the larger std, "not converged")
are named in the column's title. The tables are checked first: a series the figure draws
that is missing stops the job naming the file.
"""

import textwrap
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.lines import Line2D
from matplotlib.patches import Patch

from noise_injection.networks.experiments import EXPERIMENTS, configured_figures, figure_columns, figure_series
from noise_injection.networks.paper_view import (
    axis_differences,
    digitized_figure,
    paper_series,
    same_axes,
    typed_readings,
)
from noise_injection.networks.summary import CURVE_COLUMNS, SUMMARY_COLUMNS, read_checked, \
    read_runs
from noise_injection.base.plotting import (
    PAPER_STYLE,
    SCHEME_COLORS,
    SCHEME_LABELS,
    SPREAD,
    draw_paper,
    fit_y_to_x_range,
    geometric_spread,
    legend_below,
    mark_nonpositive,
    save_figure,
    use_style,
)
from noise_injection.base.results import Stopwatch, write_figure_record
from noise_injection.base.runlog import log_to_file

log = log_to_file(snakemake.log[0])
clock = Stopwatch()

METRIC_LABELS = {"test_acc": "test accuracy (%)", "train_loss": "train loss",
                 "hessian_trace": "Hessian trace", "train_acc": "train accuracy (%)",
                 "test_loss": "test loss"}
LOG_METRICS = ("train_loss", "hessian_trace")
DATASETS = {"digits": "8x8 digits", "fashion_mnist": "FashionMNIST", "cifar10": "CIFAR-10"}
PAPER_TRACE = "the paper's {}Hessian trace\n(a sum over its probes: own scale)"
SCHEMES = ("none", "layer", "all")

figure = snakemake.params.figure
spec = configured_figures(snakemake.config["networks"])[figure]
experiments = snakemake.config["networks"]["experiments"]
series = figure_series(spec, experiments)
curves = {name: read_checked(path, CURVE_COLUMNS, series[name], spec.metrics)
          for name, path in zip(spec.experiments, snakemake.input.curves)}
final = {name: read_checked(path, SUMMARY_COLUMNS, series[name], spec.metrics)
         for name, path in zip(spec.experiments, snakemake.input.summary)}
seeds = {name: read_runs([p for p in snakemake.input.json if Path(p).parent.name == name],
                         [p for p in snakemake.input.npz if Path(p).parent.name == name])
         for name in spec.experiments} if spec.kind != "sigma_sweep" else {}
drawn = set()  # what the legend explains: "paper", "readings", "nonpositive", "window"


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


def scheme_label(scheme):
    """The legend's name of a scheme: 'GD, no noise' (the figure's optimizer), 'noise, ...'."""
    if scheme != "none":
        return SCHEME_LABELS[scheme]
    optimizers = {optimizer(name) for name in spec.experiments}
    return f"{optimizers.pop() if len(optimizers) == 1 else '(S)GD'}, {SCHEME_LABELS[scheme]}"


def diverged(name, scheme, sigma):
    """'1/3 diverged' for a setting with diverged runs, else ''."""
    row = final[name][(final[name]["scheme"] == scheme) & np.isclose(final[name]["sigma"], sigma)]
    k = int(row["n_diverged"].iloc[0]) if len(row) else 0
    return f"{k}/{int(row['n_runs'].iloc[0])} diverged" if k else ""


def not_converged(rows):
    """Whether the last two evaluations differ by more than their seed spread."""
    last = rows.tail(2)
    return len(last) == 2 and abs(last["mean"].diff().iloc[-1]) > last["std"].max()


def column_title(name, sigma):
    """describe(name), the column's sigma, and the settings that diverged or did not
    converge."""
    notes = []
    for scheme, s in (("none", 0.0), ("layer", sigma), ("all", sigma)):
        table = curves[name]
        rows = table[(table["scheme"] == scheme) & np.isclose(table["sigma"], s)
                     & (table["metric"] == "test_acc") & (table["epoch"] > 0)]
        status = [diverged(name, scheme, s)]
        if "test_acc" in spec.metrics and len(rows) and not_converged(rows.sort_values("epoch")):
            status.append("not converged")
        if any(status):
            notes.append(f"{SCHEME_LABELS[scheme]}: {', '.join(x for x in status if x)}")
    return "\n".join([describe(name), f"$\\sigma$ = {sigma:g}", *notes])


def draw_ours(ax, name, sigma, metric, late=False):
    """none, layer and all at ``sigma``: accuracies from curves.csv (mean +- 1 std), log-axis
    metrics from the seeds' values (geometric_spread, non-positive values marked). ``late``:
    the run after its first tenth on a linear axis, as the paper draws it."""
    full_batch = not experiments[name]["batch_size"]
    if spec.window and not late:
        ax.axvspan(*(f * experiments[name]["epochs"] for f in spec.window), color="0.93", lw=0)
        drawn.add("window")
    for scheme, s in (("none", 0.0), ("layer", sigma), ("all", sigma)):
        color = SCHEME_COLORS[scheme]
        if metric in LOG_METRICS:
            table = seeds[name]
            rows = table[(table["scheme"] == scheme) & np.isclose(table["sigma"], s)
                         & (table["metric"] == metric) & (table["epoch"] > 0)]
            values = rows.pivot(index="seed", columns="epoch", values="value")
            x = values.columns.to_numpy(dtype=float)
            centre, low, high, nonpositive = geometric_spread(values.to_numpy())
            if mark_nonpositive(ax, x, nonpositive, color) is not None:
                drawn.add("nonpositive")
        else:
            table = curves[name]
            rows = table[(table["scheme"] == scheme) & np.isclose(table["sigma"], s)
                         & (table["metric"] == metric) & (table["epoch"] > 0)].sort_values("epoch")
            x, std = rows["epoch"].to_numpy(dtype=float), rows["std"].fillna(0.0)
            centre, low, high = rows["mean"], rows["mean"] - std, rows["mean"] + std
        ax.plot(x, centre, color=color, marker=".")
        ax.fill_between(x, low, high, color=color, alpha=0.2, lw=0)
    if metric in LOG_METRICS:
        ax.set_yscale("log")
    if full_batch and not late:
        ax.set_xscale("log")
    ax.set(ylabel=METRIC_LABELS[metric] + (", late" if late else ""),
           xlabel="iterations" if full_batch else "epochs")


def draw_the_paper(ax, number, metric, log_x):
    """The paper's three series of one panel of its Fig. ``number`` on ``ax`` (x > 0 on a log
    axis)."""
    for scheme in SCHEMES:
        rows = paper_series(number, metric, scheme)
        rows = rows[rows["x"] > 0] if log_x else rows
        draw_paper(ax, rows["x"], rows["y"], rows["read_low"], rows["read_high"],
                   rows["band_low"], rows["band_high"], color=SCHEME_COLORS[scheme])
    drawn.add("paper")


def overlay_paper(ax, name, sigma, metric):
    """On our panel (axes shared with the paper): its digitized curves (its trace on a twin
    axis), or the registry's readings at a known x as diamonds."""
    number = digitized_figure(name)
    if number is not None and sigma == experiments[name]["plot_sigma"]:
        if metric == "hessian_trace":
            twin = ax.twinx()
            draw_the_paper(twin, number, metric, ax.get_xscale() == "log")
            twin.set_yscale("log")
            twin.set_ylabel(PAPER_TRACE.format(""), fontsize=8)
            twin.grid(False)
        elif metric in ("test_acc", "train_loss"):
            draw_the_paper(ax, number, metric, ax.get_xscale() == "log")
    for scheme, x, low, high, _ in typed_readings(figure, name, sigma, experiments[name], metric,
                                                 spec.window):
        ax.errorbar([x], [(low + high) / 2], yerr=[[(high - low) / 2]], fmt="D", ms=5,
                    mfc="white", color=SCHEME_COLORS[scheme], capsize=3)
        drawn.add("readings")


def paper_panel(ax, name, number, metric, log_x):
    """The paper's panel on axes of its own (our runs do not share its axes)."""
    draw_the_paper(ax, number, metric, log_x)
    if metric in LOG_METRICS:
        ax.set_yscale("log")
    if log_x:
        ax.set_xscale("log")
    ylabel = (PAPER_TRACE.format("") if metric == "hessian_trace"
              else f"the paper's {METRIC_LABELS[metric]}")
    ax.set(ylabel=ylabel, xlabel="iterations")


def curve_figure():
    """One column per (experiment, sigma), each followed by the paper's own column where our
    runs cannot share its axes; one row per metric, and where a full-batch column shares the
    paper's axes a row of test accuracy after the run's first tenth on a linear axis (the
    paper's own axis; the log axis squeezes the end of the run, where the schemes part)."""
    panels = []
    for name, sigma in figure_columns(spec, experiments):
        panels.append(("ours", name, sigma))
        number = digitized_figure(name)
        if (number is not None and sigma == experiments[name]["plot_sigma"]
                and not same_axes(name, experiments[name])):
            panels.append(("paper", name, number))
    rows = [(metric, False) for metric in spec.metrics]
    if "test_acc" in spec.metrics and any(
            kind == "ours" and same_axes(name, experiments[name])
            and not experiments[name]["batch_size"] for kind, name, _ in panels):
        rows.insert(spec.metrics.index("test_acc") + 1, ("test_acc", True))
    fig, axes = plt.subplots(len(rows), len(panels), squeeze=False,
                             figsize=(max(5.6, 3.9 * len(panels)), 2.9 * len(rows) + 2))
    for j, (kind, name, arg) in enumerate(panels):
        log_x = not experiments[name]["batch_size"]
        for i, (metric, late) in enumerate(rows):
            ax = axes[i, j]
            if kind == "ours":
                draw_ours(ax, name, arg, metric, late)
                if same_axes(name, experiments[name]):
                    overlay_paper(ax, name, arg, metric)
            else:
                paper_panel(ax, name, arg, metric, log_x and not late)
            if late:
                ax.set_xlim(0.1 * experiments[name]["epochs"], experiments[name]["epochs"])
                fit_y_to_x_range(ax)
        axes[0, j].set_title(column_title(name, arg) if kind == "ours" else
                             f"the paper's {'Fig.' if arg == 6 else 'App. Fig.'} {arg}\n"
                             "read off its figure\non axes of its own", fontsize=9)
    return fig, [name for kind, name, _ in panels if kind == "ours"]


def sweep_figure():
    """Final metrics against sigma: ours (mean +- 1 std) and the paper's Fig. 6 points
    (+- s.e.m.), on our axes or in a row of their own."""
    name = spec.experiments[0]
    table = final[name]
    shared = same_axes(name, experiments[name])
    fig, axes = plt.subplots(1 if shared else 2, len(spec.metrics), squeeze=False,
                             figsize=(4.6 * len(spec.metrics), (3.4 if shared else 6.4) + 1.2))
    for j, metric in enumerate(spec.metrics):
        ax = axes[0, j]
        rows = table[table["metric"] == metric]
        none = rows[rows["scheme"] == "none"].iloc[0]
        for scheme in ("layer", "all"):
            r = rows[rows["scheme"] == scheme].sort_values("sigma")
            ax.errorbar(r["sigma"], r["mean"], yerr=r["std"].fillna(0.0), marker="o",
                        capsize=3, color=SCHEME_COLORS[scheme])
            for _, d in r[r["n_diverged"] > 0].iterrows():
                ax.annotate(f"{int(d['n_diverged'])}/{int(d['n_runs'])} diverged",
                            (d["sigma"], d["mean"]), fontsize=7, color=SCHEME_COLORS[scheme])
        std = 0.0 if np.isnan(none["std"]) else float(none["std"])
        ax.axhline(none["mean"], color=SCHEME_COLORS["none"], lw=1)
        ax.axhspan(none["mean"] - std, none["mean"] + std, color=SCHEME_COLORS["none"],
                   alpha=0.15, lw=0)
        ax.set(ylabel="final " + METRIC_LABELS[metric])
        paper_ax = ax.twinx() if shared and metric == "hessian_trace" else (
            ax if shared else axes[1, j])
        sweep_paper(paper_ax, metric)
        if paper_ax is not ax:
            label = (PAPER_TRACE.format("final ") if metric == "hessian_trace"
                     else f"the paper's final {METRIC_LABELS[metric]}")
            paper_ax.set_ylabel(label, fontsize=8 if shared else None)
            paper_ax.grid(not shared)
    for ax in axes.flat:
        ax.set_xscale("log")
        ax.set_xlabel("$\\sigma$ (layer-wise std; all weights: $\\sigma/\\sqrt{M}$)\n"
                      "grid digitized from the paper's log axis (approximate)")
    axes[0, 0].set_title(describe(name), fontsize=9)
    if not shared:
        axes[1, 0].set_title("the paper's Fig. 6, read off its figure, on axes of its own",
                             fontsize=9, loc="left")
    return fig, [name]


def sweep_paper(ax, metric):
    """The paper's Fig. 6 points of one metric: layer and all against sigma, plain SGD (drawn
    by the paper at log10 sigma = -3 only to be visible) as a dashed line with its bar as a
    band."""
    for scheme in ("layer", "all"):
        rows = paper_series(6, metric, scheme)
        draw_paper(ax, rows["x"], rows["y"], rows["read_low"], rows["read_high"],
                   rows["band_low"], rows["band_high"], color=SCHEME_COLORS[scheme],
                   bars=True, marker="o", mfc="white", ms=4)
    sgd = paper_series(6, metric, "none").iloc[0]
    ax.axhline(sgd["y"], color=SCHEME_COLORS["none"], **PAPER_STYLE)
    if np.isfinite([sgd["band_low"], sgd["band_high"]]).all():
        ax.axhspan(sgd["band_low"], sgd["band_high"], color=SCHEME_COLORS["none"], alpha=0.1,
                   lw=0)
    drawn.add("paper")


def legend_handles():
    """Our schemes (solid), and what else the figure drew: the paper's curves (dashed), its
    typed readings, the marks of non-positive values, the paper's window."""
    handles = [Line2D([], [], color=SCHEME_COLORS[s], marker="." if spec.kind != "sigma_sweep"
                      else "o", label=f"{scheme_label(s)} (ours)") for s in SCHEMES]
    spread = ("bars: its ± s.e.m." if spec.kind == "sigma_sweep"
              else "hatched: its mean ± 1 std")
    if "paper" in drawn:
        handles.append(Line2D([], [], color="0.3", **PAPER_STYLE,
                              label=f"the paper, read off its figure\n(shade: reading error; "
                                    f"{spread})"))
    if "readings" in drawn:
        handles.append(Line2D([], [], color="0.3", marker="D", mfc="white", ls="none",
                              label="the paper's reading (config/paper_numbers.yaml)"))
    if "nonpositive" in drawn:
        handles.append(Line2D([], [], color="0.3", marker="v", ls="none",
                              label="a seed's value ≤ 0 here (off the log axis)"))
    if "window" in drawn:
        handles.append(Patch(color="0.93", label="the paper's window onto the run"))
    return handles


def paper_note(names):
    """Where the paper is drawn and why: on our axes, or on axes of its own (or not at all)
    because our runs differ from its protocol in the settings named; none for an experiment
    beyond the paper."""
    if not any(n in EXPERIMENTS for n in names):
        return "an experiment beyond the paper: no curve of the paper to draw"
    differences = sorted({d for n in names for d in axis_differences(n, experiments[n])})
    curves_read = any(digitized_figure(n) is not None for n in names)
    if differences:
        return ("the paper on axes of its own: " if curves_read
                else "the paper's readings (caption) not drawn: ") + "; ".join(differences)
    if curves_read or "readings" in drawn:
        trace = ("; its Hessian trace (a sum over its probes) on a right-hand axis of its own"
                 if "hessian_trace" in spec.metrics and curves_read else "")
        return ("the paper on our axes (same data set, training images, length and batch)"
                + trace)
    return "the paper: no curve read and no reading at a known x (caption)"


use_style()
fig, names = sweep_figure() if spec.kind == "sigma_sweep" else curve_figure()
legend_below(fig, legend_handles(), ncol=2)
n_seeds = snakemake.config["networks"]["n_seeds"]
width = int(fig.get_figwidth() * 13)  # characters of a 9-point line
fig.suptitle("\n".join([f"{spec.label}, {snakemake.config['scale']} scale, {n_seeds} "
                        f"seed{'s' if n_seeds > 1 else ''}",
                        textwrap.fill(f"bands: {SPREAD}", width),
                        textwrap.fill(paper_note(names), width)]), fontsize=9)
save_figure(fig, snakemake.output.pdf, snakemake.output.png)
write_figure_record(snakemake, clock)
