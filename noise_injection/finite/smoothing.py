"""Monte-Carlo check of the exact smoothed risks of the finite-dimensional models.

For a fixed parameter vector theta, the Monte-Carlo estimate of
R_sigma(theta) = E_eps R(theta + sigma eps), eps ~ N(0, I) on EVERY parameter (sigma = the
theory's per-coordinate std), is compared with the closed form R_eff(theta) + C(sigma) of
docs/paper.md section 2; the second-order expansion R + (sigma^2/2) tr Hess R (= R_eff for these
models, whose predictions have no curvature along single coordinates) misses C(sigma).
"""

from __future__ import annotations

import numpy as np
import torch

from noise_injection.finite.models import DTYPE, FiniteModel


def monte_carlo_smoothed_risk(model: FiniteModel, theta, sigma: float, draws: int,
                              seed: int, chunk: int = 10000) -> tuple[float, float]:
    """Mean of R(theta + sigma eps) over ``draws`` i.i.d. draws and its standard error."""
    theta = torch.as_tensor(np.asarray(theta, dtype=np.float64), dtype=DTYPE)
    generator = torch.Generator().manual_seed(int(seed))
    total, total_sq, done = 0.0, 0.0, 0
    while done < draws:
        size = min(chunk, draws - done)
        eps = torch.randn(size, model.num_params, generator=generator, dtype=DTYPE)
        values = model.loss(theta + sigma * eps)
        total += float(values.sum())
        total_sq += float((values**2).sum())
        done += size
    mean = total / draws
    variance = max(total_sq / draws - mean**2, 0.0) * draws / (draws - 1)
    return mean, float(np.sqrt(variance / draws))


def closed_forms(model: FiniteModel, theta, sigma: float) -> dict[str, float]:
    """R(theta), R_eff(theta) (= the second-order expansion) and R_sigma = R_eff + C."""
    theta = torch.as_tensor(np.asarray(theta, dtype=np.float64), dtype=DTYPE)[None]
    return {
        "loss": float(model.loss(theta)[0]),
        "effective": float(model.effective_risk(theta, sigma)[0]),
        "smoothed": float(model.smoothed_risk(theta, sigma)[0]),
    }


def smoothing_check(model: FiniteModel, theta, sigmas, draws: int, seed: int) -> list[dict]:
    """One row per sigma: closed forms, Monte-Carlo mean, its standard error, and the
    z-score (Monte Carlo - closed form) / standard error of the exact and the 2nd-order form."""
    rows = []
    for sigma in sigmas:
        mean, se = monte_carlo_smoothed_risk(model, theta, float(sigma), draws, seed)
        forms = closed_forms(model, theta, float(sigma))
        rows.append({
            "model": model.name, "sigma": float(sigma), "draws": int(draws), **forms,
            "monte_carlo": mean, "standard_error": se,
            "z_exact": (mean - forms["smoothed"]) / se,
            "z_second_order": (mean - forms["effective"]) / se,
        })
    return rows


def random_point(model: FiniteModel, seed: int, scale: float) -> np.ndarray:
    """A generic parameter vector: i.i.d. N(0, scale^2) entries from ``seed``."""
    generator = torch.Generator().manual_seed(int(seed))
    return (scale * torch.randn(model.num_params, generator=generator, dtype=DTYPE)).numpy()
