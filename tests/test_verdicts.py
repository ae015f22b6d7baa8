"""The shared verdict rules (noise_injection.claims.verdicts): each function in both
directions and at its boundary against scipy or hand-computed numbers. The calibration suite
(null rates, one effect in eight settings, divergence, power) is tests/test_calibration.py."""

import numpy as np
import pytest
from scipy import stats

from noise_injection.base.intervals import paired
from noise_injection.claims.verdicts import (
    INCONCLUSIVE, NOT_APPLICABLE, NOT_RUN, OPPOSITE, PARTLY, REPRODUCED, checks_verdict, holm,
    interval_verdict, noninferiority, one_sided_p, power, power_estimate, judge_lines,
    line_text, magnitude, seeds_needed, universal_verdict)

A, B = np.array([1.0, 2.5, 3.0, 2.2]), np.array([0.1, 0.4, -0.3, 0.9])


def test_paired_matches_scipy():
    est = paired(A - B)
    ref = stats.ttest_rel(A, B)
    ci = ref.confidence_interval(0.95)
    assert est["df"] == ref.df == 3 and est["n"] == 4
    assert (est["low"], est["high"]) == (pytest.approx(ci.low), pytest.approx(ci.high))
    assert one_sided_p(est["estimate"], est["se"], est["df"], +1) == pytest.approx(
        stats.ttest_rel(A, B, alternative="greater").pvalue)
    # a seed not finished in every setting (NaN) leaves the pairs
    gap = paired(np.array([*(A - B)[:3], np.nan]))
    ref = stats.ttest_rel(A[:3], B[:3]).confidence_interval(0.95)
    assert gap["n"] == 3 and (gap["low"], gap["high"]) == (pytest.approx(ref.low),
                                                          pytest.approx(ref.high))


def test_paired_across_experiments_is_welch_with_the_smaller_experiments_df():
    d1, d2 = A - B, np.array([0.3, -0.2, 0.9])  # narrow: (all - none); wide: -(all - none)
    est = paired(d1, d2)
    ref = stats.ttest_ind(d1, -d2, equal_var=False)  # Welch on the two sets of contrasts
    assert est["estimate"] / est["se"] == pytest.approx(ref.statistic)
    assert est["df"] == 2 and est["n"] == 3  # min(4, 3) - 1, not Satterthwaite's
    half = stats.t.ppf(0.975, 2) * est["se"]
    assert est["low"] == pytest.approx(d1.mean() + d2.mean() - half)
    one = paired(d1, d2[:1])  # one pair in an experiment: no interval
    assert one["n"] == 1 and np.isnan(one["low"]) and np.isnan(one["high"])


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


def test_universal_verdict_needs_every_declared_setting_run():
    assert universal_verdict([REPRODUCED, REPRODUCED]) == REPRODUCED
    assert universal_verdict([REPRODUCED, INCONCLUSIVE]) == INCONCLUSIVE
    assert universal_verdict([REPRODUCED, OPPOSITE]) == OPPOSITE
    # settings not run: not the bare word, and the words say how many
    assert universal_verdict([REPRODUCED, NOT_RUN, NOT_RUN]) == PARTLY
    assert universal_verdict([REPRODUCED, NOT_APPLICABLE]) == PARTLY
    assert line_text(PARTLY, [REPRODUCED, NOT_RUN, NOT_RUN, NOT_APPLICABLE]) == (
        "reproduced in 1 of 1 settings run (2 declared not run, 1 declared not applicable)")
    assert line_text(REPRODUCED, [REPRODUCED] * 3) == "reproduced in 3 of 3 declared settings"
    assert universal_verdict([NOT_RUN, NOT_RUN]) == NOT_RUN
    assert universal_verdict([NOT_APPLICABLE]) == NOT_APPLICABLE
    # a row contradicts the line only where the caller says so (the table-wide rule)
    assert universal_verdict([OPPOSITE, REPRODUCED], [False, False]) == INCONCLUSIVE


