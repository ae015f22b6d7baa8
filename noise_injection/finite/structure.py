"""The structure PGD must recover: support (Lasso), active groups (group Lasso) and rank
(nuclear norm), from the magnitudes of a predictor's components. Numpy only."""

from __future__ import annotations

import numpy as np


def relabel_groups(groups, d: int) -> tuple[np.ndarray, int]:
    """Group ids (one per column, any integers) -> indices 0..G-1 and G."""
    groups = np.asarray(groups)
    if groups.shape != (d,):
        raise ValueError(f"groups must hold one id per column ({d}), got shape {groups.shape}")
    _, first, inverse = np.unique(groups, return_index=True, return_inverse=True)
    order = np.argsort(np.argsort(first))
    return order[inverse], len(first)


def structure(model: str, data: dict, predictor: np.ndarray) -> np.ndarray:
    """The magnitudes whose nonzeros define the structure: |beta_i| (support), the group
    norms ||beta_j|| (active groups) or the singular values of M (rank, largest first)."""
    if model == "lasso":
        return np.abs(predictor)
    if model == "group_lasso":
        index, num_groups = relabel_groups(data["groups"], len(predictor))
        return np.sqrt(np.bincount(index, weights=predictor**2, minlength=num_groups))
    return np.linalg.svd(predictor, compute_uv=False)


def structures(model: str, data: dict, predictors: np.ndarray, batch_dims: int) -> np.ndarray:
    """``structure`` over the first ``batch_dims`` axes of a stack of predictors."""
    lead = predictors.shape[:batch_dims]
    flat = predictors.reshape(-1, *predictors.shape[batch_dims:])
    return np.stack([structure(model, data, p) for p in flat]).reshape(*lead, -1)


def active(magnitudes: np.ndarray, scale, tol: float) -> np.ndarray:
    """Which magnitudes count as nonzero: above ``tol`` times ``scale`` (the reference's
    largest magnitude, so PGD and reference are cut at the same level)."""
    return magnitudes > tol * np.asarray(scale)
