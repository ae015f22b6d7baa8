"""Tolerances for numbers computed on two machines (config/tolerances.yaml, read by
noise_injection.workflow.tolerances): a table matches another within a named tolerance while
keys, counts and verdict words match exactly; each tolerance covers the travel that
benchmarks/travel.py measured (config/travel.yaml) with margin; and the shipped tables rebuild
within theirs on this machine imitating an AVX2 one (numpy without its AVX-512 kernels)."""

import os
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest

from noise_injection.claims.table import mark_fragile
from noise_injection.workflow import shipped
from noise_injection.workflow import tolerances as T

#: How much larger than the measured travel each tolerance must be.
MARGIN = 2.0


def tol(rtol=0.0, atol=0.0):
    return T.Tolerance("t", "test", ("*",), rtol, atol, "test")


def test_last_bit_differences_pass_and_real_changes_fail():
    # the two summary cells of issue 27, computed on an AVX-512 and an AVX2 machine
    shipped = pd.DataFrame({"metric": ["train_loss"], "std": [0.012440146876969775],
                            "n": [3]})
    there = shipped.assign(std=[0.012440146876969774])
    assert T.table_differences(shipped, there, T.tolerance("shipped_rebuild")) == []
    changed = shipped.assign(std=[0.012440146876969775 * (1 + 1e-9)])
    [message] = T.table_differences(shipped, changed, T.tolerance("shipped_rebuild"), "s.csv")
    assert "s.csv row 0 column 'std'" in message
    assert T.table_differences(shipped, shipped.assign(n=[2]), tol(rtol=1.0)) != []  # a count


def test_nan_matches_nan_only():
    a = pd.DataFrame({"x": [np.nan, 1.0, np.inf]})
    assert T.table_differences(a, a.copy(), tol()) == []
    assert len(T.table_differences(a, pd.DataFrame({"x": [0.0, np.nan, 1e308]}), tol(1, 1))) == 3


def test_words_and_counts_in_text_are_exact_rounded_numbers_within_one_printed_unit():
    a = pd.DataFrame({"verdict": ["reproduced"],
                      "verdict_text": ["reproduced (reproduced in 2 of 2 settings run)"],
                      "measured": ["late R_eff: gd 0.0679 +- 0.0035"]})
    loose = tol(rtol=10.0, atol=10.0)
    assert T.table_differences(a, a.assign(verdict=["inconclusive"]), loose) != []
    assert T.table_differences(
        a, a.assign(verdict_text=["reproduced (reproduced in 1 of 2 settings run)"]), loose) != []
    one_unit = a.assign(measured=["late R_eff: gd 0.0679 +- 0.0036"])
    assert T.table_differences(a, one_unit, tol()) == []
    three_units = a.assign(measured=["late R_eff: gd 0.0679 +- 0.0038"])
    assert T.table_differences(a, three_units, tol()) != []
    other_word = a.assign(measured=["late R: gd 0.0679 +- 0.0035"])
    assert T.table_differences(a, other_word, loose) != []


def test_shape_and_columns_must_agree():
    a = pd.DataFrame({"x": [1.0, 2.0]})
    assert "rows" in T.table_differences(a, a.iloc[:1], tol())[0]
    assert "columns" in T.table_differences(a, a.rename(columns={"x": "y"}), tol())[0]


def test_assert_tables_close_names_the_tolerance_and_its_reason(tmp_path):
    path = tmp_path / "summary.csv"
    pd.DataFrame({"mean": [1.0]}).to_csv(path, index=False)
    T.assert_tables_close(path, pd.DataFrame({"mean": [1.0 + 1e-15]}), "shipped_rebuild")
    with pytest.raises(AssertionError, match="shipped_rebuild.*rtol 1e-12"):
        T.assert_tables_close(path, pd.DataFrame({"mean": [1.1]}), "shipped_rebuild")


