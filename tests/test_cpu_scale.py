"""The CPU scale (config/cpu.yaml) is the paper scale, key for key, for everything it runs: the
injector, finite and variance stages whole, and each network experiment it keeps, after the
schema's defaults are filled in. Only where and how many experiments run may differ."""

from pathlib import Path

import pytest

from noise_injection.networks.experiments import EXPERIMENTS, run_settings
from noise_injection.workflow.config import load_config_file, validate_config
from noise_injection.workflow.dag import read_workflow

ROOT = Path(__file__).resolve().parents[1]
SCHEMA = ROOT / "config" / "schema.yaml"
#: networks keys that say where and how a CPU runs the jobs, not what a run computes
#: (device is part of every run's key and record; data_mirrors: where the same bytes are read)
PLACEMENT = {"device", "threads", "gpu", "data_mirrors", "experiments"}


def scale(name: str) -> dict:
    path = ROOT / "config" / name
    return validate_config(load_config_file(path), SCHEMA, str(path))


@pytest.fixture(scope="module")
def cpu():
    return scale("cpu.yaml")


@pytest.fixture(scope="module")
def paper():
    return scale("paper.yaml")


@pytest.mark.parametrize("stage", ["injector", "finite", "variance", "review"])
def test_cpu_stage_is_the_paper_stage(cpu, paper, stage):
    assert cpu[stage] == paper[stage]


def test_cpu_networks_are_the_paper_protocol(cpu, paper):
    """Each experiment the CPU scale runs has the paper's settings, the inert ones (sigmas,
    figures, resources, checkpoint spacing) included; it runs App. Fig. 7's mlp3_narrow and
    keeps the paper's seeds and fp32 numerics."""
    assert "mlp3_narrow" in cpu["networks"]["experiments"]
    assert set(cpu["networks"]["experiments"]) <= set(EXPERIMENTS)
    for name, experiment in cpu["networks"]["experiments"].items():
        assert experiment == paper["networks"]["experiments"][name], name
        assert run_settings(experiment) == run_settings(paper["networks"]["experiments"][name])
    for key, value in paper["networks"].items():
        if key not in PLACEMENT:
            assert cpu["networks"][key] == value, key
    assert cpu["networks"]["device"] == "cpu" and cpu["networks"]["gpu"] == 0


def test_cpu_dry_run_lists_the_jobs():
    """9 training runs (3 schemes x 3 seeds), Fig. 7 and its claims; no other network figure."""
    workflow = read_workflow(ROOT, "config/cpu.yaml")
    rules = [job.rule.name for job in workflow.jobs]
    assert rules.count("train_network") == 9
    assert "network_figure_fig7_mlp3_narrow" in rules and "network_claims" in rules
    assert not [r for r in rules if r.startswith("network_figure_") and "fig7" not in r]
    assert {"finite_pgd", "variance_stall", "claims_table"} <= set(rules)
