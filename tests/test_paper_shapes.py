"""The paper-size check (benchmarks/paper_shapes.py) on config/paper.yaml: every experiment's
full-size model trained two steps per noise scheme through the rule scripts, on synthetic data
in the real file formats served from 127.0.0.1, with checkpoint, resume, JSON and NPZ.

Oracles independent of the code under test: parameter counts and matmul FLOPs of the MLPs
from their widths, the CIFAR ResNet-18's well-known 11,173,962 parameters in M = 62 tensors,
the data sets' image shapes."""

import importlib.util
import math
from pathlib import Path

import pytest
import yaml

from noise_injection.networks.experiments import EXPERIMENTS, METRICS, runs

ROOT = Path(__file__).resolve().parents[1]
PAPER = ROOT / "config" / "paper.yaml"
IMAGE_SHAPES = {"fashion_mnist": [1, 28, 28], "cifar10": [3, 32, 32]}

pytestmark = pytest.mark.slow


def load_benchmark():
    spec = importlib.util.spec_from_file_location("paper_shapes",
                                                  ROOT / "benchmarks" / "paper_shapes.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def table():
    bench = load_benchmark()
    rows = bench.shape_table("cpu", str(PAPER))
    print("\n" + bench.format_table(rows, bench.DEFAULT_GPU_TFLOPS))
    return {row["experiment"]: row for row in rows}


@pytest.fixture(scope="module")
def paper():
    return yaml.safe_load(PAPER.read_text())["networks"]


def mlp_layers(experiment: dict) -> list[tuple[int, int]]:
    sizes = [784, *experiment["arch_kwargs"]["widths"], 10]
    return list(zip(sizes[:-1], sizes[1:]))


def test_every_experiment_ran_with_the_real_image_shapes(table, paper):
    assert sorted(table) == sorted(EXPERIMENTS)
    for name, row in table.items():
        assert row["input_shape"] == IMAGE_SHAPES[paper["experiments"][name]["dataset"]], name


def test_mlp_sizes_and_flops_match_their_widths(table, paper):
    for name, row in table.items():
        experiment = paper["experiments"][name]
        if experiment["arch"] != "mlp":
            continue
        layers = mlp_layers(experiment)
        assert row["params"] == sum((i + 1) * o for i, o in layers), name
        assert row["M"] == 2 * len(layers), name
        # forward 2B sum(in*out); backward: weight gradients 2B sum(in*out) and input
        # gradients of every layer but the first
        b, macs = row["batch"], sum(i * o for i, o in layers)
        assert row["flops_per_step"] == 6 * b * macs - 2 * b * layers[0][0] * layers[0][1], name


def test_resnet18_has_the_standard_size(table, paper):
    if paper["experiments"]["resnet18"]["arch_kwargs"].get("width", 64) != 64:
        pytest.skip("config/paper.yaml changed the ResNet-18 width")
    assert table["resnet18"]["params"] == 11_173_962
    assert table["resnet18"]["M"] == 62


def test_each_scheme_trained_checkpointed_resumed_and_wrote_its_results(table):
    for name, row in table.items():
        assert set(row["runs"]) == {"none", "layer", "all"}, name
        for scheme, run in row["runs"].items():
            assert run["status"] == "ok" and run["steps"] == 2, (name, scheme)
            assert set(METRICS) <= set(run["npz"]), (name, scheme)
            assert all(math.isfinite(run["final"][k]) for k in METRICS), (name, scheme)
            assert not run["checkpoint_left"], (name, scheme)
            assert run["resumed_at_epoch"] == ([1] if scheme == "none" else []), (name, scheme)


def test_paper_cost_estimate_counts_the_configs_runs(table, paper):
    for name, row in table.items():
        experiment = paper["experiments"][name]
        assert row["paper_runs"] == len(runs(experiment)) * paper["n_seeds"], name
        assert row["paper_gpu_hours"] > 0 and row["cpu_s_per_step"] > 0, name
        assert row["peak_memory_mb"] > 0, name
