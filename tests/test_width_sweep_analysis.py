"""The width sweep's analysis (docs/width_sweep.md): onsets interpolated and censored as
declared, the slope fits against scipy's regression, the prediction interval against its
matrix form, the claim rows W1-W4 on synthetic sweeps with a known truth, W1/W2's false
"reproduced" rate without an effect at the CPU scale's 4 widths x 2 seeds, and W3's
predicted slopes from the cached prediction (the numbers docs/width_sweep.md declared)."""

import math
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from noise_injection.claims import width_sweep as W
from noise_injection.claims.verdicts import (INCONCLUSIVE, OPPOSITE, REPRODUCED,
                                             interval_verdict, judge_lines)
from noise_injection.networks import onsets as O
from noise_injection.networks.sweep import MEAN_FIELD_SLOPES, load_prediction, predicted_slopes

ROOT = Path(__file__).resolve().parents[1]
GRID = [0.025, 0.05, 0.1, 0.2]
SWEEP_GRID = [0.025, 0.0354, 0.05, 0.0707, 0.1, 0.1414]
WIDTHS = [125, 250, 500, 1000]


# --- onsets -------------------------------------------------------------------------------

def test_onset_interpolates_linearly_in_log_sigma_at_the_first_crossing():
    # halfway between 0.05 (drop 1) and 0.1 (drop 3): the geometric mean of the two sigmas
    value, censored, low, high = O.onset(GRID, [0.0, 1.0, 3.0, 5.0], 2.0)
    assert value == pytest.approx(math.sqrt(0.05 * 0.1), rel=1e-12)
    assert (censored, low, high) == ("", 0.05, 0.1)
    # a drop exactly at the threshold on a grid point: that sigma
    assert O.onset(GRID, [0.0, 1.0, 2.0, 5.0], 2.0)[0] == pytest.approx(0.1, rel=1e-12)
    # not monotone: the FIRST crossing counts, 80 % of the way from 0.025 to 0.05 in log
    value = O.onset(GRID, [0.0, 2.5, 1.0, 4.0], 2.0)[0]
    assert value == pytest.approx(0.025 * 2 ** 0.8, rel=1e-12)


def test_onsets_outside_the_grid_are_censored_both_ways_as_bounds():
    value, censored, low, high = O.onset(GRID, [2.5, 3.0, 4.0, 5.0], 2.0)
    assert math.isnan(value) and censored == O.BELOW and math.isnan(low) and high == 0.025
    value, censored, low, high = O.onset(GRID, [0.0, 0.5, 1.0, 1.9], 2.0)
    assert math.isnan(value) and censored == O.ABOVE and low == 0.2 and math.isnan(high)
    value, censored, *_ = O.onset(GRID, [0.0, np.nan, 1.0, 5.0], 2.0)
    assert math.isnan(value) and censored == O.NO_REFERENCE
    with pytest.raises(ValueError, match="increase"):
        O.onset([0.1, 0.05], [0.0, 3.0], 2.0)


def _finals(gd, runs):
    """A seed_finals table: ``gd`` {seed: (status, acc)}, ``runs`` {(scheme, sigma, seed):
    (status, acc)}."""
    rows = [{"scheme": "none", "sigma": 0.0, "seed": s, "metric": "test_acc", "status": st,
             "value": v} for s, (st, v) in gd.items()]
    rows += [{"scheme": k[0], "sigma": k[1], "seed": k[2], "metric": "test_acc", "status": st,
              "value": v} for k, (st, v) in runs.items()]
    return pd.DataFrame(rows)


def test_paired_drops_count_a_diverged_run_as_chance_and_need_a_finished_gd_run():
    finals = _finals({0: ("ok", 80.0), 1: ("diverged", 70.0)},
                     {("all", 0.1, 0): ("diverged", 75.0), ("all", 0.1, 1): ("ok", 79.0),
                      ("layer", 0.1, 0): ("ok", 79.5), ("layer", 0.1, 1): ("ok", 79.0)})
    drops = O.paired_drops({64: finals}).set_index(["scheme", "seed"])["drop"]
    assert drops[("all", 0)] == pytest.approx(80.0 - 10.0)  # chance level of 10 classes
    assert drops[("layer", 0)] == pytest.approx(0.5)
    assert np.isnan(drops[("all", 1)]) and np.isnan(drops[("layer", 1)])


# --- fits -----------------------------------------------------------------------------------

