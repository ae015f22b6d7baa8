"""benchmarks/gpu_check.py --dry-run: the whole prepared GPU check on a CPU at toy sizes, its
JSON and markdown, the ratios printed last, the operator counts the foreach steps predict,
and the paper-shapes hook (present or missing)."""

import contextlib
import importlib.util
import io
import json
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
M = 62  # parameter tensors of the CIFAR ResNet-18


def load_gpu_check():
    spec = importlib.util.spec_from_file_location("gpu_check", ROOT / "benchmarks" / "gpu_check.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def gpu_check():
    return load_gpu_check()


@pytest.fixture(scope="module")
def dry_run(gpu_check, tmp_path_factory):
    out = tmp_path_factory.mktemp("gpu_check")
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):
        status = gpu_check.main(["--out", str(out), "--dry-run"])
    return status, out, printed.getvalue()


def test_dry_run_writes_every_section(dry_run):
    status, out, printed = dry_run
    assert status == 0, printed
    record = json.loads((out / "gpu_check.json").read_text())
    assert record["dry_run"] is True and record["provenance"]["git_revision"]
    sections = record["sections"]
    assert list(sections) == ["cuda tests", "resnet18 epochs", "operator counts",
                              "paper shapes", "gpu memory"]
    assert all(s["status"] == "ok" and s["seconds"] >= 0 for s in sections.values())
    tests = sections["cuda tests"]["value"]
    assert tests["tests"] == tests["skipped"] > 0 and tests["failures"] == tests["errors"] == 0
    assert any("no CUDA device" in reason for reason in tests["skip_reasons"])
    epochs = sections["resnet18 epochs"]["value"]
    assert set(epochs["median_s"]) == {"ours fp32", "ours bf16", "authors fp32"}
    assert all(t > 0 for t in epochs["median_s"].values())
    shapes = sections["paper shapes"]["value"]
    assert shapes["rows"] or "does not exist" in shapes["missing"]
    memory = sections["gpu memory"]["value"]
    # every trained experiment, the width sweep's too (each declares its gpu_mem_mb)
    assert [row["experiment"] for row in memory] == ["mlp3_narrow", "mlp3_wide", "mlp5_narrow",
                                                     "mlp5_wide", "toy_cnn", "fcnn", "resnet18",
                                                     "width_sweep_w4", "width_sweep_w8"]
    assert all(row["status"] == "ok" and row["peak_allocated_mb"] is None for row in memory)
    table = (out / "gpu_check.md").read_text()
    assert table.startswith("# GPU check on CPU") and "DRY RUN" in table
    assert "## Operators per training step" in table and "## GPU memory" in table


def test_ratios_are_printed_last(dry_run):
    _, out, printed = dry_run
    last = printed.strip().splitlines()[-2:]
    ratios = json.loads((out / "gpu_check.json").read_text())["sections"]["resnet18 epochs"][
        "value"]["ratios"]
    assert [line.split(":")[0] for line in last] == [f"ratio {k}" for k in ratios]


def test_operator_counts_show_the_foreach_steps(dry_run):
    """The momentum update is 4 foreach operators whatever M (weight decay, momentum scale,
    momentum add, step); all-weights noise draws M tensors, then ONE foreach add where the
    authors' loop adds M times: M - 1 operators fewer, the rest (draws, .data swaps) equal."""
    _, out, _ = dry_run
    rows = json.loads((out / "gpu_check.json").read_text())["sections"]["operator counts"][
        "value"]
    ops = {(r["mode"], r["variant"], r["part"]): r["aten ops"] for r in rows}
    for mode in ("layer", "all"):
        assert ops[(mode, "ours fp32", "optimizer")] == 4
        assert ops[(mode, "ours fp32", "step")] > ops[(mode, "ours fp32", "perturb + restore")]
    assert (ops[("all", "authors fp32", "perturb + restore")]
            - ops[("all", "ours fp32", "perturb + restore")]) == M - 1
    assert ops[("layer", "ours fp32", "perturb + restore")] == ops[
        ("layer", "authors fp32", "perturb + restore")]


def test_paper_shapes_rows_are_taken_from_the_module(gpu_check, tmp_path):
    module = tmp_path / "paper_shapes.py"
    module.write_text(
        "EXPERIMENTS = ('mlp3_narrow', 'resnet18')\n"
        "def shape_table(device, config_path, experiments):\n"
        "    return [{'experiment': name, 'device': device, 'config': config_path,\n"
        "             'seconds_per_step': 0.5} for name in experiments]\n")
    config = ROOT / "config" / "smoke.yaml"
    cpu = gpu_check.torch.device("cpu")
    got = gpu_check.paper_shapes(cpu, config, module, dry=False)
    assert [row["experiment"] for row in got["rows"]] == ["mlp3_narrow", "resnet18"]
    assert got["rows"][1] == {"experiment": "resnet18", "device": "cpu", "config": str(config),
                              "seconds_per_step": 0.5}
    assert "| resnet18 | cpu |" in "\n".join(gpu_check.markdown_table(got["rows"]))
    dry = gpu_check.paper_shapes(cpu, config, module, dry=True)  # one experiment: the code path
    assert [row["experiment"] for row in dry["rows"]] == ["mlp3_narrow"]
    missing = gpu_check.paper_shapes(cpu, config, tmp_path / "absent.py", dry=False)
    assert missing["rows"] == [] and "absent.py does not exist" in missing["missing"]


def test_without_a_gpu_the_full_check_refuses_to_start(gpu_check, tmp_path):
    if gpu_check.torch.cuda.is_available():
        pytest.skip("this machine has a GPU")
    with pytest.raises(SystemExit):
        gpu_check.main(["--out", str(tmp_path / "out")])
    assert not (tmp_path / "out").exists()
