"""The paper beside ours in the network figures (Figs. 3-12): which of the paper's figures read
off its PDF (config/paper_digitized/, :mod:`noise_injection.base.digitized`) shows an
experiment's runs, whether our runs can share its axes, its points with their reading error,
and the typed readings (config/paper_numbers.yaml) of the figures that were not digitized,
as points at a known iteration or epoch.

Our runs share the paper's axes when they have the paper's data set, training images, run
length and batch (config/paper.yaml, the paper's protocol as this project declares it): then
accuracies, losses and the iteration axis mean the same thing in both. Elsewhere (the quick
scale's 8x8 digits and short runs) the paper's curves get axes of their own. The paper's
Hessian traces are its code's sum over a random number of Hutchinson probes, so their level
is never comparable with ours (the mean over probes): figures draw them on an axis of their
own (a twin axis where the rest shares ours).

Sigma convention: layer-wise std; all-weights noise sigma/sqrt(M).
"""

from __future__ import annotations

import functools
from pathlib import Path

import numpy as np
import pandas as pd
import yaml

from noise_injection.base import digitized, paper_numbers
from noise_injection.networks.experiments import FIGURES

PAPER_CONFIG = Path(__file__).resolve().parents[2] / "config" / "paper.yaml"
#: The settings that fix what a run's axes mean: accuracy and loss levels (data set, training
#: images, batch) and the iteration or epoch axis (run length).
AXIS_SETTINGS = ("dataset", "train_subset", "epochs", "batch_size")
#: The paper's figures not digitized whose final test accuracies the registry gives per
#: scheme (Figs. 11-12; Fig. 5 shows the same runs), by experiment.
FINAL_READINGS = {"toy_cnn": "fig11_test_acc", "fcnn": "fig12_test_acc"}


def digitized_figure(name: str) -> int | None:
    """The paper's figure read off its PDF that shows experiment ``name`` at its plot_sigma:
    the number of the figure of :data:`FIGURES` that draws ``name`` alone, if it was
    digitized (App. Figs. 7-10, Fig. 6); None otherwise."""
    for spec in FIGURES.values():
        if spec.experiments == (name,) and spec.number in digitized.FIGURES:
            return spec.number
    return None


@functools.cache
def _paper_experiments() -> dict:
    return yaml.safe_load(PAPER_CONFIG.read_text())["networks"]["experiments"]


def axis_differences(name: str, experiment: dict) -> list[str]:
    """The settings of :data:`AXIS_SETTINGS` in which ``experiment`` differs from the paper's
    run of ``name`` (config/paper.yaml), as 'dataset digits (the paper: fashion_mnist)'."""
    paper = _paper_experiments().get(name, {})
    # None and 0 both mean "all" (train_subset) or "full batch" (batch_size)
    return [f"{key} {experiment.get(key) or 'all'} (the paper: {paper.get(key) or 'all'})"
            for key in AXIS_SETTINGS if (experiment.get(key) or None) != (paper.get(key) or None)]


def same_axes(name: str, experiment: dict) -> bool:
    """Whether our runs of ``name`` can be drawn on the paper's axes (module docstring)."""
    return not axis_differences(name, experiment)


def paper_series(number: int, metric: str, scheme: str) -> pd.DataFrame:
    """One series of the paper's Fig. ``number``, every point read (ambiguous ones too, with a
    larger error), sorted by x: columns x (iteration; Fig. 6: sigma, 10 ** the log10 sigma
    read), y, read_low and read_high (y -+ the reading error of :func:`digitized.reading_error`,
    a line width at an ambiguous point, :func:`digitized.ambiguous_error`), band_low and
    band_high (the paper's own band or bar as it gives it, mean +- 1 std of its runs in App.
    Figs. 7-10 and +- s.e.m. in Fig. 6; NaN where it was not resolved)."""
    points = digitized.points(number)
    rows = points[(points.metric == metric) & (points.scheme == scheme)].sort_values("x")
    y = rows["y"].to_numpy()
    errors = [digitized.ambiguous_error(number, metric) if a
              else digitized.reading_error(number, metric) for a in rows["ambiguous"]]
    relative = np.array([kind == "relative" for kind, _ in errors])
    size = np.array([e for _, e in errors])
    low = np.where(relative, y / (1 + size), y - size)
    high = np.where(relative, y * (1 + size), y + size)
    x = rows["x"].to_numpy()
    return pd.DataFrame({"x": 10.0 ** x if number == 6 else x, "y": y, "read_low": low,
                         "read_high": high, "band_low": rows["y_low"].to_numpy(),
                         "band_high": rows["y_high"].to_numpy()})


def typed_readings(figure: str, name: str, sigma: float, experiment: dict, metric: str,
                   window: tuple[float, float] | None = None) -> list[tuple]:
    """The registry's readings of a figure that was not digitized, each at a known x:
    (scheme, x, low, high, registry key), low == high for a single value. Fig. 3: test
    accuracy near the end of its window (iteration ``window[1]`` x the run's length): plain GD,
    layer-wise and all-weights noise at ``sigma``; Figs. 5, 11, 12: the final
    test accuracy of each scheme at the run's last epoch, in the column at the paper's sigma
    (plot_sigma). Nothing else has a reading at a known x."""
    if metric != "test_acc":
        return []
    if figure == "fig3_mlp_sigma":
        x = window[1] * experiment["epochs"]
        gd = paper_numbers.value("fig3_test_acc")
        out = [("none", x, gd, gd, "fig3_test_acc")]
        for scheme in ("layer", "all"):
            key = f"fig3_{scheme}_test_acc"
            at = paper_numbers.value(key, at=sigma)
            out += [(scheme, x, at, at, key)] if at is not None else []
        return out
    key = FINAL_READINGS.get(name)
    if key is None or sigma != experiment["plot_sigma"]:
        return []
    return [(scheme, experiment["epochs"], v, v, key)
            for scheme, v in paper_numbers.value(key).items()]