def test_loglog_fit_is_scipys_least_squares_with_its_t_interval():
    rng = np.random.default_rng(1)
    x = np.log(np.repeat(WIDTHS, 2).astype(float))
    y = rng.normal(0, 0.1, (5, 8)) - 0.3 * x
    fit = O.loglog_fit(x, y)
    for i in range(5):
        ref = stats.linregress(x, y[i])
        half = stats.t.ppf(0.975, 6) * ref.stderr
        assert fit["slope"][i] == pytest.approx(ref.slope, rel=1e-12)
        assert fit["intercept"][i] == pytest.approx(ref.intercept, rel=1e-12)
        assert fit["se"][i] == pytest.approx(ref.stderr, rel=1e-10)
        assert (fit["low"][i], fit["high"][i]) == pytest.approx(
            (ref.slope - half, ref.slope + half), rel=1e-10)
    assert np.isnan(O.loglog_fit([1.0, 2.0], [0.0, 1.0])["low"])


def test_prediction_interval_is_the_matrix_form_for_one_new_point():
    rng = np.random.default_rng(2)
    x = np.log(np.repeat(WIDTHS, 2).astype(float))
    y = -0.35 * x + rng.normal(0, 0.05, 8)
    fit = O.loglog_fit(x, y)
    x0 = math.log(5000)
    design = np.column_stack([np.ones_like(x), x])
    coef, sse, *_ = np.linalg.lstsq(design, y, rcond=None)
    s2 = sse[0] / (len(x) - 2)
    v0 = np.array([1.0, x0])
    half = stats.t.ppf(0.975, len(x) - 2) * math.sqrt(
        s2 * (1 + v0 @ np.linalg.inv(design.T @ design) @ v0))
    yhat, low, high = O.prediction_interval(fit, x0)
    assert yhat == pytest.approx(v0 @ coef, rel=1e-10)
    assert (low, high) == pytest.approx((yhat - half, yhat + half), rel=1e-10)


# --- claim rows on synthetic sweeps ----------------------------------------------------------

PREDICTED = {"centre": {"layer": -0.145, "all": -0.346},
             "range": {"layer": (-0.175, -0.109), "all": (-0.356, -0.338)},
             "levels": [0.05, 0.2], "runs": [{"widths": WIDTHS}]}


def synthetic_finals(truth, seeds=2, noise=0.03, seed=0, gd_acc=78.0, per_log=6.0):
    """Per width, finals whose paired drop is linear in log sigma with slope ``per_log``
    points and reaches 2 points at sigma*(scheme, width) = truth[scheme](width) times a
    lognormal seed factor (sd ``noise``): the onset interpolation recovers it exactly."""
    rng = np.random.default_rng(seed)
    out = {}
    for width in WIDTHS:
        gd, runs = {}, {}
        for s in range(seeds):
            acc = gd_acc + rng.normal(0, 0.3)
            gd[s] = ("ok", acc)
            for scheme in ("layer", "all"):
                star = truth[scheme](width) * math.exp(rng.normal(0, noise))
                for sigma in SWEEP_GRID:
                    runs[(scheme, sigma, s)] = (
                        "ok", acc - 2.0 - per_log * (math.log(sigma) - math.log(star)))
        out[width] = _finals(gd, runs)
    return out


def power_law(at125, slope):
    return lambda w: at125 * (w / 125) ** slope


def tables(finals):
    return W.sweep_tables(finals, 2.0, PREDICTED, 1500, "test")


def verdicts(claims, claim):
    rows = claims[(claims["claim"] == claim)]
    return dict(zip(rows["row"], rows["verdict"]))


def test_a_sweep_with_the_predicted_slopes_reproduces_w1_w2_w3_and_recovers_its_onsets():
    truth = {"layer": power_law(0.11, -0.12), "all": power_law(0.065, -0.36)}
    out = tables(synthetic_finals(truth, noise=0.0))
    onsets = out["onsets"]
    for _, r in onsets.iterrows():  # without seed noise the onsets are the truth
        assert r["onset"] == pytest.approx(truth[r["scheme"]](r["width"]), rel=1e-9)
    fits = out["fits"].set_index("fit")
    assert fits.loc["layer", "slope"] == pytest.approx(-0.12, rel=1e-9)
    assert fits.loc["gap", "slope"] == pytest.approx(0.24, rel=1e-9)
    noisy = tables(synthetic_finals(truth, noise=0.03))["claims"]
    assert set(verdicts(noisy, "W1").values()) == {REPRODUCED}
    assert set(verdicts(noisy, "W2").values()) == {REPRODUCED}
    assert set(verdicts(noisy, "W3").values()) == {REPRODUCED}


