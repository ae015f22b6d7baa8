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

import math

import numpy as np
import torch
from torch.nn import functional as F

from noise_injection.perturb import NoiseInjector


@torch.no_grad()
def smoothed_excess(model: torch.nn.Module, x: torch.Tensor, y: torch.Tensor,
                    sigmas, scheme: str, draws: int, seed: int = 0) -> np.ndarray:
    """Monte-Carlo estimate of E_eps[L(theta + eps)] - L(theta) (mean cross-entropy on
    ``(x, y)``, eval mode) at each sigma of ``sigmas`` for ``scheme`` "layer" (every tensor
    in turn, ``draws`` draws each, averaged over the M tensors) or "all" (``draws`` draws of
    all tensors at once, std sigma/sqrt(M)). The same standard-normal draws serve every sigma
    (common random numbers), so the curve is smooth in sigma."""
    model.eval()
    clean = float(F.cross_entropy(model(x), y))
    params = [p for p in model.parameters() if p.requires_grad]
    M = len(params)
    gen = torch.Generator().manual_seed(seed)
    originals = [p.detach().clone() for p in params]
    groups = [[j] for j in range(M)] if scheme == "layer" else [list(range(M))]
    scale = 1.0 if scheme == "layer" else 1.0 / math.sqrt(M)
    out = np.zeros(len(sigmas))
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
