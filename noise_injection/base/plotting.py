"""One style for every figure, and one way to save it (PDF for papers, PNG for the README and
the report, from the same figure object) after a readability check: every axis with tick
labels has a label, no two tick labels of an axis overlap, nothing drawn on a log axis
reaches zero or below (a band there would be cut off), and no legend covers drawn data.

The building blocks every figure shares: one spread convention over seeds (:data:`SPREAD`,
:func:`geometric_spread`), the marks of values a log axis cannot show
(:func:`mark_nonpositive`), the paper's curves beside ours (:func:`draw_paper`,
:data:`PAPER_STYLE`) and one legend below the panels (:func:`legend_below`)."""

from __future__ import annotations

import os
from pathlib import Path

import matplotlib
import numpy as np

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
from matplotlib import cycler  # noqa: E402
from matplotlib.collections import (  # noqa: E402
    Collection,
    LineCollection,
    PathCollection,
)
from matplotlib.path import Path as MplPath  # noqa: E402
from matplotlib.ticker import NullFormatter  # noqa: E402
from matplotlib.transforms import Bbox, blended_transform_factory  # noqa: E402

#: One colour per noise scheme, used by every figure.
SCHEME_COLORS = {
    "none": "#4d4d4d",
    "layer": "#1f77b4",
    "all": "#d62728",
    "reff": "#2ca02c",
    "reference": "#000000",
}
SCHEME_LABELS = {
    "none": "no noise",
    "layer": "noise, layer-wise",
    "all": "noise, all weights",
    "reff": "GD on $R_{eff}$",
    "reference": "convex reference",
}


#: seaborn's "deep" palette: the colour cycle, and the one-letter codes b, g, r, m, y, c
SEABORN_DEEP = [
    (0.2980392156862745, 0.4470588235294118, 0.6901960784313725),
    (0.8666666666666667, 0.5176470588235295, 0.3215686274509804),
    (0.3333333333333333, 0.6588235294117647, 0.40784313725490196),
    (0.7686274509803922, 0.3058823529411765, 0.3215686274509804),
    (0.5058823529411764, 0.4470588235294118, 0.7019607843137254),
    (0.5764705882352941, 0.47058823529411764, 0.3764705882352941),
    (0.8549019607843137, 0.5450980392156862, 0.7647058823529411),
    (0.5490196078431373, 0.5490196078431373, 0.5490196078431373),
    (0.8, 0.7254901960784313, 0.4549019607843137),
    (0.39215686274509803, 0.7098039215686275, 0.803921568627451),
]
SEABORN_COLOR_CODES = {**{code: SEABORN_DEEP[i] for code, i in zip("bgrmyc", (0, 2, 3, 4, 8, 9))},
                       "k": (0.1, 0.1, 0.1)}
#: seaborn's ``set_theme(context="paper", style="ticks", font_scale=1.1)``, frozen as the
#: rcParams it changes from matplotlib's defaults and the colours it gives the one-letter codes
#: ("r", "k", ...; :data:`SEABORN_COLOR_CODES`), so that figure jobs do not import seaborn
#: (about a second and a half of CPU each); tests/test_figure_check.py checks both against
#: seaborn. Its default colour map is left out: every figure names the colour map it uses.
SEABORN_PAPER_TICKS = {
    "axes.axisbelow": True,
    "axes.edgecolor": ".15",
    "axes.labelcolor": ".15",
    "axes.labelsize": 10.560000000000002,
    "axes.linewidth": 1.0,
    "axes.prop_cycle": cycler(color=SEABORN_DEEP),
    "axes.titlesize": 10.560000000000002,
    "font.sans-serif": ["Arial", "DejaVu Sans", "Liberation Sans", "Bitstream Vera Sans",
                        "sans-serif"],
    "font.size": 10.560000000000002,
    "grid.color": ".8",
    "legend.fontsize": 9.680000000000001,
    "legend.title_fontsize": 10.560000000000002,
    "lines.linewidth": 1.2000000000000002,
    "lines.markersize": 4.800000000000001,
    "lines.solid_capstyle": "round",
    "patch.edgecolor": "w",
    "patch.force_edgecolor": True,
    "patch.linewidth": 0.8,
    "text.color": ".15",
    "xtick.color": ".15",
    "xtick.labelsize": 9.680000000000001,
    "xtick.major.size": 4.800000000000001,
    "xtick.major.width": 1.0,
    "xtick.minor.size": 3.2,
    "xtick.minor.width": 0.8,
    "ytick.color": ".15",
    "ytick.labelsize": 9.680000000000001,
    "ytick.major.size": 4.800000000000001,
    "ytick.major.width": 1.0,
    "ytick.minor.size": 3.2,
    "ytick.minor.width": 0.8,
}


