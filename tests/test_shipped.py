"""The shipped CPU-scale evidence (results-cpu/, README "Results on real data (CPU)" and
"Width sweep on real data (CPU)"): its network tables and claims are what the workflow's
functions rebuild from the shipped run records with the run's own config, every claims
table included (numbers within the tolerance 'shipped_rebuild' of config/tolerances.yaml; keys,
counts and verdicts exactly); every run record says what it read and how it computed; the
provenance names clean revisions; the weight-decay variant holds the earlier run's records
byte for byte; the README sections are generated from it and current."""

import json
import re
import subprocess

import pytest

from noise_injection.base.results import file_sha256
from noise_injection.networks import data as D
from noise_injection.networks.experiments import run_paths, trained
from noise_injection.workflow import shipped
from noise_injection.workflow.config import load_config_file
from noise_injection.workflow.shipped_readme import main_run_shipped, readme_text

pytestmark = pytest.mark.skipif(not shipped.SHIPPED.is_dir(), reason="no results-cpu/ shipped")
VARIANT = shipped.SHIPPED / shipped.VARIANT
MAIN = pytest.mark.skipif(
    not (shipped.SHIPPED / "PROVENANCE.json").is_file() or not main_run_shipped(),
    reason="results-cpu/ still holds the run from before App. Fig. 7's weight-decay-0 rerun "
           "(its App. Fig. 7 is the variant); ship the new run: python -m "
           "noise_injection.workflow.shipped ship WORKDIR")
CLEAN = re.compile(r"[0-9a-f]{40}")


def assert_rebuilt(tables, root):
    problems = [p for relative, table in tables.items()
                for p in shipped.table_mismatches(table, root / relative)]
    assert problems == []


@MAIN
def test_shipped_tables_rebuild_from_the_run_records():
    tables = shipped.rebuild_tables()
    networks = shipped.cpu_config()["networks"]
    assert {"results/networks/claims.csv", "results/finite/claims.csv",
            "results/variance/claims.csv", "results/claims.csv"} <= set(tables)
    assert ("results/networks/width_sweep/claims.csv" in tables) == bool(
        networks.get("width_sweep"))
    assert_rebuilt(tables, shipped.SHIPPED)


def _check_run(path, record):
    pinned = set(D.FASHION_MNIST_CONTENT_SHA256.values())
    assert record["status"] in ("ok", "diverged"), path
    assert record["config"]["dataset"] == "fashion_mnist", path
    assert {s["content_sha256"] for s in record["data_source"]} == pinned, path
    assert record["precision"] == {"dtype": "float32", "tf32_matmul": False,
                                   "tf32_cudnn": False}, path
    assert record["steps"] == record["config"]["epochs"] or record["status"] == "diverged"


@MAIN
def test_every_shipped_run_read_real_fashion_mnist_in_fp32_with_its_numerics():
    networks = shipped.cpu_config()["networks"]
    expected = [p for name in trained(networks) for p in run_paths(name, networks, "json")]
    found = sorted(p.relative_to(shipped.SHIPPED).as_posix() for p in
                   (shipped.SHIPPED / "results" / "networks").rglob("*_seed*.json"))
    assert found == sorted(expected)
    for name in trained(networks):
        for relative in run_paths(name, networks, "json"):
            record = json.loads((shipped.SHIPPED / relative).read_text())
            _check_run(relative, record)
            assert record["config"]["weight_decay"] == \
                networks["experiments"][name]["weight_decay"], relative
        assert record["provenance"]["numerics"]["torch"] != "not imported", relative


@MAIN
def test_provenance_names_clean_revisions_and_is_complete():
    prov = json.loads((shipped.SHIPPED / "PROVENANCE.json").read_text())
    assert prov["training_revision"] and all(CLEAN.fullmatch(r) for r in prov["training_revision"])
    assert CLEAN.fullmatch(prov["derived_revision"])
    assert prov["derived"] and all((shipped.SHIPPED / p).is_file() for p in prov["derived"])
    assert all({"torch", "numpy"} <= set(v) for v in prov["versions"])
    assert prov["numerics"] and shipped.NOT_RECORDED not in prov["numerics"]
    assert {"cpu", "cores", "memory_gib", "platform"} <= set(prov["machine"])
    assert sum(prov["training_wall_time_s"].values()) > 0
    assert re.match(r"\d{4}-\d\d-\d\d", prov["shipped_utc"])
    assert (shipped.SHIPPED / "cpu.yaml").read_text() == (shipped.ROOT / shipped.CONFIG).read_text()


@MAIN
def test_every_shipped_figure_has_its_record_naming_its_png_and_inputs():
    """Each shipped PNG comes with the record of the job that drew it at the derived revision:
    its SHA-256 (recomputed here) and those of the shipped inputs it read."""
    prov = json.loads((shipped.SHIPPED / "PROVENANCE.json").read_text())
    pngs = sorted((shipped.SHIPPED / "figures").glob("*.png"))
    assert pngs
    for png in pngs:
        record = json.loads(png.with_suffix(".json").read_text())
        assert record["figures"][f"figures/{png.name}"] == file_sha256(png), png.name
        assert record["provenance"]["git_revision"] == prov["derived_revision"], png.name
        assert record["inputs"] == {name: file_sha256(shipped.SHIPPED / name)
                                    for name in record["inputs"]}, png.name


def test_the_variant_holds_the_earlier_runs_records_byte_for_byte():
    prov = json.loads((VARIANT / "PROVENANCE.json").read_text())
    overlay = load_config_file(shipped.ROOT / shipped.VARIANT_OVERLAY)["networks"][
        "experiments"][shipped.VARIANT_EXPERIMENT]
    files = sorted((VARIANT / "results" / "networks" / shipped.VARIANT_EXPERIMENT)
                   .glob("*_seed*.*"))
    assert len(files) == 18
    assert {p.relative_to(VARIANT).as_posix(): file_sha256(p) for p in files} == \
        prov["records_sha256"]
    for path in files:
        record_path = path.with_suffix(".json")
        record = json.loads(record_path.read_text())
        _check_run(record_path, record)
        assert record["config"]["weight_decay"] == overlay["weight_decay"]
    assert all(CLEAN.fullmatch(r) for r in prov["training_revision"])
    assert CLEAN.fullmatch(prov["derived_revision"])


@pytest.mark.skipif(not (shipped.ROOT / ".git").exists(), reason="needs a git checkout")
def test_the_variants_records_are_the_bytes_first_shipped_as_the_cpu_result():
    """Oracle: git history. Each record equals the file of the same name in the commit that
    first added it to results-cpu/results/networks/mlp3_narrow/."""
    for path in sorted((VARIANT / "results" / "networks" / shipped.VARIANT_EXPERIMENT)
                       .glob("*_seed*.*")):
        original = f"results-cpu/results/networks/{shipped.VARIANT_EXPERIMENT}/{path.name}"
        added = subprocess.run(["git", "log", "--diff-filter=A", "--format=%H", "--", original],
                               cwd=shipped.ROOT, capture_output=True, text=True, check=True)
        first = added.stdout.split()[-1]
        blob = subprocess.run(["git", "show", f"{first}:{original}"], cwd=shipped.ROOT,
                              capture_output=True, check=True).stdout
        assert blob == path.read_bytes(), path.name


def test_the_variants_tables_rebuild_from_its_records():
    assert_rebuilt(shipped.rebuild_variant_tables(), VARIANT)


def test_readme_sections_are_generated_from_the_shipped_results():
    assert readme_text() == (shipped.ROOT / "README.md").read_text(), \
        "run: python -m noise_injection.workflow.shipped write"
