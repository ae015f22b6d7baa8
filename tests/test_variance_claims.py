"""Claim C4 verdicts, slope fits and the stage's configuration schema."""

from pathlib import Path

import numpy as np
import pytest
import yaml

from noise_injection.workflow.config import ConfigError, validate_config
from noise_injection.claims.table import CLAIM_COLUMNS
from noise_injection.claims.variance import (
    OPTIMUM_FACTOR,
    claims_table,
    dynamics_claim,
    heatmap_claim,
    late_values,
    width_claims,
)
from noise_injection.variance.fits import fit_loglog, variance_with_se

ROOT = Path(__file__).resolve().parents[1]


def test_fit_loglog_uses_only_the_top_decades():
    widths = np.array([1, 3, 10, 30, 100, 300, 1000])
    values = np.where(widths >= 100, 3.0 * widths**1.7, 1.0)
    slope, intercept = fit_loglog(widths, values, decades=1)
    assert slope == pytest.approx(1.7, abs=1e-12)
    assert intercept == pytest.approx(np.log(3.0), abs=1e-10)
    with pytest.raises(ValueError):
        fit_loglog(widths, values, decades=0.1)


def _dynamics(late_eff: dict, optimum: float, width: int = 300) -> dict:
    methods = list(late_eff)
    iterations = [0, 10, 100, 1000]
    eff = np.array([[[1.0, 1.0, late_eff[m], late_eff[m]]] * 2 for m in methods])
    return {"methods": methods, "iterations": iterations, "effective_risk": eff.tolist(),
            "risk": (eff / 10).tolist(), "effective_risk_minimum": optimum, "width": width}


def test_late_values_average_the_last_half_of_the_run():
    run = _dynamics({"gd": 0.5, "layer": 0.02, "all": 0.2, "reff": 0.011}, 0.011)
    run["effective_risk"][1][1] = [1.0, 1.0, 0.9, 0.04]  # layer, seed 1: late value 0.04
    late = late_values(run, "effective_risk")
    # over the seeds' late values 0.02 and 0.04: mean 0.03, (population) std 0.01
    assert late["layer"] == (pytest.approx(0.03), pytest.approx(0.01))
    assert late["gd"][0] == pytest.approx(0.5)


def test_dynamics_claim_verdicts():
    optimum = 0.01
    near, far = 0.9 * OPTIMUM_FACTOR * optimum, 1.1 * OPTIMUM_FACTOR * optimum
    only_layer = _dynamics({"gd": far, "layer": near, "all": far, "reff": optimum}, optimum)
    both = _dynamics({"gd": far, "layer": near, "all": near, "reff": optimum}, optimum)
    gd_only = _dynamics({"gd": near, "layer": far, "all": far, "reff": optimum}, optimum)
    assert dynamics_claim(only_layer, "fig2_large", False, "q")["verdict"] == "reproduced"
    assert dynamics_claim(both, "fig2_large", False, "q")["verdict"] == "inconclusive"
    assert dynamics_claim(both, "fig2_small", True, "q")["verdict"] == "reproduced"
    assert dynamics_claim(gd_only, "fig2_small", True, "q")["verdict"] == "opposite"
    row = dynamics_claim(only_layer, "fig2_large", False, "q")
    assert "all_effective_risk 0.15" in row["paper"]
    assert row["paper_source"] == ("Fig. 2, width 300 (Sec. 3-4 (main text, wide networks); "
                                   "final (about 3e5)); read off the figure")


@pytest.mark.parametrize("top_all, top_layer, expected", [
    (2e4, 3.0, "reproduced"), (2e3, 3.0, "inconclusive"), (1e4, 10.0, "reproduced"),
    (1e4, 10.5, "inconclusive"), (3.0, 2e4, "opposite"),
])
def test_heatmap_claim_both_ways_and_at_the_paper_levels(top_all, top_layer, expected):
    heat = {"schemes": ["all", "layer"], "mc_mean": [[[top_all]], [[top_layer]]],
            "exact": [[[top_all]], [[top_layer]]], "mc_se": [[[1.0]], [[1.0]]]}
    assert heatmap_claim(heat, "q")["verdict"] == expected


