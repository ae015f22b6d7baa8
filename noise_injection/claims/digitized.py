"""The paper's curves read off its figures (config/paper_digitized/, README there): approximate
readings of the published raster figures, not the authors' numbers, each with its reading
error. Series are named as the project's schemes: "none" (the paper's plain GD/SGD), "layer",
"all"."""

from __future__ import annotations

import functools
import json
from pathlib import Path

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
