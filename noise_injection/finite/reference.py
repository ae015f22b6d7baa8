"""Independent convex solutions of the problems PGD targets (docs/paper.md section 2).

Sigma convention: sigma is the per-coordinate std of the noise on every parameter of the
overparametrized model (the theory's sigma); the penalties below are written in terms of it.

- Lasso:        ||y - X beta||^2/(2n) + 2 sigma^2 sum_i D_ii |beta_i|,   D = diag(X^T X / n)
                (scikit-learn's coordinate descent; alpha = 2 sigma^2 after scaling columns).
- Group Lasso:  ||y - X beta||^2/(2n) + (sigma^2/n) sum_j ||X_j||_F ||X_j beta_j||   (cvxpy).
- Nuclear norm: ||Y - X M^T||_F^2/(2n) + (sigma^2/n) sqrt(d2) ||X||_F ||M X^T||_*
                (singular-value soft-thresholding when X^T X / n = I, cvxpy otherwise).

The solvers import scikit-learn and cvxpy where they solve, so the jobs that only evaluate the
objectives (the finite summary) do not pay their import (~0.8 s of CPU).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from noise_injection.finite.structure import relabel_groups

if TYPE_CHECKING:
    import cvxpy as cp

#: Solver accuracy: coordinate-descent duality gap tolerance and conic solver tolerances.
LASSO_TOL = 1e-12
CONIC_TOL = 1e-8


def _square_loss(X, Y, predictor_outputs) -> float:
    return float(((Y - predictor_outputs) ** 2).sum() / (2 * X.shape[0]))


def lasso_objective(X, y, beta, sigma: float) -> float:
    """||y - X beta||^2/(2n) + 2 sigma^2 sum_i D_ii |beta_i|."""
    diag = (X**2).sum(0) / X.shape[0]
    return _square_loss(X, y, X @ beta) + 2 * sigma**2 * float(diag @ np.abs(beta))


def lasso_kkt_residual(X, y, beta, sigma: float, active_tol: float = 1e-9) -> float:
    """Largest violation of the weighted Lasso's optimality conditions, in units of the
    penalty weight: g = X^T (y - X beta)/n must equal 2 sigma^2 D_ii sign(beta_i) on the
    support and satisfy |g_i| <= 2 sigma^2 D_ii off it."""
    n = X.shape[0]
    weight = 2 * sigma**2 * (X**2).sum(0) / n
    g = X.T @ (y - X @ beta) / n
    active = np.abs(beta) > active_tol
    on = np.abs(g[active] - weight[active] * np.sign(beta[active])) / weight[active]
    off = np.maximum(np.abs(g[~active]) / weight[~active] - 1, 0)
    return float(np.concatenate([on, off, [0.0]]).max())


def lasso_reference(X, y, sigma: float) -> np.ndarray:
    """The weighted Lasso solution by scikit-learn coordinate descent (no intercept).

    Substituting gamma_i = D_ii beta_i turns the weighted penalty into sklearn's plain Lasso
    with alpha = 2 sigma^2 on the columns X_i / D_ii (D = I: the plain Lasso itself)."""
    from sklearn.linear_model import Lasso

    scale = (X**2).sum(0) / X.shape[0]
    solver = Lasso(alpha=2 * sigma**2, fit_intercept=False, tol=LASSO_TOL, max_iter=10**6)
    solver.fit(X / scale, y)
    return solver.coef_ / scale


def group_lasso_objective(X, y, groups, beta, sigma: float) -> float:
    """||y - X beta||^2/(2n) + (sigma^2/n) sum_j ||X_j||_F ||X_j beta_j||."""
    index, num_groups = relabel_groups(groups, X.shape[1])
    penalty = 0.0
    for j in range(num_groups):
        cols = index == j
        penalty += np.linalg.norm(X[:, cols]) * np.linalg.norm(X[:, cols] @ beta[cols])
    return _square_loss(X, y, X @ beta) + sigma**2 / X.shape[0] * penalty


def group_lasso_reference(X, y, groups, sigma: float) -> np.ndarray:
    """The group Lasso solution by an interior-point conic solver (cvxpy + Clarabel)."""
    import cvxpy as cp

    n, d = X.shape
    index, num_groups = relabel_groups(groups, d)
    beta = cp.Variable(d)
    penalty = 0
    for j in range(num_groups):
        cols = np.flatnonzero(index == j)
        penalty += np.linalg.norm(X[:, cols]) * cp.norm(X[:, cols] @ beta[cols], 2)
    objective = cp.sum_squares(y - X @ beta) / (2 * n) + sigma**2 / n * penalty
    _solve(cp.Problem(cp.Minimize(objective)))
    return np.asarray(beta.value)


def nuclear_objective(X, Y, M, sigma: float) -> float:
    """||Y - X M^T||_F^2/(2n) + (sigma^2/n) sqrt(d2) ||X||_F ||M X^T||_*."""
    n, d2 = X.shape[0], Y.shape[1]
    nuclear = np.linalg.svd(M @ X.T, compute_uv=False).sum()
    penalty = sigma**2 / n * np.sqrt(d2) * np.linalg.norm(X) * nuclear
    return _square_loss(X, Y, X @ M.T) + penalty


def is_whitened(X, tol: float = 1e-10) -> bool:
    """X^T X / n = I (up to ``tol`` in max norm)."""
    gram = X.T @ X / X.shape[0]
    return bool(np.abs(gram - np.eye(X.shape[1])).max() <= tol)


def nuclear_threshold(X, Y, sigma: float) -> float:
    """Soft-threshold for whitened X: (sigma^2/n) sqrt(d2) ||X||_F sqrt(n) = sigma^2 sqrt(d0 d2)."""
    return sigma**2 * np.sqrt(X.shape[1] * Y.shape[1])


def nuclear_reference(X, Y, sigma: float) -> np.ndarray:
    """The nuclear-norm solution M (d2, d0): with X^T X / n = I, the loss is
    ||M - M_ls||_F^2 / 2 + const with M_ls = Y^T X / n, and the solution soft-thresholds the
    singular values of M_ls at sigma^2 sqrt(d0 d2); otherwise a conic solve (cvxpy)."""
    if is_whitened(X):
        return soft_threshold_singular_values(Y.T @ X / X.shape[0], nuclear_threshold(X, Y, sigma))
    return nuclear_reference_conic(X, Y, sigma)


def soft_threshold_singular_values(A, threshold: float) -> np.ndarray:
    """U diag(max(s - threshold, 0)) V^T for A = U diag(s) V^T."""
    u, s, vt = np.linalg.svd(A, full_matrices=False)
    return (u * np.maximum(s - threshold, 0.0)) @ vt


def nuclear_reference_conic(X, Y, sigma: float) -> np.ndarray:
    """The nuclear-norm problem by a conic solver (cvxpy + Clarabel), for any X."""
    import cvxpy as cp

    n, d2 = X.shape[0], Y.shape[1]
    M = cp.Variable((d2, X.shape[1]))
    weight = sigma**2 / n * np.sqrt(d2) * np.linalg.norm(X)
    objective = cp.sum_squares(Y - X @ M.T) / (2 * n) + weight * cp.normNuc(M @ X.T)
    _solve(cp.Problem(cp.Minimize(objective)))
    return np.asarray(M.value)


def _solve(problem: cp.Problem) -> None:
    import cvxpy as cp

    problem.solve(
        solver=cp.CLARABEL, tol_gap_abs=CONIC_TOL, tol_gap_rel=CONIC_TOL, tol_feas=CONIC_TOL
    )
    if problem.status != cp.OPTIMAL:
        raise RuntimeError(f"convex reference solver ended with status {problem.status}")
