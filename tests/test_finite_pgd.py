"""PGD with its default settings lands on the independent convex solution (<= 5% relative
error, same support / active groups / rank); plain GD from the same init does not."""

import numpy as np
import pytest

from noise_injection.finite import data as finite_data
from noise_injection.finite.pgd import (
    DEFAULTS,
    fit_group_lasso_pgd,
    fit_lasso_pgd,
    fit_nuclear_pgd,
    run_pgd,
)
from noise_injection.finite.compare import compare, reference_solution
from noise_injection.finite.models import HadamardModel

TOL = 0.01  # structure threshold: 1% of the reference's largest magnitude (as in the config)
CLEARANCE = 3.0  # agreement also counted clear of the cut-off (schema default)


@pytest.fixture(scope="module")
def lasso_data():
    return finite_data.lasso_instance(50, 100, 5, 0.05, seed=11)


def test_lasso_pgd_recovers_the_lasso_and_gd_does_not(lasso_data):
    """PGD (sigma = 0.2) and plain GD (sigma = 0) from the same init, in one batch."""
    sigma = 0.2
    ref = reference_solution("lasso", lasso_data, sigma)
    model = HadamardModel(lasso_data["X"], lasso_data["y"])
    runs = run_pgd(model, [sigma, 0.0], [0, 0], **DEFAULTS["lasso"])
    pgd = compare("lasso", lasso_data, runs.averaged[0], ref, sigma, TOL, CLEARANCE)
    assert pgd["rel_error"] <= 0.05
    assert pgd["structure_match"]
    gd = compare("lasso", lasso_data, runs.averaged[1], ref, sigma, TOL, CLEARANCE)
    assert gd["rel_error"] > 0.5
    assert gd["n_active"] > 4 * pgd["n_active"]  # dense
    assert gd["norm"] > 1.5 * pgd["norm"]  # larger l1 norm


def test_group_lasso_pgd_recovers_the_group_lasso():
    data = finite_data.group_lasso_instance(50, 20, 4, 3, 0.05, seed=11)
    sigma = 0.25
    beta = fit_group_lasso_pgd(data["X"], data["y"], data["groups"], sigma)
    result = compare("group_lasso", data, beta, reference_solution("group_lasso", data, sigma),
                     sigma, TOL, CLEARANCE)
    assert result["rel_error"] <= 0.05
    assert result["structure_match"]


def test_nuclear_pgd_recovers_the_soft_thresholded_solution():
    data = finite_data.nuclear_instance(50, 10, 10, 3, 0.05, seed=11)
    sigma = 0.2
    M = fit_nuclear_pgd(data["X"], data["Y"], sigma, width=20)
    result = compare("nuclear", data, M, reference_solution("nuclear", data, sigma), sigma, TOL,
                     CLEARANCE)
    assert result["rel_error"] <= 0.05
    assert result["structure_match"]
    assert result["n_active"] == 3


def test_runs_are_deterministic_and_batch_independent_up_to_rounding(lasso_data):
    """Same batch twice: bit for bit. A run alone vs inside a batch: the same init and noise
    stream (its own generator), so equal up to matmul rounding (blocking depends on B)."""
    model = HadamardModel(lasso_data["X"], lasso_data["y"])
    opts = {**DEFAULTS["lasso"], "steps": 300}
    batch = run_pgd(model, [0.1, 0.3, 0.3, 0.0], [0, 0, 1, 1], **opts)
    again = run_pgd(model, [0.1, 0.3, 0.3, 0.0], [0, 0, 1, 1], **opts)
    np.testing.assert_array_equal(batch.averaged, again.averaged)
    alone = run_pgd(model, [0.3], [1], **opts)
    np.testing.assert_allclose(batch.averaged[2], alone.averaged[0], rtol=1e-6, atol=1e-6)
    other_seed = run_pgd(model, [0.3], [0], **opts)
    assert np.abs(other_seed.averaged[0] - alone.averaged[0]).max() > 1e-3
    assert batch.finite.all()


def test_diverging_runs_are_reported(lasso_data):
    model = HadamardModel(lasso_data["X"], lasso_data["y"])
    runs = run_pgd(model, [0.1, 0.1], [0, 1], steps=200, lr=50.0, init_scale=1.0)
    assert not runs.finite.any()
    with pytest.raises(FloatingPointError):
        fit_lasso_pgd(lasso_data["X"], lasso_data["y"], 0.1, steps=200, lr=50.0)


@pytest.mark.parametrize("bad", [{"sigmas": [-0.1]}, {"tail_fraction": 0.0},
                                 {"tail_lr_factor": 2.0}, {"seeds": [0, 1]}])
def test_bad_arguments_are_rejected(lasso_data, bad):
    model = HadamardModel(lasso_data["X"], lasso_data["y"])
    args = {"sigmas": [0.1], "seeds": [0], "steps": 10, "lr": 0.1, "init_scale": 1.0, **bad}
    with pytest.raises(ValueError):
        run_pgd(model, **args)


def test_unknown_options_are_rejected(lasso_data):
    with pytest.raises(TypeError, match="unknown PGD option"):
        fit_lasso_pgd(lasso_data["X"], lasso_data["y"], 0.1, step=10)
