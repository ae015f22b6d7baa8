"""The review stage: claims files are checked and combined without touching a verdict;
timings add up the wall time of the run records."""

import pandas as pd
import pytest

from noise_injection.workflow.results import make_record, write_json
from noise_injection.claims.table import CLAIM_COLUMNS, claims_html, combine_claims
from noise_injection.workflow.timings import run_timings, wall_time_behind


def write_claims(path, rows):
    pd.DataFrame(rows, columns=CLAIM_COLUMNS).to_csv(path, index=False)


def row(claim, verdict):
    return [claim, f"statement {claim}", "paper", "measured", "quick", verdict, "criterion"]


def test_claims_are_combined_in_claim_order(tmp_path):
    write_claims(tmp_path / "b.csv", [row("C10", "partly"), row("C4", "reproduced")])
    write_claims(tmp_path / "a.csv", [row("C2", "not reproduced")])
    table = combine_claims([tmp_path / "b.csv", tmp_path / "a.csv"])
    assert list(table["claim"]) == ["C2", "C4", "C10"]
    assert list(table["verdict"]) == ["not reproduced", "reproduced", "partly"]
    page = claims_html(table, "t")
    assert page.count("<tr") == 4 and "not reproduced" in page


def test_unknown_verdict_is_rejected(tmp_path):
    write_claims(tmp_path / "c.csv", [row("C1", "looks fine")])
    with pytest.raises(ValueError, match="unknown verdict.*looks fine"):
        combine_claims([tmp_path / "c.csv"])


def test_missing_column_is_rejected(tmp_path):
    pd.DataFrame({"claim": ["C1"], "verdict": ["partly"]}).to_csv(tmp_path / "d.csv")
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


def test_wall_time_behind_a_figure_sums_the_folders_of_its_inputs(tmp_path):
    write_json(tmp_path / "a" / "run0.json", make_record({}, 0, "ok", 2.0))
    write_json(tmp_path / "a" / "run1.json", make_record({}, 1, "ok", 3.0))
    write_json(tmp_path / "b" / "run.json", make_record({}, 0, "diverged", 0.5))
    write_json(tmp_path / "c" / "run.json", make_record({}, 0, "ok", 100.0))
    (tmp_path / "a" / "summary.csv").write_text("x\n")
    inputs = [tmp_path / "a" / "summary.csv", tmp_path / "a" / "run0.json", tmp_path / "b" / "run.json"]
    runs, seconds = wall_time_behind(inputs)
    assert runs == 3 and seconds == pytest.approx(5.5)
