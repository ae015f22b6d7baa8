"""The t interval every verdict and every analysis of seeds goes through: a contrast's
per-seed values d_s, s = 1..n, give mean(d) +- t_{n-1} sd(d) / sqrt(n) at the two-sided
``LEVEL`` of config/verdicts.yaml (:func:`paired`; several experiments combine with Welch's
standard error). Below the stages so that a stage's analysis (the width sweep's onsets) and
the verdict rules (:mod:`noise_injection.claims.verdicts`) share it.
"""

from __future__ import annotations

import numpy as np
from scipy import stats

from noise_injection.base.constants import constant

LEVEL = constant("level")


def _interval(estimate, se, df, level):
    half = stats.t.ppf(0.5 + level / 2, df) * se
    return {"estimate": estimate, "se": se, "df": df, "low": estimate - half,
            "high": estimate + half}


def paired(*groups, level: float = LEVEL) -> dict:
    """t interval of a contrast from per-seed contrasts, one array per experiment (last axis
    = seeds; NaN = a seed not finished in every setting of the contrast, left out).

    One experiment (the paired t): d_s, s = 1..n, mean(d) +- t_{n-1} sd(d) / sqrt(n).
    Several (C5d, seeds paired within each experiment, experiments independent): the sum of
    the experiments' means, se^2 = sum_j sd_j^2 / n_j (Welch's), and df = min_j n_j - 1: the
    Welch statistic referred to t with the smallest group's df is conservative for every
    ratio of the experiments' variances (Mickey and Brown 1966), which Satterthwaite's df is
    not at n = 3. ``n`` is min_j n_j; below 2 there is no interval (NaN). Also returns each
    experiment's sd and number of pairs (last axis), from which the printed power is
    estimated."""
    stats_ = [_finished(np.asarray(d, dtype=float)) for d in groups]
    n = np.min([k for _, _, k in stats_], axis=0)
    estimate = sum(m for m, _, _ in stats_)
    with np.errstate(invalid="ignore", divide="ignore"):
        se = np.sqrt(sum(s**2 / k for _, s, k in stats_))
    df = np.where(n > 1, n - 1.0, np.nan)
    return {**_interval(estimate, np.where(n > 1, se, np.nan), df, level), "n": n,
            "sd": np.stack([s for _, s, _ in stats_], -1),
            "pairs": np.stack([k for _, _, k in stats_], -1)}


def _finished(d):
    """Mean, sd (ddof 1; NaN below 2) and count of the non-NaN entries over the last axis."""
    n = (~np.isnan(d)).sum(-1)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = np.nansum(d, -1) / n
        var = np.nansum((d - mean[..., None]) ** 2, -1) / (n - 1)
    return mean, np.where(n > 1, np.sqrt(np.maximum(var, 0)), np.nan), n
