"""The paper's curves read off its figures (config/paper_digitized/, README there): approximate
readings of the published raster figures, not the authors' numbers, each with its reading
error. Series are named as the project's schemes: "none" (the paper's plain GD/SGD), "layer",
"all"."""

from __future__ import annotations

import functools
import json
from pathlib import Path

import numpy as np
import pandas as pd

FOLDER = Path(__file__).resolve().parents[2] / "config" / "paper_digitized"
#: Figures read, by the paper's number.
FIGURES = (6, 7, 8, 9, 10)
SERIES = {"gd": "none", "sgd": "none", "layer": "layer", "all": "all"}
#: Our metric names for the paper's panels.
PANELS = {"train_loss": "train_loss", "test_acc": "test_acc", "hessian_trace": "hessian_trace",
          "final_test_acc": "test_acc", "final_hessian_trace": "hessian_trace"}


def _check(number: int) -> None:
    if number not in FIGURES:
        raise KeyError(f"Fig. {number} was not digitized; digitized: {FIGURES} "
                       f"({FOLDER / 'README.md'})")


@functools.cache
def points(number: int) -> pd.DataFrame:
    """Every point read off Fig. ``number``: columns metric, scheme, x (iteration; Fig. 6:
    log10 sigma, plain SGD at -3), y, y_low, y_high (the paper's band or error bar, NaN where
    not resolved), ambiguous (bool), kind (how it was read)."""
    _check(number)
    raw = pd.read_csv(FOLDER / f"fig{number}.csv")
    return pd.DataFrame({
        "metric": raw["panel"].map(PANELS), "scheme": raw["series"].map(SERIES),
        "x": raw["x"].astype(float), "y": raw["y"].astype(float),
        "y_low": pd.to_numeric(raw["y_low"], errors="coerce"),
        "y_high": pd.to_numeric(raw["y_high"], errors="coerce"),
        "ambiguous": raw["ambiguous"].astype(bool), "kind": raw["point_kind"].astype(str)})


def curve(number: int, metric: str, scheme: str, unambiguous: bool = True) -> pd.DataFrame:
    """One series of one panel, sorted by x; only the unambiguous points by default."""
    df = points(number)
    df = df[(df.metric == metric) & (df.scheme == scheme)]
    if unambiguous:
        df = df[~df.ambiguous]
    return df.sort_values("x").reset_index(drop=True)


@functools.cache
def reading_error(number: int, metric: str) -> tuple[str, float]:
    """("relative", r) or ("absolute", a): the y reading error of a panel (about 1-2 px)."""
    _check(number)
    panels = json.loads((FOLDER / f"fig{number}.json").read_text())["panels"]
    names = [p for p, m in PANELS.items() if m == metric and p in panels]
    if not names:
        raise KeyError(f"Fig. {number} has no {metric} panel; panels: {sorted(panels)}")
    error = panels[names[0]]["reading_error"]["y"]
    kind = "relative" if "relative" in error else "absolute"
    return kind, float(error[kind])


#: An ambiguous point (another line overlaps, or its two readings disagree) can be off by a
#: line width, about this many pixels (README of config/paper_digitized/).
AMBIGUOUS_PX = 5.0


@functools.cache
def ambiguous_error(number: int, metric: str) -> tuple[str, float]:
    """The y error of an ambiguous point of a panel, as :func:`reading_error` gives it: the
    panel's reading error (about ``y_error_px`` pixels; one where the panel names none)
    scaled to :data:`AMBIGUOUS_PX` pixels, compounding a relative error per pixel."""
    kind, error = reading_error(number, metric)
    panels = json.loads((FOLDER / f"fig{number}.json").read_text())["panels"]
    name = next(p for p, m in PANELS.items() if m == metric and p in panels)
    pixels = AMBIGUOUS_PX / float(panels[name]["reading_error"].get("y_error_px", 1.0))
    return kind, ((1 + error) ** pixels - 1 if kind == "relative" else error * pixels)


