"""Where all-weights noise stalls (noise_injection.variance.onset) and its claim row, against
oracles worked out by hand (theory's sigma: all = N(0, sigma^2) on every weight)."""

import math

import numpy as np
import pytest

from noise_injection.claims.variance import stall_onset_claim
from noise_injection.variance.dynamics import planted_regression, run_dynamics
from noise_injection.variance.onset import (
    FIG2_TARGETS,
    STALL_FACTOR,
    calibrate_sigma,
    measured_onset,
    predicted_onset,
)


def _data():
    X, y = planted_regression(40, 10, [1.0, 1.0], seed=0)
    return X, y[:, None]


def _hand_onset(X, y, width, penalty):
    """With GD's risk 0 and the threshold t = sigma^2 ||X|| below s = ||y|| (y is exactly
    linear in X, d2 = 1), min R_eff = (t s - t^2/2)/n, so the onset equation
    sigma^4 d1 ||X||^2/(2n) = sigma^2 penalty - min R_eff is linear in sigma^2:
    sigma^2 = (penalty - ||X|| s / n) / ((d1 - 1) ||X||^2 / (2n))."""
    n, norm_x, s = len(X), np.linalg.norm(X), np.linalg.norm(y)
    sigma2 = (penalty - norm_x * s / n) / ((width - 1) * norm_x**2 / (2 * n))
    assert sigma2 * norm_x < s  # the soft threshold is active at the root
    return math.sqrt(sigma2)


@pytest.mark.parametrize("width", [50, 300, 1000])
def test_predicted_onset_solves_the_hand_derived_equation(width):
    X, Y = _data()
    end = {"risk": [0.0, 0.0], "penalty": [9.0, 11.0]}
    assert predicted_onset(X, Y, width, end) == pytest.approx(_hand_onset(X, Y, width, 10.0),
                                                              rel=1e-8)


def test_predicted_onset_is_nan_without_a_regularization_gain():
    X, Y = _data()
    assert math.isnan(predicted_onset(X, Y, 300, {"risk": [0.0], "penalty": [0.0]}))


@pytest.mark.parametrize("late, expected", [
    ([1.0, 1.0, 1.0, 1.0], (0.8, math.inf)),          # never stalls
    ([2.0, 2.0, 2.0, float("nan")], (0.0, 0.1)),      # stalls everywhere (NaN = diverged)
    ([1.0, 2.0, 1.2, 3.0], (0.4, 0.8)),               # the onset is where it stays stalled
    ([1.0, 1.4, STALL_FACTOR, 9.0], (0.4, 0.8)),  # at the threshold: not stalled
    ([1.0, 1.4, STALL_FACTOR * (1 + 1e-9), 9.0], (0.2, 0.4)),  # just above: stalled
])
def test_measured_onset_brackets_the_last_run_of_stalls(late, expected):
    sigmas = [0.4, 0.1, 0.8, 0.2]  # unsorted on purpose: the order of late follows sigmas
    order = np.argsort(sigmas)
    unsorted_late = np.empty(4)
    unsorted_late[order] = late
    assert measured_onset(sigmas, unsorted_late, [1.0] * 4) == expected


def test_calibration_is_the_geometric_mean_of_the_target_ratios():
    # GD's R_eff = sigma^2 p_w and min R_eff ~ sigma^2 ||X|| s / n: every log residual is
    # log(c_k sigma^2 / t_k), so the least-squares sigma^2 is the geometric mean of t_k / c_k
    # (up to the -t^2/2 term of the optimum, 1e-3 relative here).
    X, Y = _data()
    c = {"gd_reff_small": 40.0, "reff_optimum": np.linalg.norm(X) * np.linalg.norm(Y) / len(X)}
    fit = calibrate_sigma(X, Y, 50, {"risk": [0.0], "penalty": [40.0]})
    oracle = math.exp(np.mean([math.log(FIG2_TARGETS[k] / c[k]) for k in c]) / 2)
    assert fit["sigma"] == pytest.approx(oracle, rel=2e-3)
    for k, t in FIG2_TARGETS.items():
        assert fit["log_residuals"][k] == pytest.approx(math.log(fit["model"][k] / t))


def test_calibration_uses_the_width_50_panel_only():
    """Out of sample: the targets are the width-50 panel's (registry fig2_small) and nothing
    of the width-300 panel (fig2_large) enters the fit."""
    from noise_injection.base import paper_numbers as paper

    small = paper.value("fig2_small")
    assert FIG2_TARGETS == {"gd_reff_small": small["gd_effective_risk"],
                            "reff_optimum": small["optimum"]}
    assert set(FIG2_TARGETS.values()).isdisjoint(
        v for v in paper.value("fig2_large").values() if not isinstance(v, list))


def test_a_diverging_net_is_frozen_at_nan_and_leaves_the_others_alone():
    # All-weights noise at width 1000 and sigma 0.07 diverges at lr 0.1 (this once crashed
    # the compiled loop with a ZeroDivisionError); GD in the same batch must not notice.
    X, y = planted_regression(40, 10, [1.0, 1.0], seed=0)
    records = np.array([0, 30_000])
    both = run_dynamics(X, y, 1000, 0.07, 0.1, 30_000, [0], 1000, records,
                        methods=("gd", "all"), progress=False)
    alone = run_dynamics(X, y, 1000, 0.07, 0.1, 30_000, [0], 1000, records, methods=("gd",),
                         progress=False)
    assert both["diverged"].tolist() == [[False], [True]]
    assert np.isnan(both["risk"][both["methods"].index("all"), 0, -1])
    assert np.array_equal(both["risk"][0], alone["risk"][0])


def _stall(width, predicted, late_all):
    sigmas = [0.05, 0.1, 0.2]
    eff = np.ones((3, 2, 1, 2))
    eff[:, 1, 0, :] = np.asarray(late_all)[:, None]
    return {"width": width, "sigmas": sigmas, "methods": ["layer", "all"],
            "iterations": [0, 100], "effective_risk": eff.tolist(),
            "effective_risk_minimum": [1.0, 1.0, 1.0], "predicted_onset": predicted}


def test_stall_claim_verdicts():
    onset_at_02 = [1.0, 1.0, 2.0]  # measured onset in (0.1, 0.2]
    inside, outside = _stall(50, 0.15, onset_at_02), _stall(300, 0.05, onset_at_02)
    assert stall_onset_claim([inside, _stall(100, 0.2, onset_at_02)],
                             "q")["verdict"] == "reproduced"
    row = stall_onset_claim([outside, inside], "q")
    assert row["verdict"] == "inconclusive" and row["beyond_paper"] == "beyond the paper"
    assert row["measured"].startswith("width 50: onset in (0.1, 0.2], predicted 0.15")
    assert stall_onset_claim([outside], "q")["verdict"] == "opposite"
    assert stall_onset_claim([], "q")["verdict"] == "not run at this scale"
