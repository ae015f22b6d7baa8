"""Where all-weights noise stalls, and Fig. 2's sigma calibrated on several digitized targets.

Theory's sigma: "all" = N(0, sigma^2) on every weight; "layer" = one of the two layers at
random with N(0, 2 sigma^2). One-hidden-layer linear net W2 W1 X^T (d2 outputs), n points.

Closed forms (noise_injection.theory): the all-weights smoothed loss is
R_eff + sigma^4 d1 d2 ||X||_F^2 / (2n), the layer-wise one is R_eff; min R_eff is
:func:`theory.linear_effective_risk_minimum`. R_eff of plain GD's end point is
R_gd + sigma^2 P_gd / (2n), with P_gd = d2 ||W1 X^T||^2 + ||W2||^2 ||X||^2 at the end point;
GD does not see sigma, so one GD run per width gives it for every sigma
(``gd_end`` = {"risk": [...], "penalty": [...]} per seed, penalty = P_gd / (2n); see
:func:`noise_injection.variance.dynamics.gd_end_point`).

Predicted onset (the issue's declared heuristic): all-weights noise stalls from the sigma at
which the sigma^4 d1 term overtakes the regularization gain,

    sigma^4 d1 d2 ||X||_F^2 / (2n) = R_eff,GD(sigma) - min R_eff(sigma).

This module needs no torch (the claims and figure jobs import it).
"""

from __future__ import annotations

import math

import numpy as np
from scipy.optimize import brentq, minimize_scalar

from noise_injection.base import paper_numbers
from noise_injection.base.constants import constant
from noise_injection.theory import linear_effective_risk_minimum

#: A run "reaches the optimum" when its late R_eff is within this factor of min R_eff (the
#: Fig. 2 claim's criterion); all-weights noise "stalls" at a sigma where it does not
#: (config/verdicts.yaml, optimum_factor).
STALL_FACTOR = constant("optimum_factor")
#: Fig. 2 targets, digitized from the paper's width-50 panel only and read from the registry
#: (config/paper_numbers.yaml, entry fig2_small), fixed before the fit: GD's late R_eff and
#: the R_eff optimum. The width-300 panel stays out of the fit, so that its row tests a
#: prediction (all-weights noise stalls there, layer-wise noise does not).
FIG2_TARGETS = {
    "gd_reff_small": paper_numbers.value("fig2_small")["gd_effective_risk"],
    "reff_optimum": paper_numbers.value("fig2_small")["optimum"],
}

def gd_effective_risk(gd_end: dict, sigma: float) -> float:
    """R_eff of GD's end point at ``sigma``, mean over seeds: R_gd + sigma^2 P_gd/(2n)."""
    return float(np.mean(np.asarray(gd_end["risk"]) + sigma**2 * np.asarray(gd_end["penalty"])))


def width_term(X: np.ndarray, Y: np.ndarray, width: int, sigma: float) -> float:
    """The all-weights excess of the smoothed loss, sigma^4 d1 d2 ||X||_F^2 / (2n)."""
    n, d2 = np.asarray(Y).reshape(len(X), -1).shape
    return sigma**4 * width * d2 * float(np.sum(np.asarray(X) ** 2)) / (2 * n)


def predicted_onset(X: np.ndarray, Y: np.ndarray, width: int, gd_end: dict) -> float:
    """The sigma in [1e-4, 10] where width_term = R_eff,GD - min R_eff (module docstring),
    by bracketing; NaN when the two do not cross there (e.g. GD's R_eff at the optimum)."""
    Y = np.asarray(Y).reshape(len(X), -1)

    def excess(log_sigma):
        s = math.exp(log_sigma)
        gain = gd_effective_risk(gd_end, s) - linear_effective_risk_minimum(X, Y, s)
        return math.log(width_term(X, Y, width, s)) - math.log(max(gain, 1e-300))

    lo, hi = math.log(1e-4), math.log(10.0)
    if not excess(lo) < 0 < excess(hi):
        return math.nan
    return math.exp(brentq(excess, lo, hi, xtol=1e-10))


def measured_onset(sigmas, late_all, optima) -> tuple[float, float]:
    """The interval holding the measured onset of the stall on a sigma grid: (largest sigma
    below the onset, onset sigma), where the onset is the smallest grid sigma from which on
    every all-weights late R_eff exceeds STALL_FACTOR x min R_eff (NaN = diverged = stalled).
    (0, sigma_min) when all stall, (sigma_max, inf) when none does."""
    order = np.argsort(sigmas)
    sigmas = np.asarray(sigmas, dtype=float)[order]
    late = np.asarray(late_all, dtype=float)[order]
    stalled = ~(late <= STALL_FACTOR * np.asarray(optima, dtype=float)[order])
    first = len(sigmas)
    while first > 0 and stalled[first - 1]:
        first -= 1
    low = sigmas[first - 1] if first > 0 else 0.0
    high = sigmas[first] if first < len(sigmas) else math.inf
    return float(low), float(high)


def calibrate_sigma(X: np.ndarray, Y: np.ndarray, small: int, gd_end: dict) -> dict:
    """Fig. 2's sigma: least squares of log(model / target) over :data:`FIG2_TARGETS` (the
    width-``small`` panel only) on [1e-4, 10]; ``gd_end``: GD's end point at that width. No
    constraint from the large width: its stall is the prediction the Fig. 2 row tests.
    Returns sigma, the width, model values, targets and log residuals.

    Only sigma is fitted. Label noise is ruled out by the paper's GD risk (~7e-7 with n = 40 >
    d0 = 10: noisy labels would leave least squares a residual), and the data scale a is not
    identifiable from these targets: each scales as sigma^2 a^2 (GD's end point, the limit of
    a flow that a only re-times, does not move), so their ratios are fixed by data and init."""
    Y = np.asarray(Y).reshape(len(X), -1)

    def model(sigma):
        return {"gd_reff_small": gd_effective_risk(gd_end, sigma),
                "reff_optimum": linear_effective_risk_minimum(X, Y, sigma)}

    def loss(log_sigma):
        values = model(math.exp(log_sigma))
        return sum(math.log(values[k] / t) ** 2 for k, t in FIG2_TARGETS.items())

    fit = minimize_scalar(loss, bounds=(math.log(1e-4), math.log(10.0)), method="bounded",
                          options={"xatol": 1e-10})
    sigma = float(math.exp(fit.x))
    values = model(sigma)
    return {"sigma": sigma, "width": small, "targets": dict(FIG2_TARGETS), "model": values,
            "log_residuals": {k: math.log(values[k] / t) for k, t in FIG2_TARGETS.items()}}
