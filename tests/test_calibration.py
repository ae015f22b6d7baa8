"""Calibration of the verdict rules by simulation under known truths, through the project's
own functions (noise_injection.workflow.calibration: seedrows.judge for rows, verdicts.
judge_lines for claim lines, the declared comparisons of each scale for whole tables), at the
configs' seed counts (n = 3, and 5).

Each rate is measured over calibration.TABLES = 20,000 simulated tables (4,000 for whole
tables), from fixed seeds. A rate with target p is bounded by p + 3 Monte-Carlo standard
errors sqrt(p (1 - p) / tables): 2.83 % for p = 2.5 % (a rule exactly at its target fails
with probability 0.13 %; seeded draws make the outcome fixed), while the rules before issue 30
measured 3.0-12 % in these cases (each test was seen failing on them: commit 63d913a). The
measured rates are printed (pytest -s) and recorded in report/verdict_calibration.csv, which
the report's "Verdict rules" page shows; the last test checks that record is current."""

import numpy as np
import pytest
from scipy import stats

from noise_injection.workflow import calibration as C
from noise_injection.claims import verdicts as V


@pytest.fixture(scope="module")
def measured():
    """Every case of the suite, measured once (about half a minute on 2 idle cores)."""
    return {c["case"]: c for c in C.all_cases()}


def bound(p, tables=C.TABLES):
    """p plus 3 binomial standard errors at ``tables`` tables."""
    return p + 3 * C.mc_se(p, tables)


def show(*cases):
    for case in cases:
        print(f"{case['case']}: {case['rate']:.2%} +- {case['mc_se']:.2%} "
              f"(target {case['target']}; {case['tables']} tables)")


def test_a_paired_row_without_divergence_keeps_its_level(measured):
    cases = [c for name, c in measured.items() if name.startswith("row null")]
    assert len(cases) == 4  # n = 3 and 5, false reproduced and opposite
    show(*cases)
    assert all(c["rate"] <= bound(0.025) for c in cases)


@pytest.mark.parametrize("lost", [1, 2])
def test_diverged_seeds_keep_the_level_whichever_arm_spreads_more(measured, lost):
    """1 or 2 of 3 seeds diverged in one arm, that arm's spread 3x the other's or the other
    way: a false "reproduced" (predicted-worse arm lost runs) or "opposite" (predicted-better
    arm) at most 2.5 %. Before: 6.4 / 6.7 % (1 lost), 12.1 / 12.1 % (2 lost)."""
    cases = [c for name, c in measured.items() if name.startswith(f"diverged {lost} of 3")]
    assert len(cases) == 2
    show(*cases)
    assert all(c["rate"] <= bound(0.025) for c in cases)


def test_a_row_with_one_pair_left_reads_too_few_pairs():
    values = np.array([[[80.0, 81.0, 82.0], [75.0, 76.0, 77.0]]] * 5)
    values[:, 1, :2] = np.nan
    row = C._row(values)
    assert set(row["verdict"]) == {V.INCONCLUSIVE} and np.isnan(row["low"]).all()
    assert all("too few pairs" in n for n in row["note"])


def test_a_diverged_seed_leaves_enough_pairs_to_find_a_large_effect():
    """Power against the plausible bug "a diverged run makes every row inconclusive": the
    finished pairs carry an effect of 10 spreads of the pair differences; with 2 pairs (df 1,
    t 12.7) the row reads reproduced in about 90 % of tables (P(T_1(10 sqrt 2) > 12.7))."""
    rng = np.random.default_rng(1)
    values = C.arms(rng, C.TABLES, 3, means=(10 * np.sqrt(2), 0.0))  # sd(d) = sqrt 2
    values[:, 1, :1] = np.nan
    rate = np.mean(C._row(values)["verdict"] == V.REPRODUCED)
    expected = stats.nct.sf(stats.t.ppf(0.975, 1), 1, 10 * np.sqrt(2) / np.sqrt(2 / 2))
    assert abs(rate - expected) <= 3 * C.mc_se(expected, C.TABLES)


@pytest.mark.parametrize("n", [3, 5])
def test_trace_rows_on_the_log_scale_keep_the_level(measured, n):
    """Equal geometric means (the null of a ratio), the predicted-lower arm lognormal with
    cv 1: before (t on raw traces) 3.6 % (n=3), 3.0 % (n=5)."""
    case = measured[f"trace lognormal n={n}"]
    show(case)
    assert case["rate"] <= bound(0.025)


def test_c5d_pairs_within_each_experiment_and_keeps_the_level(measured):
    """Before: Welch across the four settings, unpaired: 0.5 % with equal spreads (the
    pairing thrown away) and 3.4 % with one setting at 5x the spread."""
    cases = [c for name, c in measured.items() if name.startswith("C5d")]
    show(*cases)
    assert all(c["rate"] <= bound(0.025) for c in cases)
    assert all("paired within experiments" in c["what"] for c in cases)


