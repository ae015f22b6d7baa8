"""figures/README.md and data/README.md: generated from the workflow, tracked, up to date, and
naming every figure target that Snakemake's own command line reports."""

import re
import subprocess
import sys
from pathlib import Path

import pytest

from noise_injection.base.results import file_sha256
from noise_injection.networks import data
from noise_injection.workflow import maps
from noise_injection.workflow.dag import config_paths, read_workflow, script_config_reads

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def workflows():
    return [read_workflow(ROOT, configfile) for configfile in maps.SCALES]


def test_tracked_maps_are_up_to_date(workflows):
    generated = {ROOT / "figures" / "README.md": maps.figure_map(workflows),
                 ROOT / "data" / "README.md": maps.data_map(workflows)}
    for path, text in generated.items():
        assert path.read_text() == text, (
            f"{path.relative_to(ROOT)} is stale: run python -m noise_injection.workflow.maps")


@pytest.mark.skipif(not (ROOT / ".git").exists(), reason="needs a git checkout")
def test_maps_are_tracked_and_nothing_generated_beside_them_is():
    tracked = subprocess.run(["git", "ls-files", "figures", "data"], cwd=ROOT,
                             capture_output=True, text=True, check=True).stdout.split()
    assert sorted(tracked) == ["data/README.md", "figures/README.md"]
    ignored = subprocess.run(["git", "check-ignore", "figures/fig6_resnet18_sigma.pdf",
                              "data/cifar-10-python.tar.gz", "data/finite/lasso.npz",
                              "noise-injection-ca78723.tar.gz"],
                             cwd=ROOT, capture_output=True, text=True)
    assert len(ignored.stdout.split()) == 4, ignored.stdout


def snakemake_cli(*args):
    proc = subprocess.run([sys.executable, "-m", "snakemake", *args], cwd=ROOT,
                          capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return proc.stdout + proc.stderr


@pytest.mark.slow
def test_figure_map_names_every_figure_target_snakemake_lists():
    """Oracle: Snakemake's command line, not this project's DAG reader. Every rule named
    fig<N>, and every figures/*.pdf a forced dry run would write (every scale), is in the map
    with its rule."""
    text = (ROOT / "figures" / "README.md").read_text()
    targets = re.findall(r"^(fig\d+)$", snakemake_cli("--list-rules"), flags=re.M)
    assert len(targets) == 12
    for target in targets:
        assert f"| `{target}` |" in text, f"named target {target} missing from the figure map"
    for configfile in maps.SCALES:
        dry = snakemake_cli("-n", "--forceall", "--configfile", configfile)
        jobs = re.findall(r"^rule (\w+):\n(?:    .*\n)*?    output: (figures/\S+\.pdf)",
                          dry, flags=re.M)
        # 18 of the paper + the stall figure; the CPU scale draws Fig. 7 of the network
        # figures; the CPU and paper scales add the width sweep's figure
        expected = {"config/cpu.yaml": 11, "config/paper.yaml": 20}.get(configfile, 19)
        assert len(jobs) == expected, configfile
        for rule, pdf in jobs:
            assert re.search(rf"`{re.escape(Path(pdf).name)}` .*\| `{rule}` \|", text), (
                f"{pdf} (rule {rule}) missing from the figure map")


def test_every_paper_figure_has_a_row_with_its_number(workflows):
    rows = maps.figure_rows(workflows)
    assert [r["paper"] for r in rows if r["number"]] == [f"Fig. {n}" for n in range(1, 13)]
    assert all(r["target"] == f"fig{r['number']}" for r in rows if r["number"])
    # the report captions number the figures independently of the file names
    assert all(r["title"].startswith(f"Fig. {r['number']}: ") for r in rows if r["number"])
    assert all(not r["title"].startswith("Fig.") for r in rows if not r["number"])


def test_claim_sources_name_files_of_the_dag_and_the_claim_ids_the_code_writes(workflows):
    files = {f for w in workflows for job in w.jobs for f in job.inputs + job.outputs}
    for claim, patterns in maps.CLAIM_SOURCES.items():
        for pattern in patterns:
            assert any(maps.fnmatch(f, pattern) for f in files), f"{claim}: {pattern} matches no file"
    written = set()
    for module in (ROOT / "noise_injection" / "claims").glob("*.py"):
        written |= set(re.findall(r"[\"'](C\d[a-z]?)[\"']", module.read_text()))
    assert written == set(maps.CLAIM_SOURCES)


def test_a_figure_lists_claim_rows_exactly_when_it_reads_a_claims_input(workflows):
    """The declared claim sources agree with the DAG: a figure has claim rows iff one of
    the files it reads is upstream of a stage claims table."""
    rows = maps.figure_rows(workflows)
    for row in rows:
        assert bool(row["claims"]) == bool(row["claim_files"]), row["name"]
    by_name = {r["name"]: r for r in rows}
    assert by_name["lasso_path"]["claims"] == {"C1"}
    assert by_name["fig6_resnet18_sigma"]["claims"] == {"C6a", "C6b", "C6c", "C6d"}
    assert by_name["smoothing_exactness"]["claims"] == set()


def test_data_map_covers_every_downloaded_file_of_the_data_module():
    registered = {"fashion_mnist": {f for f, _ in data.FASHION_MNIST_FILES.values()},
                  "cifar10": {data.CIFAR10_ARCHIVE[0]}}
    assert set(data.DATASETS) == {"digits", *registered}
    for dataset, files in registered.items():
        assert set(maps.DOWNLOADS[dataset]["sizes"]) == files
    text = (ROOT / "data" / "README.md").read_text()
    for _, digest in [*data.FASHION_MNIST_FILES.values(), data.CIFAR10_ARCHIVE]:
        assert f"`{digest}`" in text


def test_digits_hash_is_the_hash_of_the_file_the_loader_reads():
    import hashlib

    digits = maps.digits_file()
    assert file_sha256(digits) == hashlib.sha256(digits.read_bytes()).hexdigest()
    arrays = data.load_dataset("digits", raw_pixels=True)
    assert len(arrays.x_train) + len(arrays.x_test) == 1797


def test_script_config_reads_finds_literal_subscripts(tmp_path):
    script = tmp_path / "s.py"
    script.write_text('a = snakemake.config["networks"]["experiments"][name]["lr"]\n'
                      'b = snakemake.config["scale"]\nc = other.config["x"]\n'
                      'd = snakemake.params.cfg["finite"]\n')
    assert script_config_reads(script) == ["networks.experiments", "scale"]


def test_config_paths_keys_containers_by_identity():
    config = {"finite": {"lasso": {"n": 5}, "sigmas": [0.1]}, "scale": "quick"}
    paths = config_paths(config)
    assert paths[id(config["finite"]["lasso"])] == "finite.lasso"
    assert paths[id(config["finite"]["sigmas"])] == "finite.sigmas"
    assert id(config["scale"]) not in paths and len(paths) == 3