def use_style() -> None:
    """The house style: seaborn's 'ticks' at the paper context (:data:`SEABORN_PAPER_TICKS`), a
    readable default size, and constrained layout for every figure (so saving needs no second
    'tight' layout pass, which doubled the time of a multi-panel save)."""
    plt.rcParams.update(SEABORN_PAPER_TICKS)
    matplotlib.colors.colorConverter.colors.update(SEABORN_COLOR_CODES)
    matplotlib.colors._colors_full_map.cache.clear()  # as seaborn does: drop cached lookups
    plt.rcParams.update({
        "figure.dpi": 110,
        "savefig.dpi": 150,
        "figure.constrained_layout.use": True,
        "axes.grid": True,
        "grid.alpha": 0.3,
        "legend.frameon": False,
        "pdf.fonttype": 42,
    })


#: The one spread over seeds of every figure, named in every caption: a band or bar is the
#: mean +- 1 std (ddof=1) over the seeds; on a log axis the geometric mean times / divided by
#: the geometric std of the positive values (:func:`geometric_spread`).
SPREAD = ("mean ± 1 std over seeds (log axes: geometric mean ×/÷ geometric std of the "
          "positive values)")
#: How the paper's curves read off its figures are drawn: dashed, in the scheme's colour.
PAPER_STYLE = {"ls": "--", "lw": 1.3}


