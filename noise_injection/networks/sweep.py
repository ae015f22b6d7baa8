"""The FashionMNIST width sweep (beyond the paper; config ``networks.width_sweep``,
docs/width_sweep.md): what the smoothed-loss expansion predicts for where each noise scheme
breaks as the MLP widens.

Sigma convention (the experiments'): ``sigma`` is the layer-wise std (one parameter tensor per
step); all-weights noise has std sigma/sqrt(M) on every tensor, M = number of parameter tensors,
so both schemes inject the same expected squared norm (equal first-order regularization).

The prediction is made at the initialization, where everything is known before any run: the
excess of the smoothed training loss over the clean one,

    excess(sigma, w) = E_eps[ L(theta + eps) ] - L(theta),

for the scheme's noise eps (layer-wise: the average over the M tensors of perturbing that one
tensor, which is what a cyclic sweep does over M steps; all-weights: every tensor at once),
estimated by Monte Carlo with common random numbers across sigmas. To first order both schemes
give (sigma^2 / (2M)) tr Hess L (the paper's regularizer); all-weights noise adds the
cross-layer terms of order sigma^4 and up (Sec. 3's sigma^4 d1 d2 term in the linear case).
``level_sigma`` turns a curve of excess against sigma into the sigma at which the excess reaches
a given level; its slope in log width is the predicted slope of the breaking point.
"""

from __future__ import annotations

import functools
import json
import math
from pathlib import Path

import numpy as np

#: The prediction at initialization, cached: the excess curves that
#: benchmarks/width_sweep_prediction.py wrote with ``--write`` before the sweep ran (its
#: command is in the file); :func:`predicted_slopes` turns them into W3's predicted slopes.
PREDICTION = Path(__file__).resolve().parents[2] / "config" / "width_sweep_prediction.json"
#: The paper's mean-field picture (Sec. 3, docs/width_sweep.md): breaking where the excess
#: reaches a fixed size, the layer-wise excess (first order, sigma^2 times a Jacobian norm
#: that does not grow with width) gives an onset flat in width, and the all-weights
#: sigma^4 d1 term one with sigma*^4 d1 fixed, sigma* ~ d1^(-1/4).
MEAN_FIELD_SLOPES = {"layer": 0.0, "all": -1.0 / 4.0}


def smoothed_excess(model: torch.nn.Module, x: torch.Tensor, y: torch.Tensor,
                    sigmas, scheme: str, draws: int, seed: int = 0) -> np.ndarray:
    """Monte-Carlo estimate of E_eps[L(theta + eps)] - L(theta) (mean cross-entropy on
    ``(x, y)``, eval mode) at each sigma of ``sigmas`` for ``scheme`` "layer" (every tensor
    in turn, ``draws`` draws each, averaged over the M tensors) or "all" (``draws`` draws of
    all tensors at once, std sigma/sqrt(M)). The same standard-normal draws serve every sigma
    (common random numbers), so the curve is smooth in sigma. (torch is imported here, so
    that the analysis of the sweep's runs, which uses the rest of this module, does not.)"""
    import torch
    from torch.nn import functional as F

    model.eval()
    params = [p for p in model.parameters() if p.requires_grad]
    M = len(params)
    gen = torch.Generator().manual_seed(seed)
    groups = [[j] for j in range(M)] if scheme == "layer" else [list(range(M))]
    scale = 1.0 if scheme == "layer" else 1.0 / math.sqrt(M)
    out = np.zeros(len(sigmas))
    with torch.no_grad():
        clean = float(F.cross_entropy(model(x), y))
        originals = [p.detach().clone() for p in params]
        try:
            for group in groups:
                for _ in range(draws):
                    noise = {j: torch.randn(params[j].shape, generator=gen) for j in group}
                    for k, sigma in enumerate(sigmas):
                        for j in group:
                            params[j].copy_(originals[j] + (sigma * scale) * noise[j])
                        out[k] += float(F.cross_entropy(model(x), y)) - clean
                    for j in group:
                        params[j].copy_(originals[j])
        finally:
            for p, original in zip(params, originals):
                p.copy_(original)
    return out / (len(groups) * draws)


