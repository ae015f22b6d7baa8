"""The measurements behind Fig. 1 and the variance-vs-width figure: Monte Carlo of the perturbed
loss (and of the stochastic gradient) of mean-field-initialized nets on the Fig. 2 data.

Sigma convention (the theory's): ``"all"`` = N(0, sigma^2) on every weight; ``"layer"`` = one
of the M weight matrices uniformly at random with N(0, M sigma^2).
"""

from __future__ import annotations

import numpy as np
import torch
from tqdm import tqdm

from noise_injection.variance.dynamics import planted_regression, run_dynamics
from noise_injection.variance.montecarlo import mean_field_weights, perturbed_statistics
from noise_injection.variance.fits import variance_with_se
from noise_injection.theory import (
    SCHEMES,
    linear_effective_risk_minimum,
    linear_smoothed_risk,
    predicted_width_exponents,
)

#: Nets of the width study: name -> (number of hidden layers, hidden activation).
NETS = {"linear1": (1, "linear"), "relu1": (1, "relu"), "relu3": (3, "relu")}


def stage_data(data: dict) -> tuple[np.ndarray, np.ndarray]:
    """The Fig. 2 data of the stage's ``data`` config section: X (n, dim), Y (n, 1)."""
    X, y = planted_regression(data["n"], data["dim"], data["coefficients"], data["seed"])
    return X, y[:, None]


def _init(widths: list[int], seed: int) -> list[torch.Tensor]:
    """Mean-field weights for layer sizes ``widths``; the stream depends on seed and widths."""
    return mean_field_weights(widths, torch.Generator().manual_seed(seed * 1_000_003 + sum(widths)))


def heatmap(X: np.ndarray, Y: np.ndarray, sigmas, widths, repetitions: int, seed: int) -> dict:
    """Fig. 1: Monte Carlo mean (and its standard error) of the perturbed loss of the
    one-hidden-layer linear net at mean-field init, with the exact closed form, for every
    (scheme, sigma, width). Arrays are indexed (scheme, sigma, width)."""
    shape = (len(SCHEMES), len(sigmas), len(widths))
    mean, se, exact = np.empty(shape), np.empty(shape), np.empty(shape)
    generator = torch.Generator().manual_seed(seed)
    for k, width in enumerate(tqdm(widths, desc="heat map widths")):
        W1, W2 = (W.numpy() for W in _init([X.shape[1], width, Y.shape[1]], seed))
        for i, scheme in enumerate(SCHEMES):
            for j, sigma in enumerate(sigmas):
                losses = perturbed_statistics([W1, W2], X, Y, sigma, scheme, "linear",
                                              repetitions, generator, with_gradients=False)["losses"]
                mean[i, j, k] = losses.mean()
                se[i, j, k] = losses.std(ddof=1) / np.sqrt(repetitions)
                exact[i, j, k] = linear_smoothed_risk(W1, W2, X, Y, sigma, scheme)
    return {"schemes": list(SCHEMES), "sigmas": list(sigmas), "widths": list(widths),
            "mc_mean": mean, "mc_se": se, "exact": exact}


def width_sweep(net: str, X: np.ndarray, Y: np.ndarray, widths, sigma: float, samples: int,
                seed: int) -> dict:
    """Variance of the perturbed loss and tr Cov of the stochastic gradient vs the hidden
    width (all hidden layers of width d), per scheme, at mean-field init. Arrays are indexed
    (scheme, width); ``predicted`` holds the theory's leading exponents."""
    hidden_layers, activation = NETS[net]
    loss_var = np.empty((len(SCHEMES), len(widths)))
    loss_var_se, grad_trace = np.empty_like(loss_var), np.empty_like(loss_var)
    generator = torch.Generator().manual_seed(seed)
    for k, width in enumerate(widths):
        weights = _init([X.shape[1], *[width] * hidden_layers, Y.shape[1]], seed)
        for i, scheme in enumerate(SCHEMES):
            stats = perturbed_statistics(weights, X, Y, sigma, scheme, activation, samples,
                                         generator, progress=True)
            loss_var[i, k], loss_var_se[i, k] = variance_with_se(stats["losses"])
            grad_trace[i, k] = stats["grad_trace_cov"]
    return {"net": net, "hidden_layers": hidden_layers, "activation": activation,
            "schemes": list(SCHEMES), "widths": list(widths), "loss_variance": loss_var,
            "loss_variance_se": loss_var_se, "grad_trace_cov": grad_trace,
            "predicted": predicted_width_exponents(hidden_layers + 1, activation)}


def stall_sweep(X: np.ndarray, Y: np.ndarray, width: int, sigmas, lr: float, iterations: int,
                seeds: list[int], noise_seed: int, records: np.ndarray) -> dict:
    """The stall figure at one width: the Fig. 2 dynamics of layer-wise and all-weights noise
    (batched over both schemes and the seeds) at every sigma of ``sigmas``, each sigma with
    its own noise stream (``noise_seed`` + its index). Arrays ``risk`` and
    ``effective_risk`` are indexed (sigma, method, seed, record); ``effective_risk_minimum``
    is the closed-form min R_eff per sigma; ``diverged`` (sigma, method, seed)."""
    runs = [run_dynamics(X, Y[:, 0], width, sigma, lr, iterations, seeds, noise_seed + i,
                         records, methods=("layer", "all"), progress=False)
            for i, sigma in enumerate(sigmas)]
    return {"width": width, "sigmas": list(sigmas), "methods": ["layer", "all"],
            "seeds": list(seeds), "iterations": np.asarray(records).tolist(),
            "risk": np.stack([r["risk"] for r in runs]),
            "effective_risk": np.stack([r["effective_risk"] for r in runs]),
            "diverged": np.stack([r["diverged"] for r in runs]),
            "effective_risk_minimum": [linear_effective_risk_minimum(X, Y, s) for s in sigmas]}
