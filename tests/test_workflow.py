"""The workflow end to end: lint and format, bad configs stop before any job, and the whole
DAG at the smoke scale in a temporary directory (figures, results with provenance, report)."""

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SNAKEMAKE = [sys.executable, "-m", "snakemake"]
SMOKE = str(ROOT / "config" / "smoke.yaml")


def snakemake(*args, cwd=ROOT, check=True):
    proc = subprocess.run([*SNAKEMAKE, *args], cwd=cwd, capture_output=True, text=True,
                          env={**os.environ, "PYTHONHASHSEED": "0"})
    if check and proc.returncode != 0:
        raise AssertionError(f"snakemake {' '.join(args)} failed:\n{proc.stdout}\n{proc.stderr}")
    return proc


def test_lint_is_clean():
    out = snakemake("--lint")
    assert "Congratulations" in out.stdout + out.stderr


def test_snakefmt_is_clean():
    proc = subprocess.run([sys.executable, "-m", "snakefmt", "--check", "."], cwd=ROOT,
                          capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_bad_config_fails_before_any_job(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text(Path(SMOKE).read_text().replace("scale: smoke", "scale: smoke\nwidht: 3"))
    proc = snakemake("--cores", "1", "--snakefile", str(ROOT / "Snakefile"), "--directory",
                     str(tmp_path), "--configfile", str(bad), check=False)
    assert proc.returncode != 0
    assert "widht" in proc.stdout + proc.stderr
    assert not (tmp_path / "results").exists() and not (tmp_path / "figures").exists()


def test_configfile_replaces_the_default_scale():
    proc = snakemake("-n", "--configfile", SMOKE, "--printshellcmds")
    assert proc.returncode == 0


@pytest.fixture(scope="module")
def smoke_run(tmp_path_factory):
    """The whole DAG at the smoke scale, in a fresh working directory."""
    workdir = tmp_path_factory.mktemp("smoke")
    snakemake("--cores", "2", "--snakefile", str(ROOT / "Snakefile"), "--directory",
              str(workdir), "--configfile", SMOKE)
    return workdir


@pytest.mark.slow
def test_smoke_dag_builds_every_target(smoke_run):
    proc = snakemake("-n", "--snakefile", str(ROOT / "Snakefile"), "--directory",
                     str(smoke_run), "--configfile", SMOKE)
    assert "Nothing to be done" in proc.stdout + proc.stderr
    figures = sorted(p.name for p in (smoke_run / "figures").iterdir())
    assert "injector_check.pdf" in figures and "injector_check.png" in figures
    assert all(p.stat().st_size > 0 for p in (smoke_run / "figures").iterdir())


@pytest.mark.slow
def test_smoke_results_carry_provenance(smoke_run):
    records = list((smoke_run / "results").rglob("*.json"))
    assert records
    for path in records:
        record = json.loads(path.read_text())
        if "provenance" not in record:  # summaries and tables are not run records
            continue
        assert record["status"] in ("ok", "diverged"), path
        assert record["wall_time_s"] >= 0
        assert record["provenance"]["versions"]["torch"]
        assert "seed" in record and "config" in record


@pytest.mark.slow
def test_injector_check_is_exact(smoke_run):
    record = json.loads((smoke_run / "results" / "injector" / "check.json").read_text())
    for label, stats in record["schemes"].items():
        assert stats["max_restore_error"] == 0.0, label
    assert set(record["schemes"]["layer-cyclic"]["counts"]) == {record["config"]["steps"] // 6}


@pytest.mark.slow
def test_smoke_report_and_review_notebook(smoke_run):
    snakemake("--report", str(smoke_run / "report.zip"), "--snakefile",
              str(ROOT / "Snakefile"), "--directory", str(smoke_run), "--configfile", SMOKE)
    import zipfile

    with zipfile.ZipFile(smoke_run / "report.zip") as archive:
        names = archive.namelist()
    figures = {p.name for p in (smoke_run / "figures").glob("*.png")}
    assert len(figures) == 19
    for name in figures | {"claims.html", "review.html", "timings.csv", "deviations.html"}:
        assert any(n.endswith(name) for n in names), name
    executed = json.loads((smoke_run / "results" / "review" / "review.ipynb").read_text())
    outputs = [c for c in executed["cells"] if c["cell_type"] == "code" and c["outputs"]]
    assert outputs and not any(o.get("output_type") == "error" for c in outputs for o in c["outputs"])
    claims = (smoke_run / "results" / "claims.csv").read_text()
    for claim in ("C1", "C2", "C3", "C4", "C5", "C6"):
        assert claim in claims
