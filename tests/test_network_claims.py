"""Claims C5-C6 on synthetic per-seed finals (the aggregation's finals.csv format) through
network_claims: universal claim lines over the settings run, paired tests, divergence counted
per arm, power in the row, C6b's non-inferiority margin and scope, each row's citation."""

import functools
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from noise_injection.base import paper_numbers as paper
from noise_injection.claims.networks import network_claims
from noise_injection.claims.table import CLAIM_COLUMNS
from noise_injection.workflow.config import validate_config

ROOT = Path(__file__).resolve().parents[1]
OFFSETS = (-0.1, 0.0, 0.1)  # per-seed offsets shared by the schemes (the paired design)


@functools.cache
def paper_config():
    return yaml.safe_load((ROOT / "config" / "paper.yaml").read_text())["networks"]["experiments"]


@functools.cache
def configs(scale="config"):
    config = yaml.safe_load((ROOT / "config" / f"{scale}.yaml").read_text())
    return validate_config(config, ROOT / "config" / "schema.yaml")["networks"]["experiments"]


def claims(acc=lambda e, scheme, sigma: 0.0, trace=lambda e, scheme, sigma: 0.0, diverged=(),
           exps=None, noise=0.0, peak=0.0):
    """Claims on synthetic finals: accuracy 80 + acc(...), trace 100 + trace(...), plus the
    per-seed offset (shared by the schemes) and independent noise of sd ``noise``; runs in
    ``diverged`` ((experiment, scheme, sigma, seed)) diverge; SGD peaks ``peak`` above its
    final accuracy."""
    exps = exps or configs()
    rng = np.random.default_rng(0)
    finals = {}
    for name, exp in exps.items():
        rows = []
        settings = [("none", 0.0)] + [(k, s) for k in ("layer", "all") for s in exp["sigmas"][k]]
        for scheme, sigma in settings:
            for seed, offset in enumerate(OFFSETS):
                status = "diverged" if (name, scheme, sigma, seed) in diverged else "ok"
                a = 80 + acc(name, scheme, sigma) + offset + noise * rng.normal()
                values = {"test_acc": a, "test_acc_peak": a + (peak if scheme == "none" else 0),
                          "hessian_trace": 100 + trace(name, scheme, sigma) + offset}
                rows += [{"scheme": scheme, "sigma": sigma, "seed": seed, "metric": m,
                          "status": status, "value": v} for m, v in values.items()]
        finals[name] = pd.DataFrame(rows)
    return network_claims(finals, exps, "quick", len(OFFSETS))


def line(table, claim):
    return table[(table.claim == claim) & (table.level == "claim")].iloc[0]


def rows(table, claim):
    return table[(table.claim == claim) & (table.level == "comparison")].set_index("row")


def layer_gain(gain, where=None):
    return lambda e, scheme, s: gain if scheme == "layer" and (where is None or e == where) else 0


def test_table_columns_claims_and_paired_tests():
    table = claims(acc=layer_gain(1.0), noise=0.05)
    assert list(table.columns) == list(CLAIM_COLUMNS)
    assert set(table.claim) == {"C5a", "C5b", "C5c", "C5d", "C5e", "C5f", "C6a", "C6b", "C6c",
                                "C6d"}
    c5a = rows(table, "C5a")
    assert len(c5a) == 8 and set(c5a.test) == {
        "paired t on the per-seed contrasts of the seeds finished in every setting"}
    assert set(rows(table, "C5d").test) == {  # across experiments
        "paired t within each experiment, Welch across them (df = the smaller experiment's "
        "pairs - 1)"}
    assert (c5a.verdict == "reproduced").all()
    assert line(table, "C5a").verdict_text == "reproduced in 8 of 8 declared settings"


def test_a_universal_line_needs_every_setting():
    table = claims(acc=layer_gain(1.0, "mlp5_wide"), noise=0.05)
    assert rows(table, "C5a").loc["mlp5_wide s=0.05", "verdict"] == "reproduced"
    assert line(table, "C5a").verdict == "inconclusive"
    assert line(table, "C5a").measured == "inconclusive: reproduced in 1 of 8 settings run"
    opposite = claims(acc=lambda e, k, s: -1.0 if (k, e) == ("layer", "fcnn") else
                      (1.0 if k == "layer" else 0.0), noise=0.05)
    assert line(opposite, "C5a").verdict == "opposite"