def error(number: int, metric: str, y):
    """The reading error of a value ``y`` read off a panel, in its units (a relative error
    scales with y)."""
    kind, size = reading_error(number, metric)
    return size * abs(y) if kind == "relative" else size


def final(number: int, metric: str, scheme: str) -> tuple[float, float]:
    """(y, reading error) of a curve's end: its last unambiguous point (Figs. 7-10)."""
    last = curve(number, metric, scheme).iloc[-1]
    return float(last.y), error(number, metric, last.y)


def at_sigma(metric: str, scheme: str, sigma: float) -> tuple[float, float] | None:
    """(y, reading error) of Fig. 6's marker of ``scheme`` at ``sigma`` (plain SGD: its one
    marker, sigma 0); None where the marker is hidden or its centre uncertain."""
    rows = _fig6(metric, scheme, sigma)
    if rows.empty or rows.ambiguous.iloc[0]:
        return None
    y = float(rows.y.iloc[0])
    return y, error(6, metric, y)


def _fig6(metric, scheme, sigma):
    df = points(6)
    df = df[(df.metric == metric) & (df.scheme == scheme)]
    if scheme == "none":
        return df
    return df[(df.x - np.log10(sigma)).abs() < SIGMA_MATCH]


#: Fig. 6's x is log10 sigma as read off its axis: a configured sigma matches a marker within
#: this distance (the markers of neighbouring sigmas lie >= 0.12 apart).
SIGMA_MATCH = 0.02


def source(number: int, metric: str) -> str:
    """The citation of a digitized panel."""
    return (f"Fig. {number}, {metric} panel, digitized (config/paper_digitized/"
            f"fig{number}.csv; reading error {reading_error(number, metric)[0]} "
            f"{reading_error(number, metric)[1]:g})")


def trace_order(number: int, window: float) -> list[tuple[str, str]]:
    """The Hessian-trace order Fig. ``number`` (7-10) shows at its end: the pairs (lower,
    higher) of schemes whose curves do not cross over the last ``window`` of the plotted
    iterations, beyond the panel's reading error: every point of the lower one below every
    point of the higher one, max_lower (1 + r) < min_higher (1 - r) for the panel's relative
    error r (all points read, ambiguous ones included, which can only break an order; a
    curve that leaves the axis below it keeps the points read before)."""
    df = points(number)
    late = df[(df.metric == "hessian_trace") & (df.x >= (1 - window) * df.x.max())]
    _, r = reading_error(number, "hessian_trace")
    span = {s: (g.y.min(), g.y.max()) for s, g in late.groupby("scheme")}
    return [(a, b) for a in span for b in span
            if a != b and span[a][1] * (1 + r) < span[b][0] * (1 - r)]


def trace_order_at(sigma: float) -> list[tuple[str, str]]:
    """The Hessian-trace order Fig. 6 shows at ``sigma`` among layer-wise noise, all-weights
    noise and plain SGD: the pairs (lower, higher) whose markers' error bars (+- s.e.m. of the
    paper's 3 runs; an edge not resolved mirrored from the other, neither: the marker +- its
    reading error) do not overlap; hidden or uncertain markers give no order."""
    bars = {}
    for scheme in ("layer", "all", "none"):
        rows = _fig6("hessian_trace", scheme, sigma)
        if rows.empty or rows.ambiguous.iloc[0]:
            continue
        y, low, high = (float(rows[c].iloc[0]) for c in ("y", "y_low", "y_high"))
        low = 2 * y - high if np.isnan(low) else low
        high = 2 * y - low if np.isnan(high) else high
        if np.isnan(low):
            low, high = y - error(6, "hessian_trace", y), y + error(6, "hessian_trace", y)
        bars[scheme] = (low, high)
    return [(a, b) for a in bars for b in bars if a != b and bars[a][1] < bars[b][0]]
