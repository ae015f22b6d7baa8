"""Monte Carlo of the perturbed loss and of its gradient for bias-free MLPs, batched over noise
draws (torch, CPU, float64 arithmetic on float32 draws).

The net has layers W_j of shape (d_j, d_{j-1}), hidden activation "linear" or "relu", output
Z_M = W_M act(... act(W_1 X^T)) and loss ||Y^T - Z_M||_F^2 / (2n), as in
:mod:`noise_injection.theory`.

Sigma convention (the theory's): ``"all"`` = N(0, sigma^2) on every weight; ``"layer"`` = one
of the M layers uniformly at random with N(0, M sigma^2), so both carry the same sigma^2
regularizer. Each draw gives the loss and the gradient at the perturbed weights, i.e. one
sample of the stochastic gradient of perturbed gradient descent.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import torch
from tqdm import tqdm

from noise_injection.theory import SCHEMES

ACTIVATIONS = ("linear", "relu")
#: Most float64 numbers held by the perturbed weights of one chunk of draws.
CHUNK_ELEMENTS = 20_000_000


def mean_field_weights(widths: Sequence[int], generator: torch.Generator) -> list[torch.Tensor]:
    """Mean-field initialization: W_j entries i.i.d. N(0, 1/(d_j d_{j-1})), so ||W_j||_F ~ 1.
    ``widths`` = (d_0, d_1, ..., d_M); float64."""
    return [
        torch.randn(d_out, d_in, generator=generator, dtype=torch.float32).double()
        / math.sqrt(d_out * d_in)
        for d_in, d_out in zip(widths[:-1], widths[1:])
    ]


def _noise_scales(num_layers: int, sigma: float, scheme: str, count: int,
                  generator: torch.Generator) -> torch.Tensor:
    """(count, M) noise std per draw and layer: sigma everywhere (all), or sqrt(M) sigma on one
    uniformly chosen layer and 0 elsewhere (layer)."""
    if scheme == "all":
        return torch.full((count, num_layers), float(sigma), dtype=torch.float64)
    chosen = torch.randint(num_layers, (count,), generator=generator)
    scales = torch.zeros(count, num_layers, dtype=torch.float64)
    scales[torch.arange(count), chosen] = math.sqrt(num_layers) * sigma
    return scales


def _perturb(W: torch.Tensor, scales: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
    """(count, d_out, d_in) copies of W, each plus scale * N(0, 1) noise; noise is drawn only
    for the draws whose scale is nonzero."""
    hit = torch.nonzero(scales).flatten()
    noise = torch.randn(len(hit), *W.shape, generator=generator, dtype=torch.float32).double()
    noise *= scales[hit, None, None]
    if len(hit) == len(scales):
        return noise.add_(W)
    return W.expand(len(scales), *W.shape).clone().index_add_(0, hit, noise)


def _forward_backward(weights: list[torch.Tensor], X: torch.Tensor, Y: torch.Tensor,
                      activation: str, with_gradients: bool):
    """Per-draw losses (count,) and per-draw gradients [(count, d_j, d_{j-1})] at the batched
    weights, by explicit backpropagation."""
    n = X.shape[0]
    if activation == "linear" and not with_gradients:
        # Multiply the weights first: O(d_1 d_0) per draw instead of O(d_1 d_0 n).
        product = weights[0]
        for W in weights[1:]:
            product = W @ product
        return ((product @ X.T - Y.T) ** 2).sum(dim=(1, 2)) / (2 * n), None
    inputs = [X.T]
    pre = []
    for j, W in enumerate(weights):
        z = W @ inputs[-1]
        pre.append(z)
        if j < len(weights) - 1:
            inputs.append(torch.relu(z) if activation == "relu" else z)
    residual = pre[-1] - Y.T
    losses = (residual**2).sum(dim=(1, 2)) / (2 * n)
    if not with_gradients:
        return losses, None
    grads = [None] * len(weights)
    delta = residual / n
    for j in reversed(range(len(weights))):
        grads[j] = delta @ inputs[j].transpose(-1, -2)
        if j:
            delta = weights[j].transpose(1, 2) @ delta
            if activation == "relu":
                delta = delta * (pre[j - 1] > 0)
    return losses, grads


def perturbed_statistics(weights: Sequence[torch.Tensor], X: np.ndarray, Y: np.ndarray,
                         sigma: float, scheme: str, activation: str, n_samples: int,
                         generator: torch.Generator, with_gradients: bool = True,
                         progress: bool = False) -> dict:
    """Monte Carlo over ``n_samples`` noise draws (theory's sigma convention, see module doc).

    Returns ``losses`` (the per-draw perturbed losses, numpy) and, with gradients,
    ``grad_trace_cov``: the unbiased estimate of tr Cov of the stochastic gradient
    (sum_s ||g_s||^2 - S ||g_mean||^2) / (S - 1) over all weights.
    """
    if scheme not in SCHEMES:
        raise ValueError(f"scheme must be one of {SCHEMES}, got {scheme!r}")
    if activation not in ACTIVATIONS:
        raise ValueError(f"activation must be one of {ACTIVATIONS}, got {activation!r}")
    if n_samples < 2:
        raise ValueError("n_samples must be >= 2 to estimate a variance")
    weights = [torch.as_tensor(W, dtype=torch.float64) for W in weights]
    X = torch.as_tensor(X, dtype=torch.float64)
    Y = torch.as_tensor(Y, dtype=torch.float64)
    chunk = max(1, CHUNK_ELEMENTS // sum(W.numel() for W in weights))
    losses, grad_sum, grad_sq = [], [torch.zeros_like(W) for W in weights], 0.0
    for start in tqdm(range(0, n_samples, chunk), disable=not progress, leave=False,
                      desc=f"{scheme} {activation} M={len(weights)}"):
        count = min(chunk, n_samples - start)
        scales = _noise_scales(len(weights), sigma, scheme, count, generator)
        perturbed = [_perturb(W, scales[:, j], generator) for j, W in enumerate(weights)]
        batch_losses, grads = _forward_backward(perturbed, X, Y, activation, with_gradients)
        losses.append(batch_losses)
        if with_gradients:
            for total, g in zip(grad_sum, grads):
                total += g.sum(dim=0)
            grad_sq += float(sum((g**2).sum() for g in grads))
    out = {"losses": torch.cat(losses).numpy()}
    if with_gradients:
        mean_sq = float(sum((total**2).sum() for total in grad_sum)) / n_samples
        out["grad_trace_cov"] = (grad_sq - mean_sq) / (n_samples - 1)
    return out
