"""The three finite-dimensional models of docs/paper.md section 2 and their exact smoothed risks.

Every model maps a flat parameter vector theta (batched: shape (B, P)) to a predictor (the
Lasso vector beta, the grouped vector beta or the matrix M) and uses the square loss

    R(theta) = ||Y - predictions||_F^2 / (2n).

Sigma convention: sigma is the per-coordinate std of i.i.d. Gaussian noise added to EVERY
parameter at once (the theory's sigma). For these models the perturbed predictions are
polynomials in the noise with vanishing odd moments, so the smoothed risk is exactly

    R_sigma(theta) = E_eps R(theta + sigma eps) = R_eff(theta) + C(sigma),
    R_eff(theta) = R(theta) + sigma^2 * regularizer(theta),   C(sigma) = sigma^4 * c,

for every sigma (not only to second order), with regularizer and c as in docs/paper.md 2(a)-(c).
"""

from __future__ import annotations

import numpy as np
import torch

from noise_injection.finite.structure import relabel_groups

DTYPE = torch.float64


def as_tensor(a) -> torch.Tensor:
    """numpy / list / tensor -> float64 CPU tensor (a copy of numpy input is not shared)."""
    return torch.as_tensor(np.asarray(a, dtype=np.float64), dtype=DTYPE)


class FiniteModel:
    """Shared part: the data (X: (n, d0), Y: (n, out)), the square loss, R_eff and R_sigma.

    Subclasses define ``num_params``, ``init_params``, ``predictor``, ``predictions``,
    ``loss_gradient`` (dR/dtheta in closed form, (B, P)), ``regularizer`` (R_eff - R at
    sigma = 1, a quadratic form in theta), ``regularizer_curvature`` (the largest eigenvalue
    of its Hessian) and ``constant`` (C(sigma) at sigma = 1).
    """

    name = "finite"

    def __init__(self, X, Y):
        self.X = as_tensor(X)
        Y = as_tensor(Y)
        self.Y = Y[:, None] if Y.ndim == 1 else Y
        self.n = self.X.shape[0]
        self.X_over_n = self.X / self.n
        if self.Y.shape[0] != self.n:
            raise ValueError(f"X has {self.n} rows but Y has {self.Y.shape[0]}")
        self.frobenius_sq = float((self.X**2).sum())

    @property
    def curvature(self) -> float:
        """L = largest eigenvalue of X^T X / n (step sizes are given in units of 1/L)."""
        return float(torch.linalg.matrix_norm(self.X, ord=2) ** 2 / self.n)

    def data_loss(self, predictor: torch.Tensor) -> torch.Tensor:
        """R = ||Y - predictions||_F^2 / (2n), one value per batch element."""
        residual = self.Y - self.predictions(predictor)
        return (residual**2).flatten(1).sum(1) / (2 * self.n)

    def loss(self, theta: torch.Tensor) -> torch.Tensor:
        """R(theta), shape (B,)."""
        return self.data_loss(self.predictor(theta))

    def effective_risk(self, theta: torch.Tensor, sigma) -> torch.Tensor:
        """R_eff(theta) = R(theta) + sigma^2 * regularizer(theta), shape (B,)."""
        return self.loss(theta) + _column(sigma, theta) ** 2 * self.regularizer(theta)

    def smoothed_risk(self, theta: torch.Tensor, sigma) -> torch.Tensor:
        """R_sigma(theta) = E R(theta + sigma eps) = R_eff(theta) + sigma^4 * constant."""
        sigma = _column(sigma, theta)
        return self.effective_risk(theta, sigma) + sigma**4 * self.constant

    def predictions(self, predictor: torch.Tensor) -> torch.Tensor:
        """Vector predictors beta (B, d): predictions X beta as (B, n, 1)."""
        return (predictor @ self.X.T)[..., None]

    def predictor_gradient(self, predictor: torch.Tensor) -> torch.Tensor:
        """dR/dbeta = X^T (X beta - y) / n for vector predictors, shape (B, d)."""
        return (predictor @ self.X.T - self.Y[:, 0]) @ self.X_over_n


