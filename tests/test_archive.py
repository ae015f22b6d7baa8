"""The artifact's one archive: every tracked file and nothing generated, reproducible, and the
workflow dry-runs inside the unpacked archive on its own."""

import tarfile
from pathlib import Path

import pytest

from noise_injection.workflow.archive import check_archive, make_archive, tracked_files

ROOT = Path(__file__).resolve().parents[1]
pytestmark = [pytest.mark.slow, pytest.mark.skipif(
    not (ROOT / ".git").exists(), reason="the archive packs what git tracks: needs a git checkout")]


@pytest.fixture(scope="module")
def archive(tmp_path_factory):
    return make_archive(tmp_path_factory.mktemp("archive") / "artifact.tar.gz")


def members(path):
    with tarfile.open(path, "r:gz") as tar:
        return [Path(*Path(m.name).parts[1:]).as_posix() for m in tar.getmembers()]


def test_archive_holds_the_tracked_files_and_nothing_generated(archive):
    names = members(archive)
    assert names == tracked_files()
    for needed in ("Snakefile", "LICENSE", "CITATION.cff", "pyproject.toml", "envs/torch.yaml",
                   "config/paper.yaml", "config/schema.yaml", "profiles/slurm/config.yaml",
                   "figures/README.md", "data/README.md", "noise_injection/perturb.py"):
        assert needed in names, needed
    assert not [n for n in names if n.startswith(("results/", "logs/", ".snakemake/"))
                or (n.startswith(("figures/", "data/")) and not n.endswith("README.md"))]


def test_archive_is_reproducible(archive, tmp_path):
    assert make_archive(tmp_path / "again.tar.gz").read_bytes() == archive.read_bytes()


def test_unpacked_archive_dry_runs_on_its_own(archive):
    assert check_archive(archive) == []


def test_check_fails_on_an_archive_missing_a_rule_file(archive, tmp_path):
    broken = tmp_path / "broken.tar.gz"
    with tarfile.open(archive, "r:gz") as src, tarfile.open(broken, "w:gz") as dst:
        for member in src.getmembers():
            if not member.name.endswith("rules/common.smk"):
                dst.addfile(member, src.extractfile(member))
    problems = check_archive(broken)
    assert problems and "snakemake -n" in problems[0]
