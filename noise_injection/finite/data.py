"""Seeded synthetic instances for the finite-dimensional models (docs/paper.md section 2).

``make_instance(model, cfg)`` builds the instance of one model from the ``finite`` section
of the workflow config. Each generator draws from ``np.random.default_rng(seed)`` and returns a dict of arrays:
the design X (n, d), the labels y (n,) or Y (n, d2), the planted solution, and for the group
model the group id of every column. Labels = X times the planted solution + N(0, noise^2).
"""

from __future__ import annotations

import numpy as np


def _normalized_columns(X: np.ndarray) -> np.ndarray:
    """Columns scaled to squared norm n, i.e. diag(X^T X / n) = 1."""
    return X * np.sqrt(X.shape[0] / (X**2).sum(0))


def _orthonormal_blocks(X: np.ndarray, sizes) -> np.ndarray:
    """Each block of consecutive columns replaced by sqrt(n) Q of its QR: X_j^T X_j / n = I."""
    blocks, start = [], 0
    for k in sizes:
        q, _ = np.linalg.qr(X[:, start : start + k])
        blocks.append(np.sqrt(X.shape[0]) * q)
        start += k
    return np.hstack(blocks)


def lasso_instance(n: int, d: int, sparsity: int, noise: float, seed: int,
                   normalize: bool = True) -> dict:
    """Gaussian X (n, d); planted beta with ``sparsity`` entries at random positions, random
    signs and magnitudes 1 .. 0.2 (evenly spaced, so they leave the Lasso path one by one).
    With ``normalize`` the columns have diag(X^T X / n) = 1."""
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, d))
    if normalize:
        X = _normalized_columns(X)
    planted = np.zeros(d)
    support = rng.choice(d, size=sparsity, replace=False)
    planted[support] = rng.choice([-1.0, 1.0], size=sparsity) * np.linspace(1.0, 0.2, sparsity)
    y = X @ planted + noise * rng.standard_normal(n)
    return {"X": X, "y": y, "planted": planted}


def group_lasso_instance(n: int, num_groups: int, group_size: int, active_groups: int,
                         noise: float, seed: int, normalize: bool = True) -> dict:
    """Gaussian X (n, G k) in G consecutive blocks of k columns; planted beta nonzero on
    ``active_groups`` random blocks, random directions with norms 1 .. 0.2 (evenly spaced). With ``normalize`` every
    block has X_j^T X_j / n = I_k (needs k <= n)."""
    rng = np.random.default_rng(seed)
    d = num_groups * group_size
    X = rng.standard_normal((n, d))
    if normalize:
        X = _orthonormal_blocks(X, [group_size] * num_groups)
    groups = np.repeat(np.arange(num_groups), group_size)
    planted = np.zeros(d)
    chosen = rng.choice(num_groups, size=active_groups, replace=False)
    for j, norm in zip(chosen, np.linspace(1.0, 0.2, active_groups)):
        u = rng.standard_normal(group_size)
        planted[groups == j] = norm * u / np.linalg.norm(u)
    y = X @ planted + noise * rng.standard_normal(n)
    return {"X": X, "y": y, "groups": groups, "planted": planted}


def nuclear_instance(n: int, d0: int, d2: int, rank: int, noise: float, seed: int,
                     whiten: bool = True) -> dict:
    """Gaussian X (n, d0); planted M (d2, d0) of the given rank with singular values
    rank, rank-1, ..., 1 and random singular vectors; Y = X M^T + noise. With ``whiten``
    X^T X / n = I (X = sqrt(n) Q, needs d0 <= n)."""
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, d0))
    if whiten:
        X = _orthonormal_blocks(X, [d0])
    u, _ = np.linalg.qr(rng.standard_normal((d2, rank)))
    v, _ = np.linalg.qr(rng.standard_normal((d0, rank)))
    planted = (u * np.arange(rank, 0, -1.0)) @ v.T
    Y = X @ planted.T + noise * rng.standard_normal((n, d2))
    return {"X": X, "Y": Y, "planted": planted}


def make_instance(model: str, cfg: dict) -> dict:
    """The seeded instance of ``model`` ("lasso", "group_lasso" or "nuclear") from the
    ``finite`` config section (sizes in ``cfg[model]``, seed ``cfg["data_seed"]``)."""
    c, noise, seed = cfg[model], cfg["noise"], cfg["data_seed"]
    if model == "lasso":
        return lasso_instance(c["n"], c["d"], c["sparsity"], noise, seed, c["normalize"])
    if model == "group_lasso":
        return group_lasso_instance(c["n"], c["num_groups"], c["group_size"],
                                    c["active_groups"], noise, seed, c["normalize"])
    if model == "nuclear":
        return nuclear_instance(c["n"], c["d0"], c["d2"], c["rank"], noise, seed, c["whiten"])
    raise ValueError(f"unknown model {model!r}")
