"""Perturbed gradient descent (PGD) on the finite-dimensional models of docs/paper.md section 2.

PGD is SGD on the smoothed risk R_sigma (sigma = per-coordinate std of noise on EVERY
parameter, the theory's sigma):

    theta_{k+1} = theta_k - eta_k * grad R(theta_k + sigma eps_k),   eps_k ~ N(0, I),

one fresh draw per step, gradient at the perturbed point, step at the clean point. The step
is eta_k = lr / (L + sigma^2 L_reg), L = largest eigenvalue of X^T X / n and L_reg that of the
Hessian of the (quadratic) regularizer, so ``lr`` is dimensionless and stays stable as sigma
grows; over the last ``tail_fraction`` of the steps it is multiplied by ``tail_lr_factor``,
and the returned predictor is the Polyak-Ruppert average of predictor(theta_k) over those
steps (a constant step leaves an O(eta) bias in the average of a nonlinear predictor; the
smaller tail step shrinks it). sigma = 0 is plain gradient descent from the same init.

Runs are batched: one (B, P) tensor holds B runs, each with its own sigma and seed. A run's
initialization and noise come from its own generator ``torch.Generator().manual_seed(seed)``
(init first, then the noise in chunks), so a run sees the same init and noise whichever
runs share its batch (results then agree up to floating-point rounding, as matmul blocking
depends on the batch size; the same batch twice agrees bit for bit), and runs with the same
seed and different sigma share one standard normal stream (common random numbers along the
sigma path).
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass

import numpy as np
import torch
from tqdm import tqdm

from noise_injection.finite.models import (
    DTYPE,
    FiniteModel,
    GroupedModel,
    HadamardModel,
    TwoLayerLinearModel,
)

_TAIL = {"tail_fraction": 0.5, "tail_lr_factor": 0.1}
#: Default PGD settings per model (lr in units of 1 / (L + sigma^2 L_reg)).
DEFAULTS = {
    "lasso": {"steps": 40000, "lr": 0.2, "init_scale": 1.0, **_TAIL},
    "group_lasso": {"steps": 40000, "lr": 0.2, "init_scale": 1.0, **_TAIL},
    "nuclear": {"steps": 20000, "lr": 0.05, "init_scale": 1.0, **_TAIL},
}


@dataclass
class PGDRuns:
    """Result of a batch of runs: tail-averaged and last predictors, and which runs stayed
    finite (a run that overflowed is reported as diverged, never silently dropped)."""

    averaged: np.ndarray
    last: np.ndarray
    finite: np.ndarray


@contextlib.contextmanager
def _single_thread():
    """The tensors here are tiny: extra intra-op threads only add synchronization (and on a
    shared machine, waiting), so PGD runs on one thread; the setting is restored after."""
    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(previous)


def _noise_streams(model: FiniteModel, seeds, init_scale: float):
    """Per distinct seed: its generator (init drawn first) and the initial parameters."""
    distinct = sorted(set(int(s) for s in seeds))
    generators = [torch.Generator().manual_seed(s) for s in distinct]
    inits = torch.stack([model.init_params(g, init_scale) for g in generators])
    index = torch.as_tensor([distinct.index(int(s)) for s in seeds])
    return generators, inits[index], index


def run_pgd(
    model: FiniteModel,
    sigmas,
    seeds,
    steps: int,
    lr: float,
    init_scale: float,
    tail_fraction: float = 0.5,
    tail_lr_factor: float = 1.0,
    noise_chunk: int = 512,
    progress: bool = False,
) -> PGDRuns:
    """Run B = len(sigmas) PGD runs of ``model`` as one tensor computation.

    Args:
        sigmas, seeds: one per run (sigma >= 0, per-coordinate std on every parameter).
        steps: number of PGD steps; lr: step size in units of 1 / (L + sigma^2 L_reg).
        init_scale: scale of the initialization (see the model's docstring).
        tail_fraction: fraction of the final steps averaged (Polyak-Ruppert).
        tail_lr_factor: the step over those final steps, relative to the first ones.
        noise_chunk: noise is drawn this many steps at a time (keep it fixed when comparing
            runs bit for bit).
        progress: show a tqdm bar on stderr.
    """
    sigmas = torch.as_tensor(np.asarray(sigmas, dtype=np.float64), dtype=DTYPE)
    if sigmas.ndim != 1 or len(sigmas) != len(seeds):
        raise ValueError("give one sigma and one seed per run")
    if (sigmas < 0).any():
        raise ValueError("sigma must be >= 0")
    if not 0 < tail_fraction <= 1:
        raise ValueError(f"tail_fraction must be in (0, 1], got {tail_fraction}")
    if not 0 < tail_lr_factor <= 1:
        raise ValueError(f"tail_lr_factor must be in (0, 1], got {tail_lr_factor}")
    with _single_thread():
        return _run_batch(model, sigmas, seeds, steps, lr, init_scale, tail_fraction, tail_lr_factor,
                          noise_chunk, progress)


def _run_batch(model, sigmas, seeds, steps, lr, init_scale, tail_fraction, tail_lr_factor, noise_chunk,
               progress) -> PGDRuns:
    generators, theta, index = _noise_streams(model, seeds, init_scale)
    base_step = (lr / (model.curvature + sigmas**2 * model.regularizer_curvature))[:, None]
    tail_start = steps - max(1, int(round(tail_fraction * steps)))
    scale = sigmas[:, None]
    total = None
    for k in tqdm(range(steps), desc=f"PGD {model.name}", mininterval=2, disable=not progress):
        if k % noise_chunk == 0:
            chunk = min(noise_chunk, steps - k)
            perturbations = scale * torch.stack(
                [torch.randn(chunk, model.num_params, generator=g, dtype=DTYPE) for g in generators],
                dim=1,
            )[:, index]
        step_size = base_step * tail_lr_factor if k >= tail_start else base_step
        grad = model.loss_gradient(theta + perturbations[k % noise_chunk])
        theta = torch.addcmul(theta, step_size, grad, value=-1.0)
        if k >= tail_start:
            predictor = model.predictor(theta)
            total = predictor if total is None else total.add_(predictor)
    averaged = total / (steps - tail_start)
    last = model.predictor(theta)
    finite = torch.isfinite(averaged.flatten(1)).all(1) & torch.isfinite(last.flatten(1)).all(1)
    return PGDRuns(averaged.numpy(), last.numpy(), finite.numpy())


def _fit_one(model: FiniteModel, sigma: float, seed: int, opts: dict) -> np.ndarray:
    settings = {**DEFAULTS[model.name], **opts}
    unknown = set(settings) - set(DEFAULTS[model.name]) - {"noise_chunk", "progress"}
    if unknown:
        raise TypeError(f"unknown PGD option(s) {sorted(unknown)}")
    runs = run_pgd(model, [sigma], [seed], **settings)
    if not runs.finite[0]:
        raise FloatingPointError(f"PGD on the {model.name} model diverged; lower lr")
    return runs.averaged[0]


def fit_lasso_pgd(X, y, sigma: float, seed: int = 0, **opts) -> np.ndarray:
    """PGD on the Hadamard model beta = w1*w1 - w2*w2; returns beta (d,).

    Targets the weighted Lasso ||y - X beta||^2/(2n) + 2 sigma^2 sum_i D_ii |beta_i|
    (scikit-learn's Lasso with alpha = 2 sigma^2 when X^T X / n has unit diagonal).
    sigma = 0 is plain GD. Options (``DEFAULTS["lasso"]``): steps, lr, init_scale, tail_fraction.
    """
    return _fit_one(HadamardModel(X, y), sigma, seed, opts)


def fit_group_lasso_pgd(X, y, groups, sigma: float, seed: int = 0, **opts) -> np.ndarray:
    """PGD on the grouped model beta_j = v_j w_j (groups: one integer id per column);
    returns beta (d,). Targets the group Lasso with penalty
    (sigma^2/n) sum_j ||X_j||_F ||X_j beta_j||. sigma = 0 is plain GD."""
    return _fit_one(GroupedModel(X, y, groups), sigma, seed, opts)


def fit_nuclear_pgd(X, Y, sigma: float, width: int, seed: int = 0, **opts) -> np.ndarray:
    """PGD on the two-layer linear network M = W2 W1 (hidden width d1 = ``width``);
    returns M (d2, d0), predictions X M^T. Targets the nuclear-norm problem with penalty
    (sigma^2/n) sqrt(d2) ||X||_F ||M X^T||_*. sigma = 0 is plain GD."""
    return _fit_one(TwoLayerLinearModel(X, Y, width), sigma, seed, opts)


def build_model(model: str, data: dict, cfg: dict) -> FiniteModel:
    """The overparametrized model of ``model`` ("lasso", "group_lasso", "nuclear") on an
    instance from ``finite_data.make_instance``; ``cfg`` is the ``finite`` config section."""
    if model == "lasso":
        return HadamardModel(data["X"], data["y"])
    if model == "group_lasso":
        return GroupedModel(data["X"], data["y"], data["groups"])
    if model == "nuclear":
        return TwoLayerLinearModel(data["X"], data["Y"], cfg["nuclear"]["width"])
    raise ValueError(f"unknown model {model!r}")


def pgd_path(model: str, data: dict, cfg: dict, progress: bool = False) -> dict:
    """PGD at every (sigma, seed) of the ``finite`` config section and plain GD (sigma = 0)
    at every seed, as one batch with the settings ``cfg[model]["pgd"]``. Returns the
    averaged predictors (n_sigma, n_seeds, ...) as "pgd", (n_seeds, ...) as "gd", and which
    runs stayed finite."""
    sigmas, seeds = np.asarray(cfg["sigmas"], dtype=float), np.arange(cfg["n_seeds"])
    grid = np.concatenate([sigmas, [0.0]])
    runs = run_pgd(build_model(model, data, cfg), np.repeat(grid, len(seeds)),
                   np.tile(seeds, len(grid)), progress=progress, **cfg[model]["pgd"])
    shape = (len(grid), len(seeds), *runs.averaged.shape[1:])
    averaged, finite = runs.averaged.reshape(shape), runs.finite.reshape(shape[:2])
    return {"sigmas": sigmas, "seeds": seeds, "pgd": averaged[:-1], "gd": averaged[-1],
            "pgd_finite": finite[:-1], "gd_finite": finite[-1]}
