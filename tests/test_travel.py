"""benchmarks/travel.py's bookkeeping: a variant whose results a later call only resumes
reports the wall time of the call that computed them, never the resuming call's seconds."""

import importlib.util
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
_spec = importlib.util.spec_from_file_location("travel", ROOT / "benchmarks" / "travel.py")
travel = importlib.util.module_from_spec(_spec)
sys.modules["travel"] = travel  # its dataclasses look their module up while being defined
_spec.loader.exec_module(travel)

SNAKEFILE = """
rule all:
    output: "done.txt"
    shell: "sleep 1.5; touch {output}"
"""


def test_a_resumed_variant_reports_the_wall_time_of_the_call_that_computed_it(tmp_path):
    folder = tmp_path / "baseline"
    (folder / "config").mkdir(parents=True)
    (folder / "Snakefile").write_text(SNAKEFILE)
    (folder / travel.SCALES["quick"]).write_text("scale: quick\n")
    baseline = travel.Variant("baseline", "this machine's defaults", {})
    computed = travel.run_variant(folder, baseline, "quick")
    assert computed >= 1.5
    assert travel.run_variant(folder, baseline, "quick") == computed  # nothing to do
    (folder / ".travel-wall.json").unlink()
    assert travel.run_variant(folder, baseline, "quick") is None  # resumed, never measured