def test_unknown_or_incomplete_tolerances_are_refused(tmp_path):
    with pytest.raises(KeyError, match="tolerances.yaml.*known"):
        T.tolerance("guessed_on_a_whim")
    bad = tmp_path / "tolerances.yaml"
    bad.write_text("x: {stage: s, files: ['*'], rtol: 0.1, why: w}\n")
    with pytest.raises(ValueError, match="'x'"):
        T.tolerances(bad)
    bad.write_text("x: {stage: s, files: ['*'], rtol: -1, atol: 0, why: w}\n")
    with pytest.raises(ValueError, match="x.rtol"):
        T.tolerances(bad)


def test_each_tolerance_covers_the_measured_travel_with_margin():
    """Sized from the measurement, not guessed: every tolerance was measured, every number
    measured has a tolerance, and benchmarks/travel.py's largest difference among the numbers
    each tolerance covers is at most 1/MARGIN of it (in atol or in rtol, either of which alone
    bounds every value), with no measured value outside."""
    travel = T.travel()
    measured = travel.get("tolerances", {})
    if not measured:
        pytest.skip("the travel is not measured yet: no config/travel.yaml (python "
                    "benchmarks/travel.py --workdir DIR writes it)")
    assert set(T.tolerances()) <= set(measured), "a tolerance without a measurement is a guess"
    assert not travel["uncovered"], f"measured numbers without a tolerance: {travel['uncovered']}"
    for name, t in T.tolerances().items():
        m = measured[name]
        assert m["outside"] == 0, name
        assert t.atol >= MARGIN * m["max_abs"] or t.rtol >= MARGIN * m["max_rel"], (
            f"{name}: rtol {t.rtol:g} / atol {t.atol:g} against measured {m}")


@pytest.mark.skipif(not shipped.SHIPPED.is_dir(), reason="no results-cpu/ shipped")
def test_shipped_tables_rebuild_within_tolerance_on_an_imitated_avx2_machine():
    """Issue 27's second machine: the same libraries without AVX-512 kernels add in another
    order; the rebuild must still pass (numpy's dispatch is fixed at import: a subprocess)."""
    umath = np._core._multiarray_umath
    off = [f for f in umath.__cpu_dispatch__ if umath.__cpu_features__.get(f)
           and (f == "X86_V4" or f.startswith("AVX512"))]
    if not off:
        pytest.skip("this CPU has no AVX-512 dispatch targets to switch off")
    code = ("from noise_injection.workflow import shipped\n"
            "problems = [p for relative, table in shipped.rebuild_tables().items()\n"
            "            for p in shipped.table_mismatches(table, shipped.SHIPPED / relative)]\n"
            "assert problems == [], problems\n")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          env={**os.environ, "NPY_DISABLE_CPU_FEATURES": " ".join(off)})
    assert proc.returncode == 0, proc.stderr[-3000:]


def test_fragile_rows_are_marked_in_the_claims_table_and_stale_entries_returned():
    row = {"claim": "C5b", "row": "Fig. 7: layer-wise < GD", "level": "comparison",
           "setting": "+1 layer; -1 none", "verdict": "inconclusive",
           "verdict_text": "inconclusive (power 0.3)"}
    other = {**row, "row": "Fig. 8: layer-wise < GD", "verdict_text": "reproduced"}
    table = pd.DataFrame([row, other])
    entry = {**{k: row[k] for k in ("claim", "row", "level", "setting", "verdict")},
             "seen": {"avx2_machine": "reproduced"}}
    stale = {**entry, "setting": "+1 layer; -1 all"}  # the same row with another contrast
    marked, unmatched = mark_fragile(table, [entry, stale], {"avx2_machine": "an AVX2 machine"},
                                     "docs/travel.md")
    assert list(marked["verdict_text"]) == [
        'inconclusive (power 0.3); fragile: reads "reproduced" on an AVX2 machine '
        "(docs/travel.md)", "reproduced"]
    assert unmatched == [stale]
    assert list(table["verdict_text"]) == ["inconclusive (power 0.3)", "reproduced"]