def test_claims_table_columns_and_width_verdicts():
    widths = [10, 100, 1000, 10000]
    sweep = {"net": "linear1", "schemes": ["all", "layer"], "widths": widths,
             "loss_variance": [[w**2.0 for w in widths], [5.0 for _ in widths]],
             "grad_trace_cov": [[w**2.0 for w in widths], [w**1.6 for w in widths]],
             "predicted": {"all": {"loss_variance": 2.0, "grad_trace": 2.0},
                           "layer": {"loss_variance": 0.0, "grad_trace": 1.0}}}
    heat = {"schemes": ["all", "layer"], "mc_mean": [[[2e4]], [[3.0]]],
            "exact": [[[2e4]]], "mc_se": [[[1.0]]]}
    run = _dynamics({"gd": 1.0, "layer": 0.011, "all": 1.0, "reff": 0.01}, 0.01)
    stall = {"width": 50, "sigmas": [0.1, 0.2], "methods": ["layer", "all"],
             "iterations": [0, 10], "effective_risk": np.ones((2, 2, 1, 2)).tolist(),
             "effective_risk_minimum": [1.0, 1.0], "predicted_onset": 0.5}
    rows = claims_table(heat, sweep, run, run, decades=1, slope_tolerance=0.25, scale="quick",
                        stalls=[stall])
    assert len(rows) == 7 and rows[-1]["verdict"] == "reproduced"  # never stalls: (0.2, inf)
    assert all(tuple(row) == CLAIM_COLUMNS for row in rows)
    assert [row["row"] for row in rows] == [
        "claim", "Fig. 1 heat map", "variance of the perturbed loss slope",
        "tr Cov of the stochastic gradient slope", "Fig. 2 width 300", "Fig. 2 width 300",
        "stall onset vs width"]
    # all-weights noise stalls at both widths here: the small width is inconclusive, so is
    # the claim line, which counts only the paper's rows (not the slopes beyond the paper)
    assert [row["verdict"] for row in rows] == ["inconclusive", "reproduced", "reproduced",
                                                "inconclusive", "inconclusive", "reproduced",
                                                "reproduced"]
    assert [row["beyond_paper"] for row in rows] == ["", "", *["beyond the paper"] * 2, "", "",
                                                     "beyond the paper"]
    assert rows[0]["level"] == "claim" and {row["scale"] for row in rows} == {"quick"}
    reversed_sweep = {**sweep, "loss_variance": [[5.0 for _ in widths], [w**2.0 for w in widths]]}
    assert claims_table(heat, reversed_sweep, run, run, 1, 0.25, "quick",
                        [stall])[2]["verdict"] == "opposite"
    # the slope tolerance comes from the config (variance.width_sweep.slope_tolerance)
    off = {**sweep, "loss_variance": [[w**2.0 for w in widths], [w**0.3 for w in widths]]}
    assert width_claims(off, 1, 0.25, "q")[0]["verdict"] == "inconclusive"
    assert width_claims(off, 1, 0.35, "q")[0]["verdict"] == "reproduced"


@pytest.mark.parametrize("name", ["config.yaml", "paper.yaml", "smoke.yaml"])
def test_stage_configs_validate(name):
    config = yaml.safe_load((ROOT / "config" / name).read_text())
    validated = validate_config(config, ROOT / "config" / "schema.yaml")
    assert validated["variance"]["dynamics"]["lr"] > 0


@pytest.mark.parametrize("section, key, value", [
    ("dynamics", "sigma", -0.1), ("dynamics", "widths", [50]), ("heatmap", "repetitions", 1),
    ("width_sweep", "fit_decades", 0), ("dynamics", "speed", 1)])
def test_bad_values_are_rejected_naming_the_key(section, key, value):
    config = yaml.safe_load((ROOT / "config" / "smoke.yaml").read_text())
    config["variance"][section][key] = value
    with pytest.raises(ConfigError, match=f"variance.{section}"):
        validate_config(config, ROOT / "config" / "schema.yaml")


def test_variance_standard_error_matches_the_gaussian_value():
    # For Gaussian samples, m4 = 3 var^2, so the standard error is var sqrt(2 / S).
    samples = np.random.default_rng(0).normal(0.0, 2.0, 200_000)
    var, se = variance_with_se(samples)
    assert var == pytest.approx(4.0, rel=4 * np.sqrt(2 / len(samples)))
    assert se == pytest.approx(4.0 * np.sqrt(2 / len(samples)), rel=0.05)


def test_the_claim_line_ignores_rows_beyond_the_paper():
    widths = [10, 100, 1000]
    flat = [5.0 for _ in widths]
    sweep = {"net": "linear1", "schemes": ["all", "layer"], "widths": widths,  # reversed slopes
             "loss_variance": [flat, [w**2.0 for w in widths]],
             "grad_trace_cov": [flat, [w**2.0 for w in widths]],
             "predicted": {"all": {"loss_variance": 2.0, "grad_trace": 2.0},
                           "layer": {"loss_variance": 0.0, "grad_trace": 1.0}}}
    heat = {"schemes": ["all", "layer"], "mc_mean": [[[2e4]], [[3.0]]],
            "exact": [[[2e4]]], "mc_se": [[[1.0]]]}
    small = _dynamics({"gd": 1.0, "layer": 0.011, "all": 0.011, "reff": 0.01}, 0.01, 50)
    large = _dynamics({"gd": 1.0, "layer": 0.011, "all": 1.0, "reff": 0.01}, 0.01, 300)
    rows = claims_table(heat, sweep, small, large, decades=1, slope_tolerance=0.25,
                        scale="quick", stalls=[])
    assert [row["verdict"] for row in rows[1:]] == [
        "reproduced", "opposite", "opposite", "reproduced", "reproduced",
        "not run at this scale"]
    assert rows[0]["verdict"] == "reproduced"
