"""Closed forms of section 3 of docs/paper.md: the smoothed loss of linear and ReLU networks under
noise on all weights and under layer-wise noise.

Networks here have no biases: layer j is a matrix ``W_j`` of shape (d_j, d_{j-1}), the
predictions are ``W_M ... W_1 X^T`` (linear) or ``W_2 (W_1 X^T)_+`` (ReLU), labels ``Y`` are
(n, d_M) and the loss is ``L = ||Y^T - predictions||_F^2 / (2n)``.

Sigma convention (the theory's; the networks stage uses the other one):

- ``"all"``: every weight gets i.i.d. N(0, sigma^2) noise at once;
- ``"layer"``: one of the M layers, uniformly at random, gets N(0, M sigma^2) noise
  (std sqrt(M) sigma), so that both schemes add the same sigma^2 regularizer at second order.

All functions take numpy arrays and return floats, computed in float64.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

SCHEMES = ("all", "layer")


def _check_scheme(scheme: str) -> None:
    if scheme not in SCHEMES:
        raise ValueError(f"scheme must be one of {SCHEMES}, got {scheme!r}")


def _chain(weights: Sequence[np.ndarray], X: np.ndarray) -> list[np.ndarray]:
    """Hidden states of a linear chain: [X^T, W_1 X^T, W_2 W_1 X^T, ...]."""
    states = [np.asarray(X, dtype=np.float64).T]
    for W in weights:
        states.append(np.asarray(W, dtype=np.float64) @ states[-1])
    return states


def square_loss(predictions: np.ndarray, Y: np.ndarray) -> float:
    """L = ||Y^T - predictions||_F^2 / (2n), predictions of shape (d_M, n)."""
    Y = np.asarray(Y, dtype=np.float64)
    return float(np.sum((Y.T - predictions) ** 2) / (2 * Y.shape[0]))


def deep_linear_smoothed_risk(weights: Sequence[np.ndarray], X: np.ndarray, Y: np.ndarray,
                              sigma: float, scheme: str) -> float:
    """Exact E_eps L of the deep linear net W_M ... W_1 X^T under Gaussian weight noise.

    ``"layer"`` (one layer j uniformly at random, std sqrt(M) sigma): the perturbed output is
    affine in the noise, so

        R = L + (sigma^2 / (2n)) sum_j ||W_M..W_{j+1}||_F^2 ||W_{j-1}..W_1 X^T||_F^2.

    ``"all"`` (every weight, std sigma): with independent layers the second moment of the
    perturbed chain obeys G_j = W_j G_{j-1} W_j^T + sigma^2 tr(G_{j-1}) I_{d_j},
    G_0 = X^T X, and E||(W_M + sigma E_M)..(W_1 + sigma E_1) X^T||_F^2 = tr G_M; the cross
    term with Y is unchanged by the zero-mean noise. This contains every power of sigma up to
    sigma^{2M} d_1 ... d_M ||X||_F^2.
    """
    _check_scheme(scheme)
    states = _chain(weights, X)
    Y = np.asarray(Y, dtype=np.float64)
    n = Y.shape[0]
    if scheme == "layer":
        return square_loss(states[-1], Y) + sigma**2 * _layerwise_penalty(weights, states) / (2 * n)
    second_moment = states[0] @ states[0].T
    for W in weights:
        W = np.asarray(W, dtype=np.float64)
        second_moment = (W @ second_moment @ W.T
                         + sigma**2 * np.trace(second_moment) * np.eye(W.shape[0]))
    cross = np.sum(Y.T * states[-1])
    return float((np.sum(Y**2) - 2 * cross + np.trace(second_moment)) / (2 * n))


def _layerwise_penalty(weights: Sequence[np.ndarray], states: list[np.ndarray]) -> float:
    """sum_j ||W_M..W_{j+1}||_F^2 ||W_{j-1}..W_1 X^T||_F^2 (states from :func:`_chain`)."""
    after = np.eye(np.asarray(weights[-1]).shape[0])
    total = 0.0
    for j in reversed(range(len(weights))):
        total += np.sum(after**2) * np.sum(states[j] ** 2)
        after = after @ np.asarray(weights[j], dtype=np.float64)
    return float(total)


def linear_smoothed_risk(W1: np.ndarray, W2: np.ndarray, X: np.ndarray, Y: np.ndarray,
                         sigma: float, scheme: str) -> float:
    """Exact smoothed loss of the one-hidden-layer linear net W2 W1 X^T (docs/paper.md section 3).

    ``"all"`` (std sigma on every weight): R_eff + sigma^4 d1 d2 ||X||_F^2 / (2n);
    ``"layer"`` (one of the two layers at random, std sqrt(2) sigma): exactly R_eff, with
    R_eff = L + (sigma^2/(2n)) (d2 ||W1 X^T||_F^2 + ||W2||_F^2 ||X||_F^2).
    """
    return deep_linear_smoothed_risk([W1, W2], X, Y, sigma, scheme)


def linear_effective_risk(W1: np.ndarray, W2: np.ndarray, X: np.ndarray, Y: np.ndarray,
                          sigma: float) -> float:
    """R_eff of the one-hidden-layer linear net (theory's sigma; equal to the layer-wise
    smoothed loss)."""
    return linear_smoothed_risk(W1, W2, X, Y, sigma, "layer")


def relu_layerwise_risk(W1: np.ndarray, W2: np.ndarray, X: np.ndarray, Y: np.ndarray,
                        sigma: float) -> float:
    """Layer-wise regularized loss of the ReLU net W2 (W1 X^T)_+ (one of the two layers at
    random, std sqrt(2) sigma), to second order in sigma (the Gauss-Newton R_eff):

        L + (sigma^2/(2n)) d2 ||(W1 X^T)_+||_F^2
          + (sigma^2/(2n)) sum_{j,i} ||W2[:, j]||^2 1[(W1 X^T)_{ji} > 0] ||x_i||^2.

    The ||x_i||^2 factor is the appendix's correction of the main text. Noise on W2 enters
    linearly (exact); noise on W1 passes through the ReLU, so the smoothed loss differs from
    this by o(sigma^2) (kinks are crossed with probability O(sigma)).
    """
    X = np.asarray(X, dtype=np.float64)
    W1 = np.asarray(W1, dtype=np.float64)
    W2 = np.asarray(W2, dtype=np.float64)
    n = X.shape[0]
    pre = W1 @ X.T
    hidden = np.maximum(pre, 0.0)
    active = (pre > 0).astype(np.float64)
    first = W2.shape[0] * np.sum(hidden**2)
    second = np.sum(np.sum(W2**2, axis=0)[:, None] * active * np.sum(X**2, axis=1)[None, :])
    return square_loss(W2 @ hidden, Y) + sigma**2 * (first + second) / (2 * n)


def linear_effective_risk_minimum(X: np.ndarray, Y: np.ndarray, sigma: float) -> float:
    """min over W1, W2 of R_eff (theory's sigma), for any width d1 >= rank: the nuclear-norm
    problem min_Z ||Y^T - Z||_F^2/(2n) + (t/n) ||Z||_*, t = sigma^2 sqrt(d2) ||X||_F, over
    Z = M X^T. Its solution soft-thresholds the singular values s of the least-squares fit at
    t, so the minimum is ||Y - Y_hat||^2/(2n) + sum_s [(t s - t^2/2) if s > t else s^2/2]/n.
    """
    X = np.asarray(X, dtype=np.float64)
    Y = np.asarray(Y, dtype=np.float64)
    n, d2 = Y.shape
    t = sigma**2 * np.sqrt(d2) * np.linalg.norm(X)
    fitted = X @ np.linalg.lstsq(X, Y, rcond=None)[0]
    s = np.linalg.svd(fitted, compute_uv=False)
    per_value = np.where(s > t, t * s - t**2 / 2, s**2 / 2)
    return float((np.sum((Y - fitted) ** 2) / 2 + np.sum(per_value)) / n)


def predicted_width_exponents(num_layers: int, activation: str) -> dict[str, dict[str, float]]:
    """Leading power of the width d (all hidden widths = d, input and output fixed) of the
    variance of the perturbed loss and of the trace of the covariance of the stochastic
    gradient, at mean-field initialization (entries of W_j ~ N(0, 1/(d_j d_{j-1}))) and fixed
    sigma (theory's convention), as d -> infinity. Power counting:

    - ``"all"``: the product sigma^M E_M..E_1 X^T dominates the output; its squared norm grows
      like d^{M-1}, so the loss variance and the gradient covariance grow like d^{2(M-1)}.
    - ``"layer"``: the output moves by sqrt(M) sigma W_M..E_j..W_1 X^T; every extra mean-field
      factor in a product divides its squared norm by d, so the loss variance is O(1) for
      M = 2 and O(1/d) for M >= 3 (the clean output vanishes and the residual is the label);
      the gradient of a layer next to the perturbed one passes through a noise matrix of
      squared norm ~ d^2 and one mean-field factor: O(d).

    The exponents are the same for linear and ReLU hidden units (a ReLU halves the norms).
    """
    if activation not in ("linear", "relu"):
        raise ValueError(f"activation must be 'linear' or 'relu', got {activation!r}")
    if num_layers < 2:
        raise ValueError("the width exponents need at least one hidden layer (M >= 2)")
    return {
        "all": {"loss_variance": 2.0 * (num_layers - 1), "grad_trace": 2.0 * (num_layers - 1)},
        "layer": {"loss_variance": 0.0 if num_layers == 2 else -1.0, "grad_trace": 1.0},
    }