def test_a_withheld_opposite_never_reaches_the_line(measured):
    """Before (Holm at 5 % within the line, on the row's p-value even where the row withheld
    "opposite"): 7.2 % of such single-row lines read "opposite"."""
    case = measured["withheld opposite, line"]
    show(case)
    assert case["rate"] == 0


def test_a_lines_opposite_follows_its_rows(measured):
    """Before: a single-row line read "opposite" in 5.3 % of tables (its row 2.5 %), in
    2.6 % while its only row read inconclusive."""
    line = measured["single-row line, opposite"]
    without_row = measured["single-row line, opposite without its row"]
    show(line, without_row)
    assert line["rate"] <= bound(0.025) and without_row["rate"] == 0


@pytest.mark.parametrize("scale", list(C.SCALES))
def test_the_table_wide_opposite_rate_is_controlled(measured, scale):
    """No effect anywhere, every declared row of the scale (configs' seeds): at least one
    "opposite" line in at most table_alpha = 5 % of tables (+ 3 s.e. at 4,000 tables: 6.0 %).
    Before: 28 % (quick), 9.5 % (CPU), 31 % (paper)."""
    opposite = measured[f"table {scale}, opposite"]
    show(opposite, measured[f"table {scale}, reproduced"])
    assert opposite["rate"] <= bound(V.TABLE_ALPHA, C.TABLE_TABLES)


@pytest.mark.parametrize("n", [3, 5])
def test_a_universal_line_needs_every_setting(n):
    """Eight settings, an effect of 5 pair-spreads in one: its row reads reproduced in most
    tables, the line in at most 2.5 % (the other seven rows would all have to be false
    "reproduced"); with the effect in all eight the line reads reproduced mostly."""
    rng = np.random.default_rng(20 + n)
    one = np.zeros(8)
    one[0] = 5.0 * np.sqrt(2 * (1 - C.RHO))
    rows = [C._row(C.arms(rng, C.TABLES, n, means=(m, 0.0), rho=C.RHO)) for m in one]
    verdicts = np.stack([r["verdict"] for r in rows], -1)
    lines = V.judge_lines([verdicts], [np.stack([r["p_opposite"] for r in rows], -1)])[0][0]
    assert np.mean(verdicts[:, 0] == V.REPRODUCED) > 0.9
    assert np.mean(lines == V.REPRODUCED) <= bound(0.025)
    every = [C._row(C.arms(rng, C.TABLES, n, means=(one[0], 0.0), rho=C.RHO)) for _ in one]
    lines = V.judge_lines([np.stack([r["verdict"] for r in every], -1)],
                          [np.stack([r["p_opposite"] for r in every], -1)])[0][0]
    assert np.mean(lines == V.REPRODUCED) > 0.5


def test_the_printed_power_is_median_unbiased(measured):
    """At a true power of 30 % with 3 seeds, the printed estimate lies at or below the
    truth in half the tables (+- 3 s.e. = 1.06 points at 20,000 tables). Before (plug-in at
    the observed spread): 36 % of tables, printed 10th / 50th / 90th percentiles 17 / 39 /
    94 %, >= 80 % in 18 % of tables."""
    case = measured["power, estimate at or below the truth"]
    show(case, measured["power, printed >= 80 %"])
    assert abs(case["rate"] - 0.5) <= 3 * C.mc_se(0.5, C.TABLES)


def test_the_printed_power_interval_covers_the_truth(measured):
    """The printed 95 % interval covers the true power in >= 95 % of tables (- 3 s.e.: 94.5 %
    at 20,000 tables, 92.9 % at 1,000 for C5d's row). Before: no interval (0 %)."""
    paired = measured["power, interval covers the truth"]
    across = measured["power across experiments, interval covers the truth"]
    show(paired, across)
    assert paired["rate"] >= 0.95 - 3 * C.mc_se(0.95, C.TABLES)
    assert across["rate"] >= 0.95 - 3 * C.mc_se(0.95, C.ACROSS_TABLES)


def test_magnitude_rarely_misplaces_the_papers_value_when_it_is_the_truth(measured):
    """True effect = the paper's value, no reading error (the hardest case): "below" and
    "above" each in at most 2.5 % of tables (the 95 % interval's tails; C5d's conservative df
    makes them rarer). Before: no magnitude at all (verdicts.magnitude did not exist)."""
    cases = [c for name, c in measured.items() if name.startswith("magnitude")]
    assert len(cases) == 4  # below / above, paired row / C5d's row
    show(*cases)
    assert all(c["rate"] <= bound(0.025) for c in cases)


def test_the_report_and_the_readme_print_the_rates_measured_here(measured):
    """report/verdict_calibration.csv (the "Verdict rules" page) and the README's table-wide
    rates are what this suite measures (rewrite: python -m noise_injection.workflow.calibration
    write)."""
    cases = list(measured.values())
    assert C.RATES.read_text() == C.rates_table(cases).to_csv(index=False, float_format="%.6g")
    assert C.README.read_text() == C.readme_text(cases)