def _column(sigma, theta: torch.Tensor) -> torch.Tensor:
    """sigma as a (B,) tensor broadcastable against per-batch values."""
    return torch.as_tensor(sigma, dtype=DTYPE).expand(theta.shape[0])


class HadamardModel(FiniteModel):
    """docs/paper.md 2(a): theta = (w1, w2) in R^{2d}, beta = w1*w1 - w2*w2, predictions X beta.

    R_eff = R + 2 sigma^2 sum_i D_ii (w1_i^2 + w2_i^2), D = diag(X^T X / n);
    C(sigma) = 2 sigma^4 ||X||_F^2 / n. Minimizing R_eff over factorizations of beta gives
    the weighted Lasso ||y - X beta||^2/(2n) + 2 sigma^2 sum_i D_ii |beta_i|.
    Initialization: w1 = w2 = init_scale (beta = 0), the usual one for this model.
    """

    name = "lasso"

    def __init__(self, X, y):
        super().__init__(X, y)
        self.d = self.X.shape[1]
        self.num_params = 2 * self.d
        self.diag = (self.X**2).sum(0) / self.n
        self.constant = 2 * self.frobenius_sq / self.n
        self.regularizer_curvature = 4 * float(self.diag.max())

    def init_params(self, generator: torch.Generator, init_scale: float) -> torch.Tensor:
        return torch.full((self.num_params,), float(init_scale), dtype=DTYPE)

    def predictor(self, theta: torch.Tensor) -> torch.Tensor:
        w1, w2 = theta[:, : self.d], theta[:, self.d :]
        return w1 * w1 - w2 * w2

    def regularizer(self, theta: torch.Tensor) -> torch.Tensor:
        w1, w2 = theta[:, : self.d], theta[:, self.d :]
        return 2 * ((w1**2 + w2**2) * self.diag).sum(1)

    def loss_gradient(self, theta: torch.Tensor) -> torch.Tensor:
        w1, w2 = theta[:, : self.d], theta[:, self.d :]
        g = self.predictor_gradient(self.predictor(theta))
        return torch.cat([2 * w1 * g, -2 * w2 * g], dim=1)


class GroupedModel(FiniteModel):
    """docs/paper.md 2(b): one scalar v_j and one vector w_j per group, beta_j = v_j w_j.

    theta = (v (G,), w (d,)), w's coordinates in the column order of X; ``groups`` holds one
    integer group id per column (ids are relabelled 0..G-1 in order of first appearance).
    R_eff = R + (sigma^2/(2n)) sum_j (||X_j w_j||^2 + v_j^2 ||X_j||_F^2);
    C(sigma) = sigma^4 ||X||_F^2 / (2n). Over factorizations: the group Lasso with penalty
    (sigma^2/n) sum_j ||X_j||_F ||X_j beta_j||.
    Initialization: v_j = init_scale, w_j = init_scale * u_j with u_j uniform on the unit
    sphere of the group (drawn from the run's generator).
    """

    name = "group_lasso"

    def __init__(self, X, y, groups):
        super().__init__(X, y)
        self.group_index, self.num_groups = relabel_groups(groups, self.X.shape[1])
        self.d = self.X.shape[1]
        self.num_params = self.num_groups + self.d
        self.membership = torch.nn.functional.one_hot(
            torch.as_tensor(self.group_index), self.num_groups
        ).to(DTYPE)
        self.group_frobenius_sq = (self.X**2).sum(0) @ self.membership
        self.constant = self.frobenius_sq / (2 * self.n)
        # Hessian blocks X_j^T X_j / n (w_j) and ||X_j||_F^2 / n (v_j); ||.||_F^2 >= ||.||_2^2.
        self.regularizer_curvature = float(self.group_frobenius_sq.max()) / self.n

    def init_params(self, generator: torch.Generator, init_scale: float) -> torch.Tensor:
        u = torch.randn(self.d, generator=generator, dtype=DTYPE)
        norms = torch.sqrt((u**2) @ self.membership)[self.group_index]
        v = torch.full((self.num_groups,), float(init_scale), dtype=DTYPE)
        return torch.cat([v, init_scale * u / norms])

    def _split(self, theta):
        return theta[:, : self.num_groups], theta[:, self.num_groups :]

    def predictor(self, theta: torch.Tensor) -> torch.Tensor:
        v, w = self._split(theta)
        return v[:, self.group_index] * w

    def loss_gradient(self, theta: torch.Tensor) -> torch.Tensor:
        v, w = self._split(theta)
        g = self.predictor_gradient(self.predictor(theta))
        return torch.cat([(w * g) @ self.membership, v[:, self.group_index] * g], dim=1)

    def regularizer(self, theta: torch.Tensor) -> torch.Tensor:
        v, w = self._split(theta)
        group_outputs = (self.X * w[:, None, :]) @ self.membership  # (B, n, G): X_j w_j
        fit = (group_outputs**2).sum((1, 2))
        return (fit + (v**2 * self.group_frobenius_sq).sum(1)) / (2 * self.n)


