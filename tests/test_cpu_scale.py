"""The CPU scale (config/cpu.yaml) is the paper scale, key for key, for everything it runs: the
injector, finite and variance stages whole, and each network experiment it keeps, after the
schema's defaults are filled in. Only where and how many experiments run may differ."""

from pathlib import Path

import pytest

from noise_injection.networks.experiments import EXPERIMENTS, configured, run_settings, swept
from noise_injection.workflow.config import load_config_file, validate_config
from noise_injection.workflow.dag import read_workflow

ROOT = Path(__file__).resolve().parents[1]
SCHEMA = ROOT / "config" / "schema.yaml"
#: networks keys that say where and how a CPU runs the jobs, not what a run computes
#: (device is part of every run's key and record; data_mirrors: where the same bytes are read)
PLACEMENT = {"device", "threads", "gpu", "data_mirrors", "experiments", "width_sweep"}


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
    assert set(configured(cpu["networks"])) <= set(EXPERIMENTS)
    for name in configured(cpu["networks"]):
        experiment = cpu["networks"]["experiments"][name]
        assert experiment == paper["networks"]["experiments"][name], name
        assert run_settings(experiment) == run_settings(paper["networks"]["experiments"][name])
    for key, value in paper["networks"].items():
        if key not in PLACEMENT:
            assert cpu["networks"][key] == value, key
    assert cpu["networks"]["device"] == "cpu" and cpu["networks"]["gpu"] == 0


def test_cpu_sweep_is_the_paper_sweep_at_cpu_widths(cpu, paper):
    """The width sweep of the CPU scale is the paper scale's, key for key, but for its widths
    (a subset: the CPU trains the narrower ones), its seeds and the scheduler's resources."""
    mine, theirs = cpu["networks"]["width_sweep"], paper["networks"]["width_sweep"]
    assert set(mine["widths"]) < set(theirs["widths"])
    for key in set(mine) | set(theirs):
        if key not in ("widths", "n_seeds", "resources"):  # resources: placement
            assert mine[key] == theirs[key], key
    for name in swept(cpu["networks"]):
        assert (run_settings(cpu["networks"]["experiments"][name])
                == run_settings(paper["networks"]["experiments"][name])), name


def test_cpu_dry_run_lists_the_jobs(cpu):
    """9 App. Fig. 7 training runs (3 schemes x 3 seeds) and the width sweep's (per width, GD
    and both schemes at every sigma, each seed), Fig. 7 and its claims; no other network
    figure."""
    workflow = read_workflow(ROOT, "config/cpu.yaml")
    rules = [job.rule.name for job in workflow.jobs]
    sweep = cpu["networks"]["width_sweep"]
    per_width = (1 + len(sweep["sigmas"]["layer"]) + len(sweep["sigmas"]["all"]))
    assert rules.count("train_network") == 9 + len(sweep["widths"]) * sweep["n_seeds"] * per_width
    assert "network_figure_fig7_mlp3_narrow" in rules and "network_claims" in rules
    assert not [r for r in rules if r.startswith("network_figure_") and "fig7" not in r]
    assert {"finite_pgd", "variance_stall", "claims_table"} <= set(rules)
