"""The convex references: optimality conditions, agreement between independent solvers and
the closed forms of docs/paper.md section 2."""

import numpy as np
import pytest

from noise_injection.finite import data as finite_data
from noise_injection.finite import reference


def test_lasso_reference_meets_kkt_with_and_without_normalized_columns():
    for normalize in (True, False):
        data = finite_data.lasso_instance(30, 60, 4, 0.1, seed=3, normalize=normalize)
        for sigma in (0.1, 0.3):
            beta = reference.lasso_reference(data["X"], data["y"], sigma)
            assert reference.lasso_kkt_residual(data["X"], data["y"], beta, sigma) < 1e-6
            assert 0 < np.count_nonzero(beta) < 30


def test_kkt_residual_detects_a_wrong_solution():
    data = finite_data.lasso_instance(30, 60, 4, 0.1, seed=3)
    beta = reference.lasso_reference(data["X"], data["y"], 0.2)
    assert reference.lasso_kkt_residual(data["X"], data["y"], 1.1 * beta, 0.2) > 0.05


def test_group_lasso_with_singleton_groups_is_the_lasso():
    """k = 1: (sigma^2/n) ||X_j||_F ||X_j beta_j|| = sigma^2 D_jj |beta_j|, the weighted Lasso
    at sigma / sqrt(2), solved by a different solver (conic vs coordinate descent)."""
    data = finite_data.lasso_instance(30, 40, 4, 0.1, seed=5, normalize=False)
    sigma = 0.3
    grouped = reference.group_lasso_reference(data["X"], data["y"], np.arange(40), sigma)
    lasso = reference.lasso_reference(data["X"], data["y"], sigma / np.sqrt(2))
    np.testing.assert_allclose(grouped, lasso, atol=1e-5)


def test_group_lasso_reference_meets_block_optimality():
    """Orthonormal blocks: X_j^T r / n = sigma^2 sqrt(k) beta_j / ||beta_j|| on active groups
    and ||X_j^T r / n|| <= sigma^2 sqrt(k) on the others."""
    data = finite_data.group_lasso_instance(40, 10, 4, 3, 0.05, seed=4)
    X, y, groups, sigma = data["X"], data["y"], data["groups"], 0.3
    beta = reference.group_lasso_reference(X, y, groups, sigma)
    g = X.T @ (y - X @ beta) / 40
    weight = sigma**2 * 2.0
    n_active = 0
    for j in range(10):
        bj, gj = beta[groups == j], g[groups == j]
        if np.linalg.norm(bj) > 1e-6:
            n_active += 1
            np.testing.assert_allclose(gj, weight * bj / np.linalg.norm(bj), atol=1e-4)
        else:
            assert np.linalg.norm(gj) <= weight + 1e-4
    assert 1 <= n_active < 10


def test_soft_thresholding_matches_the_conic_solver_on_whitened_data():
    data = finite_data.nuclear_instance(30, 6, 5, 2, 0.1, seed=6, whiten=True)
    X, Y, sigma = data["X"], data["Y"], 0.25
    assert reference.is_whitened(X)
    closed = reference.nuclear_reference(X, Y, sigma)
    conic = reference.nuclear_reference_conic(X, Y, sigma)
    np.testing.assert_allclose(closed, conic, atol=1e-5)
    singular = np.linalg.svd(closed, compute_uv=False)
    least_squares = np.linalg.svd(Y.T @ X / 30, compute_uv=False)
    threshold = sigma**2 * np.sqrt(6 * 5)
    np.testing.assert_allclose(singular, np.maximum(least_squares - threshold, 0), atol=1e-12)


def test_conic_nuclear_solution_is_a_minimum_on_raw_data():
    data = finite_data.nuclear_instance(30, 6, 5, 2, 0.1, seed=7, whiten=False)
    X, Y, sigma = data["X"], data["Y"], 0.3
    assert not reference.is_whitened(X)
    M = reference.nuclear_reference(X, Y, sigma)
    best = reference.nuclear_objective(X, Y, M, sigma)
    rng = np.random.default_rng(0)
    for _ in range(20):
        assert reference.nuclear_objective(X, Y, M + 1e-3 * rng.standard_normal(M.shape),
                                           sigma) >= best - 1e-9


@pytest.mark.parametrize("sigma", [0.05, 0.4])
def test_objectives_vanish_penalty_at_zero_predictor(sigma):
    data = finite_data.lasso_instance(10, 20, 2, 0.1, seed=0)
    value = reference.lasso_objective(data["X"], data["y"], np.zeros(20), sigma)
    assert value == pytest.approx(float(data["y"] @ data["y"]) / 20)


def test_instances_have_the_promised_normalizations():
    lasso = finite_data.lasso_instance(20, 30, 3, 0.1, seed=0)
    np.testing.assert_allclose((lasso["X"] ** 2).sum(0) / 20, 1.0, rtol=1e-12)
    assert np.count_nonzero(lasso["planted"]) == 3
    group = finite_data.group_lasso_instance(20, 4, 3, 2, 0.1, seed=0)
    for j in range(4):
        block = group["X"][:, group["groups"] == j]
        np.testing.assert_allclose(block.T @ block / 20, np.eye(3), atol=1e-12)
    nuclear = finite_data.nuclear_instance(20, 5, 4, 2, 0.1, seed=0)
    assert reference.is_whitened(nuclear["X"])
    np.testing.assert_allclose(np.linalg.svd(nuclear["planted"], compute_uv=False)[:3],
                               [2.0, 1.0, 0.0], atol=1e-12)
    with pytest.raises(ValueError, match="unknown model"):
        finite_data.make_instance("ridge", {"ridge": {}, "noise": 0.1, "data_seed": 0})