def test_the_mean_field_slopes_read_opposite_in_w3_and_no_gap_is_not_reproduced_in_w2():
    mean_field = {s: power_law(0.09 if s == "layer" else 0.06, MEAN_FIELD_SLOPES[s])
                  for s in ("layer", "all")}
    claims = tables(synthetic_finals(mean_field, noise=0.01))["claims"]
    assert verdicts(claims, "W3") == {"claim": OPPOSITE, "layer": OPPOSITE, "all": OPPOSITE}
    parallel = {"layer": power_law(0.09, -0.2), "all": power_law(0.06, -0.2)}
    claims = tables(synthetic_finals(parallel, noise=0.02))["claims"]
    assert verdicts(claims, "W2")["gap slope"] != REPRODUCED
    assert set(verdicts(claims, "W1").values()) == {REPRODUCED}
    reversed_ = {"layer": power_law(0.05, -0.2), "all": power_law(0.09, -0.2)}
    claims = tables(synthetic_finals(reversed_, noise=0.02))["claims"]
    assert verdicts(claims, "W1")["claim"] == OPPOSITE


def test_censored_onsets_are_bounds_left_out_of_the_fits_and_withhold_what_they_contradict():
    # at width 125 layer-wise noise never breaks on the grid in seed 0: its log ratio is
    # known to be > 0 though not measured; the measured seeds elsewhere point the other way
    truth = {"layer": power_law(0.05, 0.0), "all": power_law(0.06, 0.0)}
    finals = synthetic_finals(truth, noise=0.02)
    table = finals[125]
    lift = (table["scheme"] == "layer") & (table["seed"] == 0)
    table.loc[lift, "value"] = table.loc[(table["scheme"] == "none") & (table["seed"] == 0),
                                         "value"].iloc[0]
    out = tables(finals)
    row = out["onsets"].set_index(["width", "scheme", "seed"]).loc[(125, "layer", 0)]
    assert row["censored"] == O.ABOVE and row["bracket_low"] == SWEEP_GRID[-1]
    fits = out["fits"].set_index("fit")
    assert fits.loc["layer", "n_points"] == 7 and fits.loc["layer", "n_left_out"] == 1
    assert fits.loc["gap", "n_points"] == 7
    claims = out["claims"].set_index(["claim", "row"])
    assert claims.loc[("W1", "width 125"), "verdict"] == INCONCLUSIVE
    assert "1/2" in claims.loc[("W1", "width 125"), "n_ok"]
    assert "layer above the grid 1/2" in claims.loc[("W1", "width 125"), "diverged"]
    # the bound fixes the sign; both measured or both beyond one end do not
    assert W._sign_fixed(O.ABOVE, "") == 1 and W._sign_fixed("", O.ABOVE) == -1
    assert W._sign_fixed(O.BELOW, O.ABOVE) == -1 and W._sign_fixed(O.ABOVE, O.ABOVE) == 0
    assert W._sign_fixed("", "") == 0 and W._sign_fixed(O.NO_REFERENCE, "") == 0


def test_w1_withholds_opposite_when_a_censored_seed_points_with_the_paper():
    ratios = np.array([[[-0.5, -0.52, np.nan]]])  # measured seeds: all-weights breaks later
    _, verdict, p = W.w1_core(ratios, np.array([[[0, 0, 0]]]))
    assert verdict[0, 0] == OPPOSITE
    _, verdict, p = W.w1_core(ratios, np.array([[[0, 0, +1]]]))
    assert verdict[0, 0] == INCONCLUSIVE and p[0, 0] == 1.0


def test_w4_predicts_fig3_from_the_all_weights_fit_and_reads_the_paper_by_the_same_rule():
    # all-weights onset 0.03 at every width: 0.01 lies below its prediction interval at width
    # 5,000, 0.05 and 0.1 above it
    truth = {"layer": power_law(0.1, 0.0), "all": power_law(0.03, 0.0)}
    prediction = tables(synthetic_finals(truth, noise=0.02))["fig3_prediction"]
    prediction = prediction.set_index("sigma")
    assert prediction.loc[0.01, "predicted"] == W.HOLDS
    assert prediction.loc[0.05, "predicted"] == W.BREAKS
    assert prediction["pi_low"].max() < 0.03 < prediction["pi_high"].min()
    # the paper at width 5,000 (registry: Fig. 3 at iteration 8000 GD 78.96, all-weights 79.29,
    # 77.28, 78.28; App. Fig. 8 final GD 79.235, all-weights 76.958 as digitized): drops -0.33,
    # 1.68, 0.68 and 2.28
    assert prediction.loc[0.01, "paper_fig3_drop"] == pytest.approx(78.96 - 79.29)
    assert prediction.loc[0.05, "paper"] == W.HOLDS
    assert prediction.loc[0.1, "paper_fig8_drop"] == pytest.approx(79.235 - 76.958, abs=1e-9)
    assert prediction.loc[0.1, "paper"] == W.AMBIGUOUS
    assert list(prediction["verdict"]) == [REPRODUCED, OPPOSITE, INCONCLUSIVE]


