"""The finite-dimensional models: closed-form gradients, exact smoothed risks (Monte Carlo,
10^5 draws, small and large sigma) and the balanced factorizations that turn R_eff into the
convex objectives of docs/paper.md section 2."""

import numpy as np
import pytest
import torch

from noise_injection.finite import data as finite_data
from noise_injection.finite import reference
from noise_injection.finite.models import (
    DTYPE,
    GroupedModel,
    HadamardModel,
    TwoLayerLinearModel,
)
from noise_injection.finite.smoothing import random_point, smoothing_check


def small_models():
    lasso = finite_data.lasso_instance(20, 30, 3, 0.1, seed=1)
    group = finite_data.group_lasso_instance(20, 5, 3, 2, 0.1, seed=1, normalize=False)
    nuclear = finite_data.nuclear_instance(20, 5, 4, 2, 0.1, seed=1, whiten=False)
    return [
        HadamardModel(lasso["X"], lasso["y"]),
        GroupedModel(group["X"], group["y"], group["groups"]),
        TwoLayerLinearModel(nuclear["X"], nuclear["Y"], width=6),
    ]


@pytest.mark.parametrize("model", small_models(), ids=lambda m: m.name)
def test_closed_form_gradient_matches_autograd(model):
    theta = torch.randn(3, model.num_params, dtype=DTYPE, generator=torch.Generator().manual_seed(0))
    theta.requires_grad_(True)
    (auto,) = torch.autograd.grad(model.loss(theta).sum(), theta)
    torch.testing.assert_close(model.loss_gradient(theta.detach()), auto, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("model", small_models(), ids=lambda m: m.name)
def test_regularizer_curvature_is_the_largest_hessian_eigenvalue(model):
    theta = torch.zeros(model.num_params, dtype=DTYPE)
    hessian = torch.autograd.functional.hessian(lambda t: model.regularizer(t[None])[0], theta)
    assert model.regularizer_curvature == pytest.approx(
        float(torch.linalg.eigvalsh(hessian).max()), rel=1e-10)


@pytest.mark.parametrize("model", small_models(), ids=lambda m: m.name)
def test_monte_carlo_smoothed_risk_equals_closed_form(model):
    """Exact at every sigma: within 3 standard errors at sigma = 0.1 and 1.0, while the
    second-order expansion R_eff (no sigma^4 constant) is rejected at sigma = 1."""
    theta = random_point(model, seed=3, scale=0.5)
    small, large = smoothing_check(model, theta, [0.1, 1.0], draws=100_000, seed=4)
    assert abs(small["z_exact"]) < 3
    assert abs(large["z_exact"]) < 3
    assert abs(large["z_second_order"]) > 10


def test_hadamard_balanced_factorization_gives_the_weighted_lasso():
    data = finite_data.lasso_instance(20, 30, 3, 0.1, seed=2, normalize=False)
    model = HadamardModel(data["X"], data["y"])
    beta = np.random.default_rng(0).standard_normal(30)
    theta = np.concatenate([np.sqrt(np.maximum(beta, 0)), np.sqrt(np.maximum(-beta, 0))])
    sigma = 0.3
    eff = float(model.effective_risk(torch.as_tensor(theta)[None], sigma)[0])
    assert eff == pytest.approx(reference.lasso_objective(data["X"], data["y"], beta, sigma),
                                rel=1e-12)
    # any other factorization of the same beta costs more (w1^2 + w2^2 >= |beta|)
    shifted = np.sqrt(theta**2 + 0.1)
    assert float(model.effective_risk(torch.as_tensor(shifted)[None], sigma)[0]) > eff


def test_grouped_balanced_factorization_gives_the_group_lasso():
    data = finite_data.group_lasso_instance(20, 5, 3, 2, 0.1, seed=2, normalize=False)
    X, groups = data["X"], data["groups"]
    model = GroupedModel(X, data["y"], groups)
    beta = np.random.default_rng(1).standard_normal(15)
    v = np.array([np.sqrt(np.linalg.norm(X[:, groups == j] @ beta[groups == j])
                          / np.linalg.norm(X[:, groups == j])) for j in range(5)])
    w = beta / v[groups]
    sigma = 0.4
    theta = torch.as_tensor(np.concatenate([v, w]))[None]
    expected = reference.group_lasso_objective(X, data["y"], groups, beta, sigma)
    assert float(model.effective_risk(theta, sigma)[0]) == pytest.approx(expected, rel=1e-12)
    unbalanced = torch.as_tensor(np.concatenate([2 * v, w / 2]))[None]
    assert float(model.effective_risk(unbalanced, sigma)[0]) > expected


def test_two_layer_balanced_factorization_gives_the_nuclear_norm_problem():
    data = finite_data.nuclear_instance(30, 5, 4, 2, 0.1, seed=2, whiten=True)
    X, Y = data["X"], data["Y"]
    d0, d2, width = 5, 4, 6
    M = np.random.default_rng(2).standard_normal((d2, d0))
    u, s, vt = np.linalg.svd(M, full_matrices=False)
    c = (d2 / d0) ** 0.25  # balances d2 ||W1 X^T||^2 against ||W2||^2 ||X||_F^2
    W2 = np.zeros((d2, width))
    W1 = np.zeros((width, d0))
    W2[:, :4] = u * np.sqrt(s) * c
    W1[:4] = (np.sqrt(s)[:, None] * vt) / c
    model = TwoLayerLinearModel(X, Y, width)
    sigma = 0.3
    theta = torch.as_tensor(np.concatenate([W1.ravel(), W2.ravel()]))[None]
    expected = reference.nuclear_objective(X, Y, M, sigma)
    assert float(model.effective_risk(theta, sigma)[0]) == pytest.approx(expected, rel=1e-12)
    unbalanced = torch.as_tensor(np.concatenate([2 * W1.ravel(), W2.ravel() / 2]))[None]
    assert float(model.effective_risk(unbalanced, sigma)[0]) > expected


def test_grouped_model_accepts_any_group_ids():
    data = finite_data.group_lasso_instance(10, 3, 2, 1, 0.1, seed=0)
    relabelled = GroupedModel(data["X"], data["y"], data["groups"] * 7 + 100)
    assert relabelled.num_groups == 3
    with pytest.raises(ValueError, match="one id per column"):
        GroupedModel(data["X"], data["y"], data["groups"][:-1])
