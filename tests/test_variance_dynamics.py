"""The batched dynamics of Fig. 2 (theory's sigma: all = std sigma on every weight, layer = one
of the two layers at random with std sqrt(2) sigma)."""

import numpy as np
import pytest
import torch

from noise_injection.variance.dynamics import (
    METHODS,
    advance,
    planted_regression,
    record_iterations,
    run_dynamics,
)
from noise_injection.variance.montecarlo import perturbed_statistics
from noise_injection.theory import linear_effective_risk_minimum, linear_smoothed_risk


def _one_step_updates(W1, w, X, y, sigma, method, copies, seed):
    """-(stochastic gradient) of ``copies`` independent single steps (lr = 1) from (W1, w)."""
    n = X.shape[0]
    W1s, ws = np.repeat(W1[None], copies, 0), np.repeat(w[None], copies, 0)
    kinds = np.full(copies, METHODS.index(method), dtype=np.int64)
    advance(W1s, ws, kinds, X.T @ X / n, X.T @ y / n, sigma, 1.0, 1,
            torch.Generator().manual_seed(seed))
    return np.concatenate([(W1s - W1).reshape(copies, -1), ws - w], axis=1)


def _numerical_gradient(f, x, h=1e-6):
    grad = np.zeros_like(x)
    for i in range(x.size):
        e = np.zeros_like(x)
        e.flat[i] = h
        grad.flat[i] = (f(x + e) - f(x - e)) / (2 * h)
    return grad


@pytest.mark.parametrize("method", ["all", "layer"])
def test_one_step_matches_the_law_of_full_noise(method):
    # The conditional sampling of E1 must give the gradient law of drawing all of E1: its mean
    # is the gradient of the exact smoothed loss, its covariance trace that of the naive draw.
    X, y = planted_regression(10, 3, [1.0, -0.5], seed=0)
    rng = np.random.default_rng(1)
    d1, sigma, copies = 4, 0.3, 40_000
    W1, w = 0.5 * rng.standard_normal((d1, 3)), 0.5 * rng.standard_normal(d1)
    updates = _one_step_updates(W1, w, X, y, sigma, method, copies, seed=2)

    def smoothed(flat):
        return linear_smoothed_risk(flat[: 3 * d1].reshape(d1, 3), flat[3 * d1:][None], X,
                                    y[:, None], sigma, method)

    expected = -_numerical_gradient(smoothed, np.concatenate([W1.ravel(), w]))
    z = (updates.mean(0) - expected) / (updates.std(0, ddof=1) / np.sqrt(copies))
    assert np.max(np.abs(z)) < 4.0, z
    naive = perturbed_statistics([W1, w[None]], X, y[:, None], sigma, method, "linear", copies,
                                 torch.Generator().manual_seed(3))["grad_trace_cov"]
    trace = np.sum(updates.var(0, ddof=1))
    # Each estimate has relative std at most sqrt(2 / (copies - 1)).
    assert trace == pytest.approx(naive, rel=4 * np.sqrt(2) * np.sqrt(2 / (copies - 1)))


def test_zero_sigma_noise_methods_equal_gradient_descent_bit_for_bit():
    X, y = planted_regression(12, 4, [1.0, 1.0], seed=0)
    out = run_dynamics(X, y, width=6, sigma=0.0, lr=0.1, iterations=300, seeds=[0, 1],
                       noise_seed=5, records=record_iterations(300, 5), progress=False)
    risk = out["risk"]
    assert np.array_equal(risk[METHODS.index("layer")], risk[METHODS.index("gd")])
    assert np.array_equal(risk[METHODS.index("all")], risk[METHODS.index("gd")])
    assert risk[0, :, -1].max() < 1e-3 * risk[0, :, 0].min()


def test_gradient_descent_on_effective_risk_reaches_its_convex_minimum():
    X, y = planted_regression(20, 5, [1.0, 1.0], seed=1)
    sigma = 0.2
    out = run_dynamics(X, y, width=8, sigma=sigma, lr=0.1, iterations=20_000, seeds=[0],
                       noise_seed=0, records=np.array([0, 20_000]), methods=("reff",),
                       progress=False)
    minimum = linear_effective_risk_minimum(X, y[:, None], sigma)
    assert out["effective_risk"][0, 0, -1] == pytest.approx(minimum, rel=1e-8)