def geometric_spread(values) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(centre, low, high, n_nonpositive) per column of ``values`` (seeds x points) for a log
    axis: the geometric mean g = exp(mean log v) and g / s, g * s with s = exp(std log v)
    (ddof=1; s = 1 for a single value), over the finite values v > 0 of the column, so that no
    band reaches zero; NaN where none is positive. ``n_nonpositive`` counts the finite values
    <= 0, which a log axis cannot show (:func:`mark_nonpositive` marks them)."""
    v = np.atleast_2d(np.asarray(values, dtype=float))
    positive = np.isfinite(v) & (v > 0)
    logs = np.log(np.where(positive, v, 1.0))
    n = positive.sum(axis=0)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = np.where(n > 0, (logs * positive).sum(axis=0) / n, np.nan)
        squares = (((logs - mean) ** 2) * positive).sum(axis=0)
        std = np.where(n > 1, np.sqrt(squares / (n - 1)), 0.0)
    centre, spread = np.exp(mean), np.exp(std)
    nonpositive = (np.isfinite(v) & (v <= 0)).sum(axis=0)
    return centre, centre / spread, centre * spread, nonpositive


def mark_nonpositive(ax, x, counts, color: str, **kwargs):
    """A downward triangle at the bottom edge of ``ax`` at each ``x`` where ``counts`` > 0: a
    value there is <= 0 and so not on the log axis. Returns the line (None if nothing)."""
    x, counts = np.asarray(x, dtype=float), np.asarray(counts)
    if not (counts > 0).any():
        return None
    return ax.plot(x[counts > 0], np.full((counts > 0).sum(), 0.0), ls="none", marker="v",
                   ms=5, color=color, clip_on=False, **kwargs,
                   transform=blended_transform_factory(ax.transData, ax.transAxes))[0]


def draw_paper(ax, x, y, read_low, read_high, band_low=None, band_high=None, *,
               color: str, bars: bool = False, **kwargs):
    """One of the paper's series read off its figure, on ``ax``: the curve dashed
    (:data:`PAPER_STYLE`) in ``color``, its reading error as a shade from ``read_low`` to
    ``read_high``, and the paper's own band (``band_low``, ``band_high``; NaN where an edge was
    too thin to resolve, i.e. within the line): hatched between its edges (a curve), or with
    ``bars`` a bar from the point to each edge read, capped (points)."""
    x, y = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
    ax.fill_between(x, read_low, read_high, color=color, alpha=0.3, lw=0)
    line = ax.plot(x, y, color=color, **PAPER_STYLE, **kwargs)[0]
    edges = [np.full_like(y, np.nan) if e is None else np.asarray(e, dtype=float)
             for e in (band_low, band_high)]
    if bars:
        for edge in edges:
            read = np.isfinite(edge)
            ax.vlines(x[read], y[read], edge[read], color=color, lw=0.9)
            ax.plot(x[read], edge[read], ls="none", marker="_", ms=6, color=color)
    elif any(np.isfinite(e).any() for e in edges):
        low, high = (np.where(np.isfinite(e), e, y) for e in edges)
        ax.fill_between(x, low, high, facecolor="none", edgecolor=color, hatch="/////", lw=0,
                        alpha=0.6)
    return line


def fit_y_to_x_range(ax, margin: float = 0.05) -> None:
    """Set the y limits of ``ax`` (a linear y axis) to what its lines and bands reach inside
    its current x limits, with ``margin`` of the range on each side."""
    lo, hi = ax.get_xlim()
    ys = []
    for line in ax.get_lines():
        if line.get_transform() == ax.transData:
            xy = np.asarray(line.get_xydata(), dtype=float)
            ys.append(xy[(xy[:, 0] >= lo) & (xy[:, 0] <= hi), 1])
    for artist in ax.collections:
        if artist.get_transform() == ax.transData:
            for path in artist.get_paths():
                xy = np.asarray(path.vertices, dtype=float)
                ys.append(xy[(xy[:, 0] >= lo) & (xy[:, 0] <= hi), 1])
    y = np.concatenate(ys + [np.array([])])
    y = y[np.isfinite(y)]
    if len(y):
        pad = margin * max(y.max() - y.min(), 1e-12)
        ax.set_ylim(y.min() - pad, y.max() + pad)


def legend_beside(ax, **kwargs):
    """The legend of one axes to its right, outside its data (constrained layout makes room)."""
    return ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1), borderaxespad=0,
                     **{"fontsize": 8, **kwargs})


def legend_below(fig, handles=None, ncol: int | None = None):
    """One legend for the whole figure below its panels, outside every axes (constrained
    layout makes room): ``handles``, else every labelled artist of every axes, each label
    once."""
    if handles is None:
        named = {}
        for ax in fig.axes:
            for handle, label in zip(*ax.get_legend_handles_labels()):
                named.setdefault(label, handle)
        handles = [h for label, h in named.items() if not label.startswith("_")]
    if not handles:
        return None
    return fig.legend(handles=handles, loc="outside lower center",
                      ncol=ncol or min(len(handles), 3), fontsize=8)


def _tick_labels(axis, renderer):
    return [t for t in axis.get_ticklabels(which="both")
            if t.get_visible() and t.get_text() and t.get_window_extent(renderer).width > 0]


def _drawn_values(ax, which: int):
    """Coordinates (0: x, 1: y) of every line, band and error bar drawn in data coordinates
    on ``ax`` (not the reference lines spanning the axes, ``axhline``)."""
    for line in ax.get_lines():
        if line.get_transform() == ax.transData:
            yield np.asarray(line.get_xydata(), dtype=float)[:, which]
    for artist in ax.collections:
        if isinstance(artist, Collection) and artist.get_transform() == ax.transData:
            for path in artist.get_paths():
                keep = slice(None) if path.codes is None else path.codes != MplPath.CLOSEPOLY
                yield np.asarray(path.vertices, dtype=float)[keep, which]


def _titles_and_labels(fig):
    """The figure's own texts (suptitle), and each axes' titles, axis labels and legend."""
    yield from fig.texts
    if fig._suptitle is not None:
        yield fig._suptitle
    for ax in fig.axes:
        yield from (ax.title, ax._left_title, ax._right_title, ax.xaxis.label, ax.yaxis.label)
    for legend in _legends(fig):
        yield from legend.get_texts()


def _legends(fig):
    """Every visible legend of ``fig``: the axes' and the figure's own."""
    legends = [ax.get_legend() for ax in fig.axes] + list(fig.legends)
    return [legend for legend in legends if legend is not None and legend.get_visible()]


def _no_style(style) -> bool:
    return style in (None, "None", "none", "", " ")


def _finite_runs(xy):
    """The runs of consecutive finite rows of an (n, 2) array."""
    finite = np.isfinite(xy).all(axis=1)
    edges = np.flatnonzero(np.diff(np.r_[0, finite.astype(int), 0]))
    return [xy[a:b] for a, b in zip(edges[::2], edges[1::2])]


def _covered(region: Bbox, ax) -> str | None:
    """The label of the first line, marker, band, error bar or mesh of ``ax`` that reaches into
    ``region`` (display coordinates), None if nothing does; reference lines spanning the
    axes (axhline) count, shaded spans and grid lines do not."""
    for line in ax.get_lines():
        if not line.get_visible():
            continue
        xy = line.get_transform().transform(np.asarray(line.get_xydata(), dtype=float))
        for run in _finite_runs(xy):
            if not _no_style(line.get_marker()) and any(region.contains(*p) for p in run):
                return line.get_label()
            if (not _no_style(line.get_linestyle()) and len(run) > 1
                    and MplPath(run).intersects_bbox(region, filled=False)):
                return line.get_label()
    for artist in ax.collections:
        if not (isinstance(artist, Collection) and artist.get_visible()):
            continue
        if isinstance(artist, PathCollection):  # scatter: markers at offsets
            points = artist.get_offset_transform().transform(artist.get_offsets())
            if any(region.contains(*p) for p in points if np.isfinite(p).all()):
                return artist.get_label()
            continue
        faces = np.atleast_2d(artist.get_facecolor())
        filled = (not isinstance(artist, LineCollection) and faces.size > 0
                  and faces[:, 3].max() > 0)
        transform = artist.get_transform()
        for path in artist.get_paths():
            vertices = transform.transform(np.asarray(path.vertices, dtype=float))
            vertices = vertices[np.isfinite(vertices).all(axis=1)]
            if len(vertices) and MplPath(vertices).intersects_bbox(region, filled=filled):
                return artist.get_label()
    return None


def _legend_problems(fig, renderer) -> list[str]:
    """A line for each axes whose drawn data a legend covers."""
    problems = []
    for legend in _legends(fig):
        box = legend.get_window_extent(renderer)
        for n, ax in enumerate(fig.axes):
            region = Bbox.intersection(box, ax.bbox) if ax.get_visible() else None
            if region is None or region.width < 1 or region.height < 1:
                continue
            label = _covered(region, ax)
            if label is not None:
                problems.append(f"axes {n} ({ax.get_title() or ax.get_label() or 'untitled'}): "
                                f"a legend covers drawn data ({label!r})")
    return problems


def _outside(fig, text, renderer) -> bool:
    if not (text.get_visible() and text.get_text().strip()):
        return False
    box, page = text.get_window_extent(renderer), fig.bbox.padded(1)
    return not (page.contains(box.x0, box.y0) and page.contains(box.x1, box.y1))


def check_figure(fig) -> list[str]:
    """Readability problems of ``fig``, one line each: a title, label or legend entry cut off at
    the figure's edge, an axis with tick labels but no label, two overlapping tick labels of
    one axis, a value <= 0 drawn on a log axis, a legend over a drawn line, marker, band,
    error bar or mesh."""
    fig.canvas.draw()
    renderer = fig.canvas.get_renderer()
    problems = [f"text cut off at the figure's edge: {t.get_text()!r}"
                for t in _titles_and_labels(fig) if _outside(fig, t, renderer)]
    for n, ax in enumerate(fig.axes):
        if not ax.get_visible() or not ax.axison:
            continue
        name = f"axes {n} ({ax.get_title() or ax.get_label() or 'untitled'})"
        for which, axis in (("x", ax.xaxis), ("y", ax.yaxis)):
            if not axis.get_visible():  # the shared axis of a twin
                continue
            labels = _tick_labels(axis, renderer)
            if labels and not axis.get_label_text():
                problems.append(f"{name}: {which} axis has no label")
            if _overlap(labels, renderer):
                problems.append(f"{name}: {which} tick labels overlap: "
                                + ", ".join(repr(t.get_text()) for t in labels))
            if axis.get_scale() == "log":
                values = np.concatenate([*_drawn_values(ax, "xy".index(which)), []])
                if (values[np.isfinite(values)] <= 0).any():
                    problems.append(f"{name}: something drawn reaches <= 0 on log {which} axis")
    return problems + _legend_problems(fig, renderer)


def _overlap(labels, renderer) -> bool:
    boxes = [t.get_window_extent(renderer) for t in labels]
    return any(a.overlaps(b) for i, a in enumerate(boxes) for b in boxes[i + 1:])


def declutter_log_axes(fig) -> None:
    """On a log axis whose tick labels collide (a short range labels the 2-9 minor ticks:
    "3x10^0 4x10^0"), keep the labels of the decades only."""
    fig.canvas.draw()
    renderer = fig.canvas.get_renderer()
    for ax in fig.axes:
        for axis in (ax.xaxis, ax.yaxis):
            if axis.get_scale() == "log" and _overlap(_tick_labels(axis, renderer), renderer):
                axis.set_minor_formatter(NullFormatter())


def save_figure(fig, *paths: str | os.PathLike) -> None:
    """Declutter its log axes (:func:`declutter_log_axes`), check ``fig`` (:func:`check_figure`;
    ValueError naming the problems), save it to every path given (format from the suffix),
    then close it."""
    if not paths:
        raise ValueError("save_figure needs at least one output path")
    declutter_log_axes(fig)
    problems = check_figure(fig)
    if problems:
        plt.close(fig)
        raise ValueError(f"figure {Path(paths[0]).stem} is hard to read:\n" + "\n".join(problems))
    for path in paths:
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        fig.savefig(path)
    plt.close(fig)
