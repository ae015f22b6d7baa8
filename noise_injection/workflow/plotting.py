"""One style for every figure, and one way to save it (PDF for papers, PNG for the README and
the report, from the same figure object) after a readability check: every axis with tick
labels has a label, no two tick labels of an axis overlap, and nothing drawn on a log axis
reaches zero or below (a band there would be cut off)."""

from __future__ import annotations

import os
from pathlib import Path

import matplotlib
import numpy as np

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import seaborn as sns  # noqa: E402
from matplotlib.collections import Collection  # noqa: E402
from matplotlib.path import Path as MplPath  # noqa: E402
from matplotlib.ticker import NullFormatter  # noqa: E402

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


def use_style() -> None:
    """The house style: seaborn 'ticks', paper context, a readable default size, and
    constrained layout for every figure (so saving needs no second 'tight' layout pass,
    which doubled the time of a multi-panel save)."""
    sns.set_theme(context="paper", style="ticks", font_scale=1.1)
    plt.rcParams.update({
        "figure.dpi": 110,
        "savefig.dpi": 150,
        "figure.constrained_layout.use": True,
        "axes.grid": True,
        "grid.alpha": 0.3,
        "legend.frameon": False,
        "pdf.fonttype": 42,
    })


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
        if ax.get_legend() is not None:
            yield from ax.get_legend().get_texts()


def _outside(fig, text, renderer) -> bool:
    if not (text.get_visible() and text.get_text().strip()):
        return False
    box, page = text.get_window_extent(renderer), fig.bbox.padded(1)
    return not (page.contains(box.x0, box.y0) and page.contains(box.x1, box.y1))


def check_figure(fig) -> list[str]:
    """Readability problems of ``fig``, one line each: a title, label or legend entry cut off at
    the figure's edge, an axis with tick labels but no label, two overlapping tick labels of
    one axis, a value <= 0 drawn on a log axis."""
    fig.canvas.draw()
    renderer = fig.canvas.get_renderer()
    problems = [f"text cut off at the figure's edge: {t.get_text()!r}"
                for t in _titles_and_labels(fig) if _outside(fig, t, renderer)]
    for n, ax in enumerate(fig.axes):
        if not ax.get_visible() or not ax.axison:
            continue
        name = f"axes {n} ({ax.get_title() or ax.get_label() or 'untitled'})"
        for which, axis in (("x", ax.xaxis), ("y", ax.yaxis)):
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
    return problems


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
