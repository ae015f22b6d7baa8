"""The shared verdict rules (noise_injection.claims.verdicts): each function in both
directions and at its boundary against hand-computed or independent (scipy) numbers, and the
calibration of the verdicts on simulated seed tables (null rate, family rate, power)."""

import numpy as np
import pytest
from scipy import stats

from noise_injection.claims.verdicts import (
    FAMILY_ALPHA,
    INCONCLUSIVE,
    NOT_RUN,
    OPPOSITE,
    REPRODUCED,
    all_rows_verdict,
    checks_verdict,
    contrast,
    family_verdict,
    holm,
    interval_verdict,
    noninferiority,
    one_sided_p,
    seeds_needed,
    with_diverged,
)

TABLES = 4000  # simulated tables per calibration test


def rate_bound(p: float, n: int = TABLES) -> float:
    """p plus 3 binomial standard errors of a rate estimated from n tables."""
    return p + 3 * np.sqrt(p * (1 - p) / n)


def seed_tables(effect: float, n_seeds: int, rows: int = 1, seed: int = 0):
    """Per table and row: (mean, std) of a treated setting (mean ``effect``) and of a control
    shared by the rows of a table, unit seed std."""
    rng = np.random.default_rng(seed)
    treated = rng.normal(effect, 1.0, (TABLES, rows, n_seeds))
    control = np.repeat(rng.normal(0.0, 1.0, (TABLES, 1, n_seeds)), rows, axis=1)
    means = np.stack([treated.mean(-1), control.mean(-1)], -1)
    stds = np.stack([treated.std(-1, ddof=1), control.std(-1, ddof=1)], -1)
    return means, stds


def row_verdicts(effect, n_seeds, rows=1, seed=0):
    means, stds = seed_tables(effect, n_seeds, rows, seed)
    est = contrast([1, -1], means, stds, np.full(means.shape, n_seeds))
    verdicts = interval_verdict(est["low"], est["high"], +1)
    p_paper = one_sided_p(est["estimate"], est["se"], est["df"], +1)
    p_opposite = one_sided_p(est["estimate"], est["se"], est["df"], -1)
    return verdicts, p_paper, p_opposite


# --- calibration ------------------------------------------------------------------------

def test_null_rate_of_one_comparison_with_three_seeds():
    verdicts, _, _ = row_verdicts(effect=0.0, n_seeds=3)
    reproduced = (verdicts == REPRODUCED).mean()
    assert reproduced <= rate_bound(0.05)
    # the two-sided error is the interval's 5% (Welch is near exact here), not far below it
    either = (verdicts != INCONCLUSIVE).mean()
    assert 0.02 <= either <= rate_bound(0.05)


def test_family_rate_of_the_holm_claim_line():
    """Seven rows sharing one control (as C5a's sigma sweep does), no true effect: the
    claim line says "reproduced" in at most 5% of the tables."""
    _, p_paper, p_opposite = row_verdicts(effect=0.0, n_seeds=3, rows=7, seed=1)
    verdict, confirmed, contradicted = family_verdict(p_paper, p_opposite)
    assert (verdict == REPRODUCED).mean() <= rate_bound(FAMILY_ALPHA)
    assert ((confirmed + contradicted) > 0).mean() <= rate_bound(FAMILY_ALPHA)
    # without Holm (any row's own interval) the family rate would exceed 5%
    rows, _, _ = row_verdicts(effect=0.0, n_seeds=3, rows=7, seed=1)
    assert ((rows == REPRODUCED).any(axis=1)).mean() > rate_bound(FAMILY_ALPHA)


def test_power_for_three_seed_stds_with_five_seeds():
    verdicts, p_paper, p_opposite = row_verdicts(effect=3.0, n_seeds=5, seed=2)
    assert (verdicts == REPRODUCED).mean() >= 0.9
    family, _, _ = family_verdict(p_paper, p_opposite)
    assert (family == REPRODUCED).mean() >= 0.9


def test_effect_in_the_other_direction_reads_opposite():
    verdicts, _, _ = row_verdicts(effect=-3.0, n_seeds=5, seed=3)
    assert (verdicts == OPPOSITE).mean() >= 0.9
    assert (verdicts == REPRODUCED).mean() == 0.0