def test_a_line_is_opposite_only_at_its_rows_level_and_the_tables():
    # one row of one line: Holm over the table's m = 1 row at 5 % and the row's own 2.5 %
    lines, against = judge_lines([[OPPOSITE]], [[0.02]])
    assert lines == [OPPOSITE] and against[0].tolist() == [True]
    lines, _ = judge_lines([[INCONCLUSIVE]], [[0.04]])  # p < 5 % but the row is not opposite
    assert lines == [INCONCLUSIVE]
    # four rows over two lines (one not run): Holm at 5 % over the 3 rows run: 0.02 > 0.05/3
    lines, against = judge_lines([[OPPOSITE, NOT_RUN], [INCONCLUSIVE, INCONCLUSIVE]],
                                 [[0.02, np.nan], [0.5, np.nan]])
    assert lines == [INCONCLUSIVE, INCONCLUSIVE] and not against[0].any()
    assert line_text(INCONCLUSIVE, [OPPOSITE, NOT_RUN]) == (
        "inconclusive: reproduced in 0 of 1 settings run (1 declared not run); 1 read opposite "
        "at the row's level, not at the table-wide level 5%")
    lines, against = judge_lines([[OPPOSITE, NOT_RUN], [INCONCLUSIVE, INCONCLUSIVE]],
                                 [[0.01, np.nan], [0.5, np.nan]])  # 0.01 <= 0.05/3
    assert lines == [OPPOSITE, INCONCLUSIVE] and against[0].tolist() == [True, False]
    assert line_text(OPPOSITE, [OPPOSITE, NOT_RUN], against[0]) == (
        "opposite: 1 of 1 settings run contradict it at the table-wide level (1 declared not "
        "run)")


@pytest.mark.parametrize("low, high, paper, direction, expected", [
    (1.0, 2.0, (2.5, 2.5), +1, "below"), (1.0, 2.0, (2.1, 2.9), +1, "below"),
    (1.0, 2.0, (1.9, 2.9), +1, "within"), (1.0, 2.0, (0.2, 0.8), +1, "above"),
    (-2.0, -1.0, (-2.5, -2.5), -1, "below"),  # a decrease smaller than the paper's
    (-2.0, -1.0, (-0.5, -0.5), -1, "above"), (np.nan, np.nan, (1.0, 1.0), +1, ""),
])
def test_magnitude_places_the_papers_reading_against_our_interval(low, high, paper, direction,
                                                                  expected):
    assert magnitude(low, high, *paper, direction) == expected


def test_checks_verdict():
    assert checks_verdict([True, True], reversed_=False) == REPRODUCED
    assert checks_verdict([True, False], reversed_=False) == INCONCLUSIVE
    assert checks_verdict([False, False], reversed_=True) == OPPOSITE


def test_power_is_the_noncentral_t():
    expected = stats.nct.sf(stats.t.ppf(0.975, 2), 2, 1.0 * np.sqrt(3) / 1.0)
    assert power(1.0, [1.0], 3) == pytest.approx(expected)
    assert np.isnan(power(None, [1.0], 3)) and np.isnan(power(1.0, [0.0], 3))


def test_power_across_experiments_with_one_exact_experiment_is_the_noncentral_t():
    # an experiment without spread adds nothing: se^ = sigma chi / sqrt(n), df n - 1
    expected = stats.nct.sf(stats.t.ppf(0.975, 4), 4, 1.0 * np.sqrt(5))
    assert power(1.0, [1.0, 1e-9], 5) == pytest.approx(expected, abs=0.005)
    # two equal experiments: the power of the contrast sd sqrt(2) at the smaller df, lower
    assert power(1.0, [1.0, 1.0], 5) < stats.nct.sf(stats.t.ppf(0.975, 4), 4,
                                                     np.sqrt(5) / np.sqrt(2))


def test_printed_power_is_the_power_at_the_median_unbiased_spread_with_an_exact_interval():
    s, df, n = 0.8, 2, 3
    sigma = {q: s * np.sqrt(df / stats.chi2.ppf(q, df)) for q in (0.5, 0.975, 0.025)}
    truth = {q: stats.nct.sf(stats.t.ppf(0.975, n - 1), n - 1, 1.0 * np.sqrt(n) / sigma[q])
             for q in sigma}
    printed = power_estimate(1.0, [s], [df], n)
    assert printed["estimate"] == pytest.approx(truth[0.5])
    assert (printed["low"], printed["high"]) == (pytest.approx(truth[0.025]),
                                                 pytest.approx(truth[0.975]))
    # a zero spread is not evidence of a zero true spread: no number
    assert np.isnan(power_estimate(1.0, [0.0], [2], 3)["estimate"])
    assert np.isnan(power_estimate(1.0, [0.5], [0], 3)["estimate"])


def test_seeds_needed_reaches_the_power():
    n = seeds_needed(1.0, [1.0])

    def exact(k):  # paired t with k seeds, sd of the contrast 1
        return stats.nct.sf(stats.t.ppf(0.975, k - 1), k - 1, np.sqrt(k))

    assert exact(n) >= 0.8 > exact(n - 1) and n == 10
    assert seeds_needed(None, [1.0]) is None
    assert seeds_needed(1e-9, [1.0], most=50) == 51