def test_a_scale_that_runs_one_experiment_says_so():
    exps = {"mlp3_narrow": configs()["mlp3_narrow"]}
    table = claims(acc=layer_gain(1.0), noise=0.05, exps=exps)
    c5a = rows(table, "C5a")
    assert c5a.loc["mlp3_narrow s=0.05", "verdict"] == "reproduced"
    assert (c5a.drop("mlp3_narrow s=0.05").verdict == "not run at this scale").all()
    # an absent experiment is one row at the paper's sigma: 6 declared, 5 not run
    assert line(table, "C5a").verdict == "reproduced in the settings run"
    assert line(table, "C5a").verdict_text == ("reproduced in 1 of 1 settings run (5 declared "
                                               "not run)")
    assert line(table, "C6a").verdict == "not run at this scale"


def test_diverged_runs_are_counted_per_arm_and_withhold_a_contradicted_reading():
    div = {("mlp3_narrow", "none", 0.0, 0)}
    table = claims(acc=layer_gain(5.0), diverged=div, noise=0.05)
    row = rows(table, "C5a").loc["mlp3_narrow s=0.05"]
    assert row.diverged == "mlp3_narrow layer s=0.05 0/3; mlp3_narrow none 1/3"
    assert row.test.startswith("paired t on the per-seed contrasts of the seeds finished")
    assert row.verdict == "reproduced"  # SGD (predicted worse) diverged: no contradiction
    # the two pairs left: seeds 1 and 2, layer - none = 5 + noise
    div = {("mlp3_narrow", "layer", 0.05, 0)}
    row = rows(claims(acc=layer_gain(5.0), diverged=div, noise=0.05), "C5a").loc[
        "mlp3_narrow s=0.05"]
    assert row.verdict == "inconclusive" and "withheld" in row.verdict_text
    # one pair left: no interval
    div = {("mlp3_narrow", "none", 0.0, 0), ("mlp3_narrow", "none", 0.0, 1)}
    row = rows(claims(acc=layer_gain(5.0), diverged=div, noise=0.05), "C5a").loc[
        "mlp3_narrow s=0.05"]
    assert row.verdict == "inconclusive" and "too few pairs" in row.verdict_text
    assert np.isnan(row.ci_low)


def test_trace_rows_are_ratios_of_geometric_means():
    # traces 100 + offset (-0.1, 0, 0.1) for GD, layer-wise x 0.5: per-seed log ratios log 0.5
    table = claims(trace=lambda e, k, s: -50.0 if k == "layer" else 0.0)
    row = rows(table, "C5b").loc["Fig. 7 mlp3_narrow s=0.05: layer-wise < GD"]
    ratios = np.array([(50 + o) / (100 + o) for o in OFFSETS])
    assert row.estimate == pytest.approx(np.exp(np.log(ratios).mean()))
    assert "log values" in row.test and row.verdict == "reproduced"


def test_power_is_an_estimate_with_its_interval_and_only_on_the_papers_data():
    quick = rows(claims(noise=0.05), "C6a").iloc[0]
    assert quick.power == ("not comparable: this scale trains resnet18 on digits, the paper "
                           "on cifar10")
    assert quick.verdict_text == f"inconclusive; power: {quick.power}"
    cifar = {**configs(), "resnet18": {**configs()["resnet18"], "dataset": "cifar10"}}
    row = rows(claims(exps=cifar, noise=0.05), "C6a").iloc[0]
    pct = r"[<>]?\d+%"
    assert re.fullmatch(rf"{pct} \[{pct}, {pct}\] with 3 seeds at the paper's effect \+0\.289 "
                        r"\(median-unbiased estimate from our seed spread; 95 % interval\); "
                        r"80% needs \d+ seeds \(\d+ to (more than 1000|\d+) over the "
                        r"interval\)", row.power), row.power
    # equal contrasts on every seed (no noise): no spread, no power
    exact = rows(claims(exps=cifar), "C6a").iloc[0]
    assert exact.power.startswith("not estimable: no spread")
    # traces: only the order is comparable
    assert rows(claims(), "C5b").iloc[0].power.startswith("not comparable: the paper's Hessian")


def test_c6b_margin_is_half_the_papers_gain_and_needs_the_papers_data():
    gain = max(paper.value("fig6_layer_test_acc")) - paper.value("fig6_sgd_test_acc")
    table = claims()
    assert set(rows(table, "C6b").verdict) == {"not applicable at this scale"}
    assert line(table, "C6b").verdict == "not applicable at this scale"
    cifar = {**configs(), "resnet18": {**configs()["resnet18"], "dataset": "cifar10"}}
    table = claims(exps=cifar, noise=0.01)
    c6b = rows(table, "C6b")
    assert set(c6b.verdict) == {"reproduced"}
    assert f"margin {0.5 * gain:.3g}" in c6b.iloc[0].paper
    loss = claims(exps=cifar, acc=lambda e, k, s: -0.5 if k == "layer" else 0, noise=0.01)
    assert set(rows(loss, "C6b").verdict) == {"opposite"}