class TwoLayerLinearModel(FiniteModel):
    """docs/paper.md 2(c): W1 (d1, d0), W2 (d2, d1), M = W2 W1, predictions X M^T (n, d2).

    theta = (W1 flattened, W2 flattened).
    R_eff = R + (sigma^2/(2n)) (d2 ||W1 X^T||_F^2 + ||W2||_F^2 ||X||_F^2);
    C(sigma) = sigma^4 d1 d2 ||X||_F^2 / (2n). Over factorizations with d1 >= rank: the
    nuclear-norm problem with penalty (sigma^2/n) sqrt(d2) ||X||_F ||M X^T||_*.
    Initialization: i.i.d. N(0, init_scale^2 / fan_in) entries (fan_in = d0 for W1, d1 for W2).
    """

    name = "nuclear"

    def __init__(self, X, Y, width: int):
        super().__init__(X, Y)
        self.d0, self.d1, self.d2 = self.X.shape[1], int(width), self.Y.shape[1]
        self.num_params = self.d1 * self.d0 + self.d2 * self.d1
        self.constant = self.d1 * self.d2 * self.frobenius_sq / (2 * self.n)
        # Hessian blocks d2 X^T X / n (rows of W1) and ||X||_F^2 / n (W2).
        self.regularizer_curvature = max(self.d2 * self.curvature, self.frobenius_sq / self.n)

    def init_params(self, generator: torch.Generator, init_scale: float) -> torch.Tensor:
        w1 = torch.randn(self.d1 * self.d0, generator=generator, dtype=DTYPE) / np.sqrt(self.d0)
        w2 = torch.randn(self.d2 * self.d1, generator=generator, dtype=DTYPE) / np.sqrt(self.d1)
        return init_scale * torch.cat([w1, w2])

    def _split(self, theta):
        b, cut = theta.shape[0], self.d1 * self.d0
        return theta[:, :cut].reshape(b, self.d1, self.d0), theta[:, cut:].reshape(
            b, self.d2, self.d1
        )

    def predictor(self, theta: torch.Tensor) -> torch.Tensor:
        w1, w2 = self._split(theta)
        return w2 @ w1

    def predictions(self, predictor: torch.Tensor) -> torch.Tensor:
        return self.X @ predictor.transpose(1, 2)

    def predictor_gradient(self, predictor: torch.Tensor) -> torch.Tensor:
        """dR/dM = (X M^T - Y)^T X / n, shape (B, d2, d0)."""
        return (self.predictions(predictor) - self.Y).transpose(1, 2) @ self.X_over_n

    def loss_gradient(self, theta: torch.Tensor) -> torch.Tensor:
        w1, w2 = self._split(theta)
        g = self.predictor_gradient(w2 @ w1)
        grad_w1 = w2.transpose(1, 2) @ g
        grad_w2 = g @ w1.transpose(1, 2)
        return torch.cat([grad_w1.flatten(1), grad_w2.flatten(1)], dim=1)

    def regularizer(self, theta: torch.Tensor) -> torch.Tensor:
        w1, w2 = self._split(theta)
        hidden = (w1 @ self.X.T) ** 2
        return (self.d2 * hidden.sum((1, 2)) + (w2**2).sum((1, 2)) * self.frobenius_sq) / (
            2 * self.n
        )