# --- each function against an independent number ----------------------------------------

def test_contrast_matches_scipys_welch_test():
    a, b = np.array([1.0, 2.5, 3.0, 2.2]), np.array([0.1, 0.4, -0.3])
    est = contrast([1, -1], [a.mean(), b.mean()], [a.std(ddof=1), b.std(ddof=1)], [4, 3])
    ref = stats.ttest_ind(a, b, equal_var=False)
    ci = ref.confidence_interval(0.95)
    assert est["estimate"] == pytest.approx(a.mean() - b.mean())
    assert est["df"] == pytest.approx(ref.df)
    assert (est["low"], est["high"]) == (pytest.approx(ci.low), pytest.approx(ci.high))
    p = one_sided_p(est["estimate"], est["se"], est["df"], +1)
    assert p == pytest.approx(ref.pvalue / 2)
    assert one_sided_p(est["estimate"], est["se"], est["df"], -1) == pytest.approx(1 - p)


def test_contrast_of_four_settings_is_a_difference_of_differences():
    est = contrast([1, -1, -1, 1], [5.0, 4.0, 3.0, 4.0], [1.0, 2.0, 1.0, 2.0], [4, 4, 4, 4])
    assert est["estimate"] == pytest.approx(2.0)
    assert est["se"] == pytest.approx(np.sqrt((1 + 4 + 1 + 4) / 4))
    # Satterthwaite: (sum v)^2 / sum v^2/(n-1) with v = (1/4, 1, 1/4, 1)
    assert est["df"] == pytest.approx(2.5**2 / (2 * (1 / 16 + 1) / 3))


def test_contrast_without_a_spread_has_no_interval_and_zero_spread_is_exact():
    est = contrast([1, -1], [2.0, 1.0], [np.nan, 1.0], [1, 3])
    assert np.isnan(est["low"]) and interval_verdict(est["low"], est["high"], 1) == INCONCLUSIVE
    assert np.isnan(one_sided_p(est["estimate"], est["se"], est["df"], 1))
    exact = contrast([1, -1], [2.0, 1.0], [0.0, 0.0], [3, 3])
    assert (exact["low"], exact["high"]) == (1.0, 1.0)
    assert one_sided_p(exact["estimate"], exact["se"], exact["df"], 1) == 0.0


@pytest.mark.parametrize("low, high, direction, expected", [
    (0.1, 2.0, +1, REPRODUCED), (0.1, 2.0, -1, OPPOSITE),
    (-2.0, -0.1, +1, OPPOSITE), (-2.0, -0.1, -1, REPRODUCED),
    (-1.0, 1.0, +1, INCONCLUSIVE), (-1.0, 1.0, -1, INCONCLUSIVE),
    (0.0, 1.0, +1, INCONCLUSIVE), (-1.0, 0.0, -1, INCONCLUSIVE),  # touching zero: covers it
])
def test_interval_verdict(low, high, direction, expected):
    assert interval_verdict(low, high, direction) == expected


@pytest.mark.parametrize("estimate, expected", [
    (0.0, REPRODUCED), (-0.8, INCONCLUSIVE), (-3.0, OPPOSITE),
])
def test_noninferiority_both_ways(estimate, expected):
    # se 0.2, df 1e6 (normal): 90% half-width 1.6449 * 0.2 = 0.3290; margin 1
    result = noninferiority(estimate, 0.2, 1e6, margin=1.0)
    assert result["low"] == pytest.approx(estimate - 0.32897, abs=1e-4)
    assert result["high"] == pytest.approx(estimate + 0.32897, abs=1e-4)
    assert result["verdict"] == expected


def test_noninferiority_boundary_is_the_margin():
    half = stats.norm.ppf(0.95) * 0.2
    inside = noninferiority(-1.0 + half + 1e-6, 0.2, 1e9, margin=1.0)
    at = noninferiority(-1.0 + half - 1e-6, 0.2, 1e9, margin=1.0)
    assert inside["verdict"] == REPRODUCED and at["verdict"] == INCONCLUSIVE
    below = noninferiority(-1.0 - half - 1e-6, 0.2, 1e9, margin=1.0)
    assert below["verdict"] == OPPOSITE


