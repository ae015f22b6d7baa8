"""The README's generated numbers (noise_injection.workflow.gallery): current with the recorded
default run, the DAG of both scales, the configs and the paper-shapes table; the gallery holds
exactly the figures of the default run; and, where a default run's results are in the checkout,
its verdicts are the ones the README shows."""

import json
from pathlib import Path

import pytest

from noise_injection.workflow import gallery

ROOT = Path(__file__).resolve().parents[1]
RECORD = (json.loads((ROOT / gallery.RECORD).read_text())
          if (ROOT / gallery.RECORD).is_file() else None)
measured = pytest.mark.skipif(RECORD is None, reason="no measured default run for this "
                              "revision (python -m noise_injection.workflow.gallery --run)")


def test_readme_fragments_are_current():
    assert gallery.main(["--check"]) == 0


@measured
def test_gallery_holds_the_figures_of_the_recorded_run():
    pngs = {p.stem for p in (ROOT / gallery.GALLERY).glob("*.png")}
    assert pngs == set(RECORD["figures"]) and len(pngs) == 19


@measured
def test_recorded_default_run_is_within_the_budget_the_readme_states():
    """Under 5 minutes on 2 cores, from a fresh clone, the install excluded."""
    assert RECORD["cores"] == 2 and RECORD["wall_s"] < 300


@measured
def test_readme_verdicts_are_those_of_the_default_results_in_the_checkout():
    claims = ROOT / "results" / "claims.csv"
    if not claims.is_file() or ",quick" not in claims.read_text():
        pytest.skip("no default (quick-scale) results in this checkout")
    assert gallery.claim_verdicts(ROOT / "results") == RECORD["claims"]


def test_paper_shapes_table_is_read_row_by_row():
    rows = gallery.paper_shapes((ROOT / "README.md").read_text())
    assert set(rows) == {"mlp3_narrow", "mlp3_wide", "mlp5_narrow", "mlp5_wide", "toy_cnn",
                         "fcnn", "resnet18"}
    assert all(runs > 0 and hours > 0 for runs, hours in rows.values())
