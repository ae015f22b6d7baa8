"""The shipped CPU-scale evidence (results-cpu/, README "Results on real data (CPU)"): its
network summary and every claims table are what the workflow's functions rebuild from the
shipped run records with the run's own config, byte for byte; every run record says what it read and how it computed; the
provenance is complete; the README section is generated from it and current."""

import json
import re

import pytest

from noise_injection.networks import data as D
from noise_injection.workflow import shipped

pytestmark = pytest.mark.skipif(not shipped.SHIPPED.is_dir(), reason="no results-cpu/ shipped")


@pytest.fixture(scope="module")
def rebuilt():
    return shipped.rebuild_tables()


def test_shipped_tables_rebuild_identically_from_the_run_records(rebuilt):
    assert {"results/networks/claims.csv", "results/finite/claims.csv",
            "results/variance/claims.csv", "results/claims.csv"} <= set(rebuilt)
    for relative, table in rebuilt.items():
        assert table.to_csv(index=False) == (shipped.SHIPPED / relative).read_text(), relative


def test_every_shipped_run_read_real_fashion_mnist_in_fp32():
    runs = sorted((shipped.SHIPPED / "results" / "networks").rglob("*_seed*.json"))
    assert len(runs) == 9
    pinned = set(D.FASHION_MNIST_CONTENT_SHA256.values())
    for path in runs:
        record = json.loads(path.read_text())
        assert record["status"] in ("ok", "diverged"), path
        assert record["config"]["dataset"] == "fashion_mnist"
        assert {s["content_sha256"] for s in record["data_source"]} == pinned, path
        assert record["precision"] == {"dtype": "float32", "tf32_matmul": False,
                                       "tf32_cudnn": False}, path
        assert record["steps"] == record["config"]["epochs"] or record["status"] == "diverged"


def test_provenance_is_complete():
    prov = json.loads((shipped.SHIPPED / "PROVENANCE.json").read_text())
    assert prov["git_revision"] and all(re.fullmatch(r"[0-9a-f]{40}(-dirty)?", r)
                                        for r in prov["git_revision"])
    assert {"torch", "numpy"} <= set(prov["versions"])
    assert {"cpu", "cores", "memory_gib", "platform"} <= set(prov["machine"])
    assert prov["training_wall_time_s"] > 0 and re.match(r"\d{4}-\d\d-\d\d", prov["shipped_utc"])
    assert (shipped.SHIPPED / "cpu.yaml").read_text() == (shipped.ROOT / shipped.CONFIG).read_text()


def test_readme_section_is_generated_from_the_shipped_results():
    assert shipped.readme_text() == (shipped.ROOT / "README.md").read_text(), \
        "run: python -m noise_injection.workflow.shipped write"
