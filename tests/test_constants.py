"""Every constant that decides a verdict lives in config/verdicts.yaml, each pinned here to an
independent value, and the code that uses it reads it from there (not a literal)."""

import pytest

from noise_injection.base import constants, intervals
from noise_injection.claims import finite, variance, verdicts
from noise_injection.variance import onset

PINNED = {"level": 0.95, "table_alpha": 0.05, "power": 0.8, "noninferiority_alpha": 0.05,
          "noninferiority_fraction": 0.5, "optimum_factor": 1.5, "late_fraction": 0.5,
          "finite_quantile": 0.5, "seeds_most": 1000, "sweep_acc_drop": 2.0,
          "curve_loss_factor": 1.5, "curve_acc_points": 1.0, "curve_fraction": 0.8,
          "curve_from": 200, "trace_order_window": 0.25}


def test_every_constant_is_pinned_and_explained():
    entries = constants.constants()
    assert set(entries) == set(PINNED)
    for name, value in PINNED.items():
        assert entries[name]["value"] == value, name
        assert len(entries[name]["why"]) > 40, name


def test_the_code_reads_them():
    assert (intervals.LEVEL, verdicts.TABLE_ALPHA, verdicts.POWER,
            verdicts.NONINFERIORITY_ALPHA) == (0.95, 0.05, 0.8, 0.05)
    assert onset.STALL_FACTOR == variance.OPTIMUM_FACTOR == 1.5
    assert variance.LATE_FRACTION == 0.5
    assert finite.run_quantile([0.0, 1.0, 2.0]) == 1.0  # the median of three runs


def test_an_unknown_or_incomplete_constant_is_refused(tmp_path):
    with pytest.raises(KeyError, match="verdicts.yaml"):
        constants.constant("tolerance_nobody_declared")
    bad = tmp_path / "verdicts.yaml"
    bad.write_text("level: {value: 0.95}\n")
    with pytest.raises(ValueError, match="level"):
        constants.constants(bad)