def test_c5c_is_a_trend_over_every_sigma_and_c5d_compares_equal_sigmas():
    table = claims(acc=lambda e, k, s: -10 * s if k == "all" else 0, noise=0.05)
    c5c = rows(table, "C5c").iloc[0]
    assert c5c.verdict == "reproduced" and c5c.setting.count("mlp3_wide all") == 3
    # Fig. 3 read at iteration 8,000 (the registry's fig3_all_test_acc)
    paper_slope = np.polyfit(np.log10([0.01, 0.05, 0.1]), [79.29, 77.28, 78.28], 1)[0]
    assert f"slope {paper_slope:+.2f}" in c5c.paper
    assert list(rows(table, "C5d").index) == ["mlp3_narrow vs mlp3_wide s=0.05",
                                              "mlp5_narrow vs mlp5_wide s=0.05"]


#: The trace orders read by hand off the digitized curves (config/paper_digitized): App.
#: Figs. 7-10 over their last quarter, Fig. 11 as the registry reads it, Fig. 6 per sigma
#: where the s.e.m. bars do not overlap. (lower, higher); the wide MLPs' "x < all-weights"
#: pairs are C5f.
ORDERS = {
    "C5b": ["Fig. 7 mlp3_narrow s=0.05: all-weights < layer-wise",
            "Fig. 7 mlp3_narrow s=0.05: all-weights < GD",
            "Fig. 7 mlp3_narrow s=0.05: layer-wise < GD",
            "Fig. 8 mlp3_wide s=0.1: layer-wise < GD",
            "Fig. 9 mlp5_narrow s=0.05: all-weights < GD",
            "Fig. 9 mlp5_narrow s=0.05: layer-wise < GD",
            "Fig. 10 mlp5_wide s=0.05: layer-wise < GD",
            "Fig. 11 toy_cnn s=0.05: layer-wise < SGD",
            "Fig. 11 toy_cnn s=0.05: all-weights < SGD"],
    "C5f": ["Fig. 8 mlp3_wide s=0.1: layer-wise < all-weights",
            "Fig. 10 mlp5_wide s=0.05: layer-wise < all-weights",
            "Fig. 10 mlp5_wide s=0.05: GD < all-weights"],
    "C6d": [f"resnet18 s={s}: {pair}" for s, pairs in (
        ("0.005", ["layer-wise < SGD", "all-weights < layer-wise", "all-weights < SGD"]),
        ("0.03", ["layer-wise < SGD", "all-weights < layer-wise", "all-weights < SGD"]),
        ("0.05", ["all-weights < layer-wise", "all-weights < SGD"]),
        ("0.075", ["all-weights < layer-wise", "all-weights < SGD"]),
        ("0.1", ["layer-wise < all-weights"]), ("0.5", ["layer-wise < SGD"]),
        ("0.75", ["layer-wise < SGD"])) for pair in pairs],
}


def test_trace_rows_test_the_order_each_figure_shows_and_nothing_else():
    table = claims(trace=lambda e, k, s: {"all": -60.0, "layer": -30.0}.get(k, 0.0))
    for claim, expected in ORDERS.items():
        assert sorted(rows(table, claim).index) == sorted(expected), claim
    # no claim the paper does not make: best method lowest trace (C5h), FCNN damping (C5g)
    assert not {"C5g", "C5h"} & set(table.claim)
    # all < layer < GD in every setting: the orders with GD and layer-wise above hold
    c5b = rows(table, "C5b")
    assert c5b.loc["Fig. 7 mlp3_narrow s=0.05: all-weights < layer-wise", "verdict"] == (
        "reproduced")
    assert c5b.loc["Fig. 10 mlp5_wide s=0.05: layer-wise < GD", "verdict"] == "reproduced"
    assert (c5b.power == c5b.magnitude).all()
    assert c5b.power.str.startswith("not comparable: the paper's Hessian traces sum").all()
    # C6c's trace row: the text's sharp increase from sigma 0.075 to 0.1 (not run: quick
    # scale's all-weights sigmas are 0.05 and 0.1)
    assert rows(table, "C6c").loc["resnet18 all s=0.1 vs s=0.075 trace", "verdict"] == (
        "not run at this scale")


