"""The review stage: claims files are checked and combined without touching a verdict;
timings add up the wall time of the run records."""

import pandas as pd
import pytest

from noise_injection.base.results import make_record, write_json
from noise_injection.claims.table import CLAIM_COLUMNS, claim_row, combine_claims, interval_text
from noise_injection.workflow.timings import run_timings, wall_time_behind


def write_claims(path, rows):
    pd.DataFrame(rows, columns=CLAIM_COLUMNS).to_csv(path, index=False)


def row(claim, verdict, level="comparison", **fields):
    return claim_row(claim, "claim" if level == "claim" else f"{claim} setting", "statement",
                     verdict, "criterion", level=level, **{
                         "estimate": 1.25, "ci_low": 0.5, "ci_high": 2.0, "ci_level": 0.95,
                         "estimate_unit": "points", "n_ok": "3/3", "scale": "quick",
                         **fields})


def test_claims_are_combined_in_claim_order(tmp_path):
    write_claims(tmp_path / "b.csv", [row("C10", "opposite", "claim"), row("C4", "reproduced")])
    write_claims(tmp_path / "a.csv", [row("C2", "inconclusive")])
    table = combine_claims([tmp_path / "b.csv", tmp_path / "a.csv"])
    assert list(table["claim"]) == ["C2", "C4", "C10"]
    assert list(table["verdict"]) == ["inconclusive", "reproduced", "opposite"]
    assert "+1.25 [+0.5, +2] (95 %)" == interval_text(table.iloc[0])


def test_beyond_the_paper_families_follow_the_papers_claims(tmp_path):
    write_claims(tmp_path / "w.csv", [row("W2", "reproduced"), row("W1", "opposite")])
    write_claims(tmp_path / "c.csv", [row("F7b", "reproduced"), row("C10", "opposite"),
                                      row("C1", "reproduced"), row("F7a", "opposite")])
    table = combine_claims([tmp_path / "w.csv", tmp_path / "c.csv"])
    assert list(table["claim"]) == ["C1", "C10", "F7b", "F7a", "W1", "W2"]


def test_intervals_are_rounded_to_three_significant_digits(tmp_path):
    write_claims(tmp_path / "a.csv", [{**row("C2", "inconclusive"),
                                       "estimate": 0.016116537466845746}])
    assert interval_text(combine_claims([tmp_path / "a.csv"]).iloc[0]) == "+0.0161 [+0.5, +2] (95 %)"


def test_each_row_shows_its_own_interval_level_and_ratios_without_signs(tmp_path):
    write_claims(tmp_path / "a.csv", [
        row("C6", "reproduced", ci_level=0.9, estimate=-0.05, ci_low=-0.1, ci_high=0.0),
        row("C5", "reproduced", estimate=0.181, ci_low=0.148, ci_high=0.22,
            estimate_unit="ratio of geometric means")])
    table = combine_claims([tmp_path / "a.csv"])
    assert [interval_text(r) for _, r in table.iterrows()] == [
        "0.181 [0.148, 0.22] (95 %)", "-0.05 [-0.1, +0] (90 %)"]


def test_a_row_with_an_unknown_verdict_or_level_is_refused():
    with pytest.raises(ValueError, match="partly"):
        row("C1", "partly")
    with pytest.raises(ValueError, match="summary"):
        row("C1", "reproduced", level="summary")


def test_unknown_verdict_is_rejected(tmp_path):
    bad = row("C1", "reproduced")
    write_claims(tmp_path / "c.csv", [{**bad, "verdict": "looks fine"}])
    with pytest.raises(ValueError, match="unknown verdict.*looks fine"):
        combine_claims([tmp_path / "c.csv"])


def test_missing_column_is_rejected(tmp_path):
    pd.DataFrame({"claim": ["C1"], "verdict": ["inconclusive"]}).to_csv(tmp_path / "d.csv")
    with pytest.raises(ValueError, match="missing claim column"):
        combine_claims([tmp_path / "d.csv"])


def test_timings_sum_run_records_per_folder(tmp_path):
    for i, (status, t) in enumerate([("ok", 1.5), ("diverged", 2.0)]):
        write_json(tmp_path / "exp" / f"run{i}.json", make_record({}, i, status, t))
    write_json(tmp_path / "exp" / "summary.json", {"not": "a run"})
    write_json(tmp_path / "other" / "run.json", make_record({}, 0, "ok", 0.25))
    table = run_timings(tmp_path).set_index("group")
    assert table.loc["exp", "runs"] == 2 and table.loc["exp", "diverged"] == 1
    assert table.loc["exp", "wall_time_s"] == pytest.approx(3.5)
    assert table.loc["other", "wall_time_s"] == pytest.approx(0.25)


def test_wall_time_behind_a_figure_sums_the_runs_its_inputs_stand_for(tmp_path):
    """A run record, a file beside its record (x.npz -> x.json), or an aggregated table (the
    whole folder); c/other.json is not behind any input and is left out."""
    write_json(tmp_path / "a" / "run0.json", make_record({}, 0, "ok", 2.0))
    write_json(tmp_path / "a" / "run1.json", make_record({}, 1, "ok", 3.0))
    write_json(tmp_path / "b" / "run.json", make_record({}, 0, "diverged", 0.5))
    write_json(tmp_path / "c" / "pgd.json", make_record({}, 0, "ok", 7.0))
    write_json(tmp_path / "c" / "other.json", make_record({}, 0, "ok", 100.0))
    (tmp_path / "a" / "summary.csv").write_text("x\n")
    (tmp_path / "c" / "pgd.npz").write_bytes(b"\x97 not text")
    inputs = [tmp_path / "a" / "summary.csv", tmp_path / "a" / "run0.json", tmp_path / "b" / "run.json",
              tmp_path / "c" / "pgd.npz"]
    runs, seconds = wall_time_behind(inputs)
    assert runs == 4 and seconds == pytest.approx(12.5)
