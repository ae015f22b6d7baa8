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

from noise_injection.claims import paper_numbers as paper
from noise_injection.claims.networks import network_claims
from noise_injection.claims.table import CLAIM_COLUMNS
from noise_injection.workflow.config import validate_config

ROOT = Path(__file__).resolve().parents[1]
OFFSETS = (-0.1, 0.0, 0.1)  # per-seed offsets shared by the schemes (the paired design)


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
    assert set(table.claim) == {"C5a", "C5b", "C5c", "C5d", "C5e", "C5f", "C5g", "C5h",
                                "C6a", "C6b", "C6c"}
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
    row = rows(table, "C5b").loc["mlp3_narrow s=0.05"]
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
    assert re.fullmatch(rf"{pct} \[{pct}, {pct}\] with 3 seeds at the paper's effect \+0\.29 "
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
    paper_slope = np.polyfit(np.log10([0.01, 0.05, 0.1]), [79.4, 77.5, 78.0], 1)[0]
    assert f"slope {paper_slope:+.2f}" in c5c.paper
    assert list(rows(table, "C5d").index) == ["mlp3_narrow vs mlp3_wide s=0.05",
                                              "mlp5_narrow vs mlp5_wide s=0.05"]


def test_new_rows_decay_blow_up_damping_and_lowest_trace():
    table = claims(peak=5.0, trace=lambda e, k, s: {"all": 50.0, "layer": -50.0}.get(k, 0.0))
    assert rows(table, "C5e").iloc[0].verdict == "reproduced"
    assert rows(table, "C5f").iloc[0].verdict == "reproduced"
    assert set(rows(table, "C5g").verdict) == {"opposite", "reproduced"}  # all-weights raises
    assert line(table, "C5h").verdict == "reproduced"
    flat = claims()
    assert rows(flat, "C5e").iloc[0].verdict == "inconclusive"


def test_every_row_cites_its_own_registry_entries():
    table = claims()
    registry = paper.registry()
    for row in table[table.level == "comparison"].itertuples():
        for cite in row.paper_source.split(" | "):
            figure = re.match(r"Fig\. (\d+), ", cite)
            assert figure, cite
            assert any(str(e["figure"]) == figure.group(1) and e["panel"] in cite
                       and e["section"] in cite for e in registry.values()), cite
    assert "Fig. 4, Hessian trace" in rows(table, "C5b").loc["mlp5_wide s=0.05", "paper_source"]
    assert "Fig. 7, Hessian trace" in rows(table, "C5b").loc["mlp3_narrow s=0.05", "paper_source"]
    assert "Fig. 8," in rows(table, "C5a").loc["mlp3_wide s=0.1", "paper_source"]
    assert "Fig. 3," in rows(table, "C5a").loc["mlp3_wide s=0.05", "paper_source"]