def test_c5f_applies_only_at_the_papers_width():
    quick = rows(claims(), "C5f")
    assert set(quick.verdict) == {"not applicable at this scale"}
    assert "widths [5000, 5000, 5000, 5000, 5000]" in quick.iloc[-1].measured
    wide = {**configs(), **{e: {**configs()[e], "arch_kwargs": paper_config()[e]["arch_kwargs"]}
                            for e in ("mlp3_wide", "mlp5_wide")}}
    table = claims(exps=wide, trace=lambda e, k, s: 50.0 if k == "all" else 0.0)
    assert set(rows(table, "C5f").verdict) == {"reproduced"}


def test_magnitude_beside_direction_on_the_papers_data():
    # the paper's digitized end points of App. Fig. 7: layer 79.731, GD 77.485 (+-0.018 each)
    gain, error = 79.731 - 77.485, 2 * 0.01795
    fashion = {"mlp3_narrow": {**configs()["mlp3_narrow"], "dataset": "fashion_mnist"}}
    quick = rows(claims(acc=layer_gain(gain), noise=0.01), "C5a").loc["mlp3_narrow s=0.05"]
    assert quick.magnitude == ("not comparable: this scale trains mlp3_narrow on digits, the "
                               "paper on fashion_mnist")
    assert quick.verdict_text == "direction reproduced"
    for true, word in ((gain, "within"), (gain - 1.0, "below"), (gain + 1.0, "above")):
        row = rows(claims(acc=layer_gain(true), noise=0.01, exps=fashion), "C5a").loc[
            "mlp3_narrow s=0.05"]
        assert row.magnitude.startswith(f"{word} the paper's +2.25 (reading error "
                                        f"+-{error:.2g})"), row.magnitude
        assert row.verdict_text == f"direction reproduced, magnitude {word} the paper's"
    # a window reading (Fig. 3 at iteration 8,000) is not set against a final value
    wide = {"mlp3_wide": {**configs()["mlp3_wide"], "dataset": "fashion_mnist"}}
    assert rows(claims(exps=wide), "C5a").loc["mlp3_wide s=0.05", "magnitude"].startswith(
        "not comparable: the paper's value is read inside Fig. 3's window")


def test_decay_and_the_sharp_trace_increase_at_collapse():
    table = claims(peak=5.0)
    assert rows(table, "C5e").iloc[0].verdict == "reproduced"
    assert rows(claims(), "C5e").iloc[0].verdict == "inconclusive"
    paper_grid = {**configs(), "resnet18": {**configs()["resnet18"], "sigmas": {
        "layer": [0.05, 0.1], "all": [0.075, 0.1]}}}
    rise = claims(exps=paper_grid, trace=lambda e, k, s: 100.0 if (k, s) == ("all", 0.1) else 0)
    row = rows(rise, "C6c").loc["resnet18 all s=0.1 vs s=0.075 trace"]
    assert row.verdict == "reproduced" and row.estimate == pytest.approx(
        np.exp(np.mean(np.log([(200 + o) / (100 + o) for o in OFFSETS]))))


def test_every_row_cites_its_own_registry_entries_and_digitized_panels():
    table = claims()
    registry = paper.registry()
    for row in table[table.level == "comparison"].itertuples():
        for cite in row.paper_source.split(" | "):
            figure = re.match(r"Fig\. (\d+), ", cite)
            assert figure, cite
            digitized = re.fullmatch(rf"Fig\. {figure.group(1)}, (\w+) panel, digitized "
                                     rf"\(config/paper_digitized/fig{figure.group(1)}\.csv; "
                                     r"reading error (relative|absolute) [\d.]+\)", cite)
            assert digitized or any(
                str(e["figure"]) == figure.group(1) and e["panel"] in cite
                and e["section"] in cite for e in registry.values()), cite
    c5b = rows(table, "C5b")
    assert "Fig. 4, Hessian trace" in c5b.loc["Fig. 10 mlp5_wide s=0.05: layer-wise < GD",
                                               "paper_source"]
    assert "Fig. 10, hessian_trace panel, digitized" in c5b.loc[
        "Fig. 10 mlp5_wide s=0.05: layer-wise < GD", "paper_source"]
    assert "Fig. 8, test_acc panel, digitized" in rows(table, "C5a").loc[
        "mlp3_wide s=0.1", "paper_source"]
    assert "Fig. 3," in rows(table, "C5a").loc["mlp3_wide s=0.05", "paper_source"]
