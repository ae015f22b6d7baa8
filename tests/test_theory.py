"""Closed forms of section 3 (theory's sigma: all = std sigma on every weight, layer = one of
the M layers at random with std sqrt(M) sigma) against Monte Carlo and against each other."""

import numpy as np
import pytest
import scipy.optimize
import torch

from noise_injection.variance.montecarlo import _forward_backward, mean_field_weights, perturbed_statistics
from noise_injection.theory import (
    deep_linear_smoothed_risk,
    linear_effective_risk,
    linear_effective_risk_minimum,
    linear_smoothed_risk,
    relu_layerwise_risk,
)


def _problem(widths, n=12, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, widths[0]))
    Y = rng.standard_normal((n, widths[-1]))
    gen = torch.Generator().manual_seed(seed)
    # A larger init than mean-field, so that every term of the closed forms matters.
    weights = [3 * W.numpy() for W in mean_field_weights(widths, gen)]
    return weights, X, Y


def _assert_within_3_se(losses, exact):
    se = losses.std(ddof=1) / np.sqrt(len(losses))
    assert abs(losses.mean() - exact) < 3 * se, (losses.mean(), exact, se)


@pytest.mark.parametrize("scheme", ["all", "layer"])
def test_one_hidden_linear_matches_monte_carlo(scheme):
    (W1, W2), X, Y = _problem((4, 6, 2))
    exact = linear_smoothed_risk(W1, W2, X, Y, 0.4, scheme)
    mc = perturbed_statistics([W1, W2], X, Y, 0.4, scheme, "linear", 40_000,
                              torch.Generator().manual_seed(1), with_gradients=False)
    _assert_within_3_se(mc["losses"], exact)


def test_one_hidden_linear_terms_are_the_papers():
    (W1, W2), X, Y = _problem((4, 6, 2))
    sigma, n, (d2, d1) = 0.3, X.shape[0], W2.shape
    loss = np.sum((Y.T - W2 @ W1 @ X.T) ** 2) / (2 * n)
    r_eff = loss + sigma**2 / (2 * n) * (d2 * np.sum((W1 @ X.T) ** 2)
                                         + np.sum(W2**2) * np.sum(X**2))
    assert linear_effective_risk(W1, W2, X, Y, sigma) == pytest.approx(r_eff, rel=1e-12)
    explosion = sigma**4 * d1 * d2 * np.sum(X**2) / (2 * n)
    assert linear_smoothed_risk(W1, W2, X, Y, sigma, "all") == pytest.approx(
        r_eff + explosion, rel=1e-12)


@pytest.mark.parametrize("scheme", ["all", "layer"])
def test_deep_linear_matches_monte_carlo(scheme):
    weights, X, Y = _problem((3, 5, 4, 6, 2))
    exact = deep_linear_smoothed_risk(weights, X, Y, 0.3, scheme)
    mc = perturbed_statistics(weights, X, Y, 0.3, scheme, "linear", 40_000,
                              torch.Generator().manual_seed(2), with_gradients=False)
    _assert_within_3_se(mc["losses"], exact)


def test_relu_layerwise_matches_monte_carlo_at_an_interpolating_point():
    # Y = the clean output, so L(w) = 0 and the loss of a draw is the regularizer alone; the
    # O(sigma^3) kink-crossing correction is far below the Monte Carlo error at this sigma.
    (W1, W2), X, _ = _problem((4, 8, 2))
    Y = (W2 @ np.maximum(W1 @ X.T, 0)).T
    sigma = 1e-3
    exact = relu_layerwise_risk(W1, W2, X, Y, sigma)
    mc = perturbed_statistics([W1, W2], X, Y, sigma, "layer", "relu", 40_000,
                              torch.Generator().manual_seed(3), with_gradients=False)
    _assert_within_3_se(mc["losses"], exact)
    assert exact > 0


def test_manual_backprop_equals_autograd():
    weights, X, Y = _problem((3, 5, 4, 2))
    batched = [torch.tensor(W)[None].repeat(2, 1, 1) + 0.1 * k for k, W in enumerate(weights)]
    for W in batched:
        W.requires_grad_(True)
    for activation in ("linear", "relu"):
        losses, grads = _forward_backward(batched, torch.tensor(X), torch.tensor(Y),
                                          activation, True)
        expected = torch.autograd.grad(losses.sum(), batched)
        for g, e in zip(grads, expected):
            torch.testing.assert_close(g, e, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("scheme", ["all", "layer"])
def test_gradient_covariance_trace_of_a_linear_model(scheme):
    # One layer (M = 1): the gradient (W' X^T - Y^T) X / n is affine in the noise, with
    # tr Cov = sigma^2 d_out ||X^T X / n||_F^2 for both schemes (sqrt(1) sigma on the layer).
    (W,), X, Y = _problem((3, 2))
    sigma, n = 0.5, X.shape[0]
    exact = sigma**2 * W.shape[0] * np.sum((X.T @ X / n) ** 2)
    stats = perturbed_statistics([W], X, Y, sigma, scheme, "linear", 20_000,
                                 torch.Generator().manual_seed(4))
    # Estimating a covariance trace from S Gaussian draws: relative std at most sqrt(2/(S-1)).
    assert stats["grad_trace_cov"] == pytest.approx(exact, rel=3 * np.sqrt(2 / 19_999))


def test_effective_risk_minimum_equals_numerical_minimum():
    rng = np.random.default_rng(5)
    n, d0, d1, d2, sigma = 20, 5, 6, 2, 0.4
    X = rng.standard_normal((n, d0))
    Y = X @ rng.standard_normal((d0, d2)) + 0.1 * rng.standard_normal((n, d2))

    def objective(flat):
        W1, W2 = flat[: d1 * d0].reshape(d1, d0), flat[d1 * d0:].reshape(d2, d1)
        return linear_effective_risk(W1, W2, X, Y, sigma)

    best = min(scipy.optimize.minimize(objective, rng.standard_normal(d1 * (d0 + d2)),
                                       method="L-BFGS-B", options={"gtol": 1e-12}).fun
               for _ in range(3))
    assert linear_effective_risk_minimum(X, Y, sigma) == pytest.approx(best, rel=1e-6)
