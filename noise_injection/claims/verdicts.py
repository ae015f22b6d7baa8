"""The shared verdict rules every stage's claim rows go through.

A claim row compares two or more settings declared before any result (a contrast of their
seed means, coefficients ``c_i``). Its estimate is sum_i c_i mean_i with the Welch
(Satterthwaite) standard error sqrt(sum_i c_i^2 s_i^2 / n_i), s_i the seed std (ddof=1), and
a two-sided 95% Welch t interval. Verdict words (:data:`VERDICTS`):

- "reproduced": the interval excludes zero in the paper's direction;
- "opposite": it excludes zero the other way;
- "inconclusive": it covers zero (or no interval exists, e.g. one seed);
- "not run at this scale": a setting the row needs was not run.

"No loss" claims are non-inferiority tests (one side of TOST) against a margin fixed before
the run: reproduced when the 90% interval's lower end lies above -margin, opposite when its
upper end lies below -margin. A claim spanning a family of rows is judged by Holm's rule at
family-wise level 5% (:func:`holm`). All functions take numpy arrays (vectorised over leading
axes) so that the calibration tests can simulate thousands of tables through them.
"""

from __future__ import annotations

import numpy as np
from scipy import stats

REPRODUCED, OPPOSITE, INCONCLUSIVE, NOT_RUN = (
    "reproduced", "opposite", "inconclusive", "not run at this scale")
VERDICTS = (REPRODUCED, OPPOSITE, INCONCLUSIVE, NOT_RUN)
#: Two-sided level of a row's interval; Holm's family-wise level.
LEVEL, FAMILY_ALPHA = 0.95, 0.05
#: One-sided level of a non-inferiority test (TOST convention: a 90% two-sided interval).
NONINFERIORITY_ALPHA = 0.05
#: Power at which :func:`seeds_needed` asks the paper's effect to be resolved.
POWER = 0.8


def with_diverged(mean, std, n_ok, n_diverged, value):
    """Seed mean, std (ddof=1) and count after adding ``n_diverged`` runs scored ``value``
    (e.g. chance accuracy) to ``n_ok`` ok runs of the given mean and std. An ok std that is
    undefined (n_ok < 2) counts as 0 within the ok runs."""
    mean, std, n_ok, n_div = (np.asarray(a, dtype=float) for a in (mean, std, n_ok, n_diverged))
    n = n_ok + n_div
    ok_mean = np.where(n_ok > 0, mean, 0.0)
    pooled = np.where(n > 0, (n_ok * ok_mean + n_div * value) / np.maximum(n, 1), np.nan)
    ss = (np.where(n_ok > 1, (n_ok - 1) * np.nan_to_num(std) ** 2, 0.0)
          + n_ok * (ok_mean - pooled) ** 2 + n_div * (value - pooled) ** 2)
    var = np.where(n > 1, ss / np.maximum(n - 1, 1), np.nan)
    return pooled, np.sqrt(var), n


def contrast(coefficients, means, stds, ns, level: float = LEVEL) -> dict:
    """sum_i c_i mean_i with its Welch standard error, Satterthwaite degrees of freedom and
    two-sided ``level`` interval (last axis = settings). Where every variance is zero the
    interval shrinks to the estimate; where a std is undefined (n < 2) everything is NaN."""
    c, m, s, n = (np.asarray(a, dtype=float) for a in (coefficients, means, stds, ns))
    estimate = (c * m).sum(axis=-1)
    parts = c**2 * s**2 / n
    var = parts.sum(axis=-1)
    with np.errstate(divide="ignore", invalid="ignore"):
        df = var**2 / (parts**2 / (n - 1)).sum(axis=-1)
    df = np.where(var > 0, df, np.inf)
    se = np.sqrt(var)
    half = stats.t.ppf(0.5 + level / 2, df) * se
    return {"estimate": estimate, "se": se, "df": df, "low": estimate - half,
            "high": estimate + half}


def interval_verdict(low, high, direction):
    """Verdict of an interval for a paper that predicts the sign ``direction`` (+1 or -1)."""
    low, high = np.asarray(low, dtype=float), np.asarray(high, dtype=float)
    favour_low, favour_high = (low, high) if direction > 0 else (-high, -low)
    return np.where(favour_low > 0, REPRODUCED,
                    np.where(favour_high < 0, OPPOSITE, INCONCLUSIVE))


