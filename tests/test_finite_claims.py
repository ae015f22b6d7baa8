"""Claim verdicts, structure helpers and the stage's config schema."""

import copy
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from noise_injection.workflow.config import ConfigError, validate_config
from noise_injection.claims.finite import PAPER_VALUE, claim_row, verdict
from noise_injection.finite.structure import active, relabel_groups, structure

ROOT = Path(__file__).resolve().parents[1]


def rows(errors, matches):
    return pd.DataFrame({"rel_error": errors, "structure_match": matches})


def test_verdicts_follow_the_criterion():
    assert verdict(rows([0.01, 0.05], [True, True]), 0.05) == "reproduced"
    assert verdict(rows([0.01, 0.06], [True, True]), 0.05) == "partly"
    assert verdict(rows([0.01, 0.01], [True, False]), 0.05) == "partly"
    assert verdict(rows([0.01, 0.2, 0.3], [True, True, True]), 0.05) == "not reproduced"


def test_claim_row_reports_the_worst_run_and_gd():
    summary = pd.DataFrame({
        "method": ["pgd", "pgd", "gd", "gd"], "sigma": [0.1, 0.4, 0.1, 0.4],
        "rel_error": [0.01, 0.04, 0.7, 0.8], "structure_match": [True, True, False, False],
        "norm": [2.0, 1.5, 7.0, 7.0], "norm_ref": [2.0, 1.5, 2.0, 1.5],
    })
    row = claim_row("lasso", summary, 0.05, 0.01, "quick")
    assert row["claim"] == "C1" and row["verdict"] == "reproduced"
    assert row["paper"] == PAPER_VALUE
    assert "max rel. error 4.0% (sigma 0.4)" in row["measured"]
    assert "2/2 runs" in row["measured"]


def test_structure_counts_support_groups_and_rank():
    data = {"groups": np.array([5, 5, 2, 2, 9])}
    beta = np.array([3.0, 4.0, 0.0, 1e-4, 1.0])
    np.testing.assert_allclose(structure("group_lasso", data, beta), [5.0, 1e-4, 1.0])
    assert active(structure("lasso", {}, beta), 4.0, 0.01).sum() == 3
    M = np.diag([2.0, 1.0, 1e-5])
    assert active(structure("nuclear", {}, M), 2.0, 0.01).sum() == 2
    index, count = relabel_groups(data["groups"], 5)
    assert count == 3 and index.tolist() == [0, 0, 1, 1, 2]


@pytest.mark.parametrize("key, value", [
    (("sigmas",), [0.1, -0.2]), (("n_seeds",), 0), (("lasso", "pgd", "lr"), 1.5),
    (("nuclear", "pgd", "tail_fraction"), 0.0), (("smoothing", "draws"), 10),
    (("group_lasso", "typo"), 1), (("structure_tol",), 0.9),
])
def test_schema_rejects_bad_values(key, value):
    config = yaml.safe_load((ROOT / "config" / "smoke.yaml").read_text())
    bad = copy.deepcopy(config)
    node = bad["finite"]
    for part in key[:-1]:
        node = node[part]
    node[key[-1]] = value
    validate_config(config, ROOT / "config" / "schema.yaml")
    with pytest.raises(ConfigError, match="finite"):
        validate_config(bad, ROOT / "config" / "schema.yaml")