def test_w1_and_w2_read_reproduced_no_more_often_than_their_level_without_an_effect():
    """Calibration at the CPU scale's design (4 widths x 2 seeds): log ratios with no gap
    and no trend, normal per (width, seed), through the rows' own code."""
    n = 20_000
    rng = np.random.default_rng(3)
    ratios = rng.normal(0.0, 0.2, (n, 4, 2))
    _, row_verdicts, p = W.w1_core(ratios, np.zeros_like(ratios))
    (line,), _ = judge_lines([row_verdicts], [p])
    alpha, slack = 0.025, 3 * math.sqrt(0.025 * 0.975 / n)
    assert (row_verdicts == REPRODUCED).mean() <= alpha + slack  # each width
    assert (line == REPRODUCED).mean() <= alpha + slack
    x = np.log(np.repeat(WIDTHS, 2).astype(float))
    fit = O.loglog_fit(x, ratios.reshape(n, 8))
    w2 = interval_verdict(fit["low"], fit["high"], +1)
    rate = (w2 == REPRODUCED).mean()
    assert abs(rate - alpha) <= slack  # exact under the model: t interval, df 6


# --- the prediction at initialization --------------------------------------------------------

def _declared_runs() -> dict:
    """The prediction script's output as docs/width_sweep.md kept it before the runs: per
    run (its widths) the slopes per level, as printed."""
    text = (ROOT / "docs" / "width_sweep.md").read_text()
    declared = {}
    for block in re.findall(r"```text\n(excess of the smoothed.*?)```", text, flags=re.S):
        widths = tuple(int(w) for w in dict.fromkeys(
            re.findall(r"^\s+(\d+)\s+(?:layer|all) \|", block, flags=re.M)))
        declared[widths] = re.findall(r"level ([0-9.]+): layer ([-+0-9.]+), all ([-+0-9.]+)",
                                      block)
    return declared


def test_predicted_slopes_from_the_cache_are_the_ones_docs_width_sweep_declared():
    """Oracle: the doc's printed output. Every run the cache holds gives, per level, the
    slopes the doc printed for those widths."""
    declared = _declared_runs()
    slopes = predicted_slopes()
    assert slopes["runs"]
    for run in slopes["runs"]:
        lines = declared[tuple(run["widths"])]
        assert len(lines) == 3
        for level, layer, all_ in lines:
            got = run["slopes"][float(level)]
            assert (f"{got['layer']:+.3f}", f"{got['all']:+.3f}") == (layer, all_), \
                (run["widths"], level)


def test_the_prediction_holds_the_sweeps_widths_and_uses_the_declared_levels():
    """W3 compares the sweep with the prediction at its own widths (config/cpu.yaml): the
    cache holds every run the doc declared, that one included, and W3 uses the levels every
    width reaches inside the grid (the doc: 0.05 and 0.2, not 1) with the doc's ranges."""
    from noise_injection.workflow.config import load_config_file

    widths = tuple(load_config_file(ROOT / "config" / "cpu.yaml")
                   ["networks"]["width_sweep"]["widths"])
    declared = _declared_runs()
    assert widths in declared
    cached = sorted(tuple(r["widths"]) for r in predicted_slopes()["runs"])
    assert cached == sorted(declared), (
        "config/width_sweep_prediction.json lacks a run of docs/width_sweep.md; run: python "
        "benchmarks/width_sweep_prediction.py --widths " + " ".join(map(str, widths)) +
        " --draws 4 --seeds 2 --write config/width_sweep_prediction.json")
    slopes = predicted_slopes()
    assert slopes["levels"] == [0.05, 0.2]
    assert slopes["range"]["layer"] == pytest.approx((-0.175, -0.109), abs=5e-4)
    assert slopes["range"]["all"] == pytest.approx((-0.356, -0.338), abs=5e-4)


@pytest.mark.skipif(not Path("/usr/share/datasets/fashion-mnist").is_dir(),
                    reason="needs the local FashionMNIST copy")
def test_the_cached_prediction_recomputes_at_the_smallest_width():
    """A cheap part of benchmarks/width_sweep_prediction.py (width 128, all weights, the
    cache's seeds and draws) gives the cached excess curve."""
    import sys

    sys.path.insert(0, str(ROOT / "benchmarks"))
    try:
        import width_sweep_prediction as script
    finally:
        sys.path.remove(str(ROOT / "benchmarks"))
    cache = load_prediction()
    assert cache["sigmas"] == pytest.approx(script.SIGMAS.tolist(), rel=1e-15)
    width = min(w for run in cache["runs"] for w in run["widths"])
    fresh = script.excess_curve(width, "all", cache["seeds"], cache["draws"])
    np.testing.assert_allclose(fresh, cache["excess"][str(width)]["all"], rtol=1e-4, atol=2e-6)