def test_holm_by_hand():
    # sorted 0.005 <= 0.05/4, 0.01 <= 0.05/3, 0.03 > 0.05/2: stop
    assert holm([0.01, 0.04, 0.03, 0.005]).tolist() == [True, False, False, True]
    assert holm([0.03, 0.5]).tolist() == [False, False]  # 0.03 > 0.05/2 fails
    assert holm([0.025, 0.5]).tolist() == [True, False]  # exactly at 0.05/2 passes
    assert holm([0.01, 0.02, 0.03]).tolist() == [True, True, True]
    assert holm([np.nan, 0.001]).tolist() == [False, True]


@pytest.mark.parametrize("p_paper, p_opposite, expected", [
    ([0.001, 0.4], [0.999, 0.6], REPRODUCED),
    ([0.999, 0.4], [0.001, 0.6], OPPOSITE),
    ([0.001, 0.999], [0.999, 0.001], INCONCLUSIVE),
    ([0.2, 0.3], [0.8, 0.7], INCONCLUSIVE),
])
def test_family_verdict(p_paper, p_opposite, expected):
    verdict, _, _ = family_verdict(p_paper, p_opposite)
    assert verdict == expected


def test_family_verdict_boundary_uses_the_corrected_level():
    # two rows: the smallest two-sided p must be <= 0.025
    assert family_verdict([0.0125, 0.5], [0.9875, 0.5])[0] == REPRODUCED
    assert family_verdict([0.013, 0.5], [0.987, 0.5])[0] == INCONCLUSIVE


def test_all_rows_verdict():
    assert all_rows_verdict([REPRODUCED, REPRODUCED]) == REPRODUCED
    assert all_rows_verdict([REPRODUCED, INCONCLUSIVE]) == INCONCLUSIVE
    assert all_rows_verdict([REPRODUCED, OPPOSITE]) == OPPOSITE
    assert all_rows_verdict([REPRODUCED, NOT_RUN]) == NOT_RUN
    # with p-values against the paper, opposite needs Holm over them
    assert all_rows_verdict([OPPOSITE, INCONCLUSIVE], p_opposite=[0.04, 0.5]) == INCONCLUSIVE
    assert all_rows_verdict([OPPOSITE, INCONCLUSIVE], p_opposite=[0.02, 0.5]) == OPPOSITE


def test_checks_verdict():
    assert checks_verdict([True, True], reversed_=False) == REPRODUCED
    assert checks_verdict([True, False], reversed_=False) == INCONCLUSIVE
    assert checks_verdict([False, False], reversed_=True) == OPPOSITE


def test_with_diverged_pools_chance_scores_like_the_raw_values():
    ok = np.array([90.0, 92.0, 95.0])
    pooled = np.concatenate([ok, [10.0, 10.0]])
    mean, std, n = with_diverged(ok.mean(), ok.std(ddof=1), 3, 2, 10.0)
    assert (mean, std, n) == (pytest.approx(pooled.mean()), pytest.approx(pooled.std(ddof=1)), 5)
    mean, std, n = with_diverged(np.nan, np.nan, 0, 3, 10.0)  # all diverged
    assert (mean, std, n) == (10.0, 0.0, 3)
    mean, std, n = with_diverged(90.0, np.nan, 1, 1, 10.0)  # one ok run has no std
    assert (mean, std) == (50.0, pytest.approx(np.std([90.0, 10.0], ddof=1)))


def test_seeds_needed_reaches_the_power_by_the_noncentral_t():
    """Exact power of the equal-n two-sample t test (noncentral t) at the returned n is
    about 80%, and one seed fewer is below it."""
    n = seeds_needed(1.0, [1, -1], [1.0, 1.0])

    def power(k):
        df, nc = 2 * k - 2, 1.0 / np.sqrt(2 / k)
        return stats.nct.sf(stats.t.ppf(0.975, df), df, nc)

    assert power(n) >= 0.79 and power(n - 1) < 0.8
    assert seeds_needed(None, [1, -1], [1.0, 1.0]) is None
    assert seeds_needed(1.0, [1, -1], [np.nan, 1.0]) is None
    assert seeds_needed(1e-9, [1, -1], [1.0, 1.0], most=50) == 51
