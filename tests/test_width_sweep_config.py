"""networks.width_sweep: one experiment per width, the base's protocol with the sweep's
overrides, ordinary training jobs in the DAG, and bad input named before any job."""

import copy
from pathlib import Path

import pytest

from noise_injection.networks.experiments import run_paths, run_settings, swept, trained
from noise_injection.workflow.config import ConfigError, load_config_file, validate_config

ROOT = Path(__file__).resolve().parents[1]
SCHEMA = ROOT / "config" / "schema.yaml"


def config(name="smoke.yaml", edit=None):
    raw = load_config_file(ROOT / "config" / name)
    if edit:
        edit(raw)
    return validate_config(raw, SCHEMA, name)


def test_each_width_is_the_base_protocol_at_that_width():
    networks = config()["networks"]
    base = networks["experiments"]["mlp3_narrow"]
    assert swept(networks) == ("width_sweep_w4", "width_sweep_w8")
    assert trained(networks)[-2:] == swept(networks)
    for width in (4, 8):
        member = networks["experiments"][f"width_sweep_w{width}"]
        assert member["arch_kwargs"]["widths"] == [width, width, width]
        assert member["sweep"] == {"of": "mlp3_narrow", "width": width}
        assert member["sigmas"] == {"layer": [0.5], "all": [0.5]}
        assert member["hessian"]["probes"] == 0 and member["hessian"]["subset"] == 32
        # everything else is the base's: data, optimizer, lr, schedule, weight decay
        for key in ("dataset", "train_subset", "lr", "epochs", "momentum", "weight_decay",
                    "schedule", "normalization", "order", "batch_size"):
            assert member[key] == base[key], key
        # 2 seeds x (GD + one sigma per scheme)
        assert len(run_paths(f"width_sweep_w{width}", networks, "json")) == 6


def test_validating_twice_changes_nothing():
    once = config()
    twice = validate_config(copy.deepcopy(once), SCHEMA, "again")
    assert twice == once


def test_a_sweep_of_an_unknown_or_convolutional_experiment_is_refused():
    def unknown(raw):
        raw["networks"]["width_sweep"]["of"] = "mlp9"

    with pytest.raises(ConfigError, match=r"networks.width_sweep.of' = 'mlp9'"):
        config(edit=unknown)

    def cnn(raw):
        raw["networks"]["width_sweep"]["of"] = "toy_cnn"

    with pytest.raises(ConfigError, match="arch 'toy_cnn'"):
        config(edit=cnn)

    def disjoint(raw):
        raw["networks"]["width_sweep"]["sigmas"] = {"layer": [0.1], "all": [0.2]}

    with pytest.raises(ConfigError, match="share no sigma"):
        config(edit=disjoint)


def test_the_sweep_width_changes_the_run_key():
    experiments = config()["networks"]["experiments"]
    assert (run_settings(experiments["width_sweep_w4"])
            != run_settings(experiments["width_sweep_w8"]))


@pytest.mark.parametrize("name", ["cpu.yaml", "paper.yaml"])
def test_the_real_data_sweeps_tie_to_app_fig7(name):
    """The CPU and paper sweeps vary App. Fig. 7's protocol, include its width 500, span at
    least 8x in width and run both schemes on one log-spaced grid with at least 2 seeds."""
    networks = config(name)["networks"]
    sweep = networks["width_sweep"]
    assert sweep["of"] == "mlp3_narrow" and 500 in sweep["widths"]
    assert max(sweep["widths"]) >= 8 * min(sweep["widths"])
    assert sweep["sigmas"]["layer"] == sweep["sigmas"]["all"]
    assert sweep["n_seeds"] >= 2
    for name_ in swept(networks):
        assert networks["experiments"][name_]["weight_decay"] == 0.0