def level_sigma(sigmas, excess, level: float) -> float:
    """The sigma at which ``excess`` (increasing in sigma on the grid) first reaches ``level``,
    interpolated linearly in (log sigma, log excess); nan when the grid never reaches it and
    the first sigma when it starts above it."""
    sigmas, excess = np.asarray(sigmas, float), np.asarray(excess, float)
    above = np.nonzero(excess >= level)[0]
    if not len(above):
        return math.nan
    i = int(above[0])
    if i == 0:
        return float(sigmas[0])
    lo, hi = max(excess[i - 1], 1e-300), excess[i]
    t = (math.log(level) - math.log(lo)) / (math.log(hi) - math.log(lo))
    return float(math.exp(math.log(sigmas[i - 1]) + t * (math.log(sigmas[i]) -
                                                         math.log(sigmas[i - 1]))))


def loglog_slope(widths, values) -> float:
    """Least-squares slope of log(values) against log(widths) (finite values only)."""
    w, v = np.asarray(widths, float), np.asarray(values, float)
    keep = np.isfinite(v) & (v > 0)
    if keep.sum() < 2:
        return math.nan
    return float(np.polyfit(np.log(w[keep]), np.log(v[keep]), 1)[0])


@functools.cache
def load_prediction(path: str | Path = PREDICTION) -> dict:
    """The cached prediction at initialization (:data:`PREDICTION`), checked: every width of
    every run has an excess curve per scheme on the file's sigma grid; ValueError naming the
    file and the key otherwise."""
    data = json.loads(Path(path).read_text())
    for key in ("sigmas", "excess", "runs"):
        if key not in data:
            raise ValueError(f"{path}: no key {key!r}; written by "
                             "benchmarks/width_sweep_prediction.py --write")
    for run in data["runs"]:
        for width in run["widths"]:
            for scheme in MEAN_FIELD_SLOPES:
                curve = data["excess"].get(str(width), {}).get(scheme)
                if curve is None or len(curve) != len(data["sigmas"]):
                    raise ValueError(f"{path}: excess.{width}.{scheme} is missing or not on "
                                     f"the {len(data['sigmas'])}-point sigma grid")
    return data


def predicted_slopes(prediction: dict | None = None) -> dict:
    """W3's predicted slopes of log sigma_c in log width from the prediction at
    initialization: per run of the file (a set of widths) and level of the excess, per scheme
    the :func:`loglog_slope` over the run's widths of :func:`level_sigma`. The levels used are
    those that every width of every run reaches inside the sigma grid (a level some width
    never reaches gives a slope over fewer widths); the prediction per scheme is the range of
    the used slopes over runs and levels (their spread is the Monte-Carlo error) and its
    centre (their mean). Returns {"runs": [{"widths", "slopes": {level: {scheme: slope}}}],
    "levels": used levels, "range": {scheme: (low, high)}, "centre": {scheme: slope}}."""
    prediction = prediction or load_prediction()
    sigmas = prediction["sigmas"]
    runs, usable = [], None
    for run in prediction["runs"]:
        slopes, inside = {}, set()
        for level in run["levels"]:
            at = {scheme: [level_sigma(sigmas, prediction["excess"][str(w)][scheme], level)
                           for w in run["widths"]] for scheme in MEAN_FIELD_SLOPES}
            slopes[level] = {scheme: loglog_slope(run["widths"], at[scheme]) for scheme in at}
            if all(math.isfinite(v) and v > sigmas[0] for vs in at.values() for v in vs):
                inside.add(level)
        runs.append({"widths": list(run["widths"]), "slopes": slopes})
        usable = inside if usable is None else usable & inside
    levels = sorted(usable or ())
    used = {s: [r["slopes"][lv][s] for r in runs for lv in levels] for s in MEAN_FIELD_SLOPES}
    return {"runs": runs, "levels": levels,
            "range": {s: (min(v), max(v)) for s, v in used.items()},
            "centre": {s: float(np.mean(v)) for s, v in used.items()}}