def one_sided_p(estimate, se, df, direction, shift=0.0):
    """P-value of H0: direction * (estimate + shift) <= 0 (one-sided t test)."""
    estimate, se = np.asarray(estimate, dtype=float), np.asarray(se, dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        t = direction * (estimate + shift) / se
    t = np.where(se > 0, t, np.where(direction * (estimate + shift) > 0, np.inf, -np.inf))
    return np.where(np.isnan(se) | np.isnan(estimate), np.nan, stats.t.sf(t, df))


def noninferiority(estimate, se, df, margin, alpha: float = NONINFERIORITY_ALPHA):
    """"No loss" (estimate = ours - reference): the (1 - 2 alpha) interval and its verdict:
    reproduced if its lower end > -margin, opposite if its upper end < -margin."""
    estimate, se = np.asarray(estimate, dtype=float), np.asarray(se, dtype=float)
    half = stats.t.ppf(1 - alpha, df) * se
    low, high = estimate - half, estimate + half
    verdict = np.where(low > -margin, REPRODUCED,
                       np.where(high < -margin, OPPOSITE, INCONCLUSIVE))
    return {"low": low, "high": high, "verdict": verdict}


def holm(pvalues, alpha: float = FAMILY_ALPHA):
    """Holm's step-down rule over the last axis: which hypotheses are rejected at
    family-wise error ``alpha``. NaN p-values are never rejected and count in the family."""
    p = np.nan_to_num(np.asarray(pvalues, dtype=float), nan=1.0)
    m = p.shape[-1]
    order = np.argsort(p, axis=-1)
    ranked = np.take_along_axis(p, order, axis=-1)
    passes = ranked <= alpha / (m - np.arange(m))
    accepted = np.cumprod(passes, axis=-1).astype(bool)
    rejected = np.zeros_like(accepted)
    np.put_along_axis(rejected, order, accepted, axis=-1)
    return rejected


def family_verdict(p_paper, p_opposite, alpha: float = FAMILY_ALPHA):
    """A claim over a family of rows (last axis), one-sided p-values per row for the paper's
    direction and against it. Holm over the two-sided p-values 2 min(p_paper, p_opposite):
    reproduced if it confirms the paper's direction in at least one row and the opposite in
    none; opposite if the reverse; inconclusive otherwise. Returns (verdict, confirmed,
    contradicted), the last two counts of rows."""
    p_paper, p_opposite = np.asarray(p_paper, float), np.asarray(p_opposite, float)
    two_sided = np.minimum(1.0, 2 * np.minimum(p_paper, p_opposite))
    rejected = holm(two_sided, alpha)
    confirmed = (rejected & (p_paper <= p_opposite)).sum(axis=-1)
    contradicted = (rejected & (p_paper > p_opposite)).sum(axis=-1)
    verdict = np.where((confirmed > 0) & (contradicted == 0), REPRODUCED,
                       np.where((contradicted > 0) & (confirmed == 0), OPPOSITE, INCONCLUSIVE))
    return verdict, confirmed, contradicted


def all_rows_verdict(verdicts, p_opposite=None, alpha: float = FAMILY_ALPHA) -> str:
    """A claim that needs every row (intersection-union: no multiplicity correction): not run
    if any row was not run, reproduced if all rows are; opposite if any row is (with one-sided
    p-values against the paper, ``p_opposite``: if Holm rejects at least one at ``alpha``);
    else inconclusive."""
    verdicts = list(verdicts)
    if NOT_RUN in verdicts:
        return NOT_RUN
    if all(v == REPRODUCED for v in verdicts):
        return REPRODUCED
    if p_opposite is None:
        return OPPOSITE if OPPOSITE in verdicts else INCONCLUSIVE
    return OPPOSITE if holm(p_opposite, alpha).any() else INCONCLUSIVE


def checks_verdict(checks, reversed_: bool) -> str:
    """A deterministic check list against the paper's thresholds: reproduced if every check
    holds, opposite if the declared reversal of the paper's statement holds, else
    inconclusive."""
    if all(checks):
        return REPRODUCED
    return OPPOSITE if reversed_ else INCONCLUSIVE


def seeds_needed(effect, coefficients, stds, power: float = POWER, level: float = LEVEL,
                 most: int = 10_000):
    """Seeds per setting for which a contrast with the paper's ``effect`` and our seed stds
    would exclude zero with probability ``power`` (t approximation, Welch df with equal n):
    the smallest n >= 2 with (t_{level} + t_{power}) sqrt(sum c_i^2 s_i^2 / n) <= |effect|.
    None where the effect or a std is unknown; ``most`` + 1 means 'more than most'."""
    if effect is None or not np.isfinite(effect) or effect == 0:
        return None
    c2s2 = np.asarray(coefficients, float) ** 2 * np.asarray(stds, float) ** 2
    if not np.all(np.isfinite(c2s2)):
        return None
    total, effect = c2s2.sum(), abs(effect)

    def need(n: int) -> float:  # decreasing in n: bisection below
        df = total**2 / ((c2s2**2).sum() / (n - 1)) if total > 0 else np.inf
        return (stats.t.ppf(0.5 + level / 2, df) + stats.t.ppf(power, df)) * np.sqrt(total / n)

    if need(most) > effect:
        return most + 1
    low, high = 1, most  # need(high) <= effect; n = 1 has no interval
    while high - low > 1:
        mid = (low + high) // 2
        low, high = (low, mid) if need(mid) <= effect else (mid, high)
    return high
