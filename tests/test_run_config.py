"""Every key of a network experiment reaches the run: the config -> Protocol mapping field by
field (distinct values, so swapped keys fail), and end to end through ``train_run`` (the rule's
entry point), where changing one key changes the recorded history and only the keys
documented as inert leave it unchanged. A key added to the schema must be classified here."""

import copy
from pathlib import Path

import numpy as np
import pytest
import yaml

from noise_injection.networks import runs
from noise_injection.networks.experiments import INERT_KEYS
from noise_injection.networks.train import Protocol
from noise_injection.workflow.config import load_schema, validate_config

pytestmark = pytest.mark.usefixtures("one_thread")

ROOT = Path(__file__).resolve().parents[1]

#: One changed value per key that shapes the run (from the base experiment below).
CHANGES = {
    "train_subset": 80,
    "arch": "fcnn",
    "arch_kwargs": {"widths": [8, 9, 8]},
    "lr": 0.1,
    "epochs": 5,
    "batch_size": 0,
    "momentum": 0.5,
    "weight_decay": 0.05,
    "schedule": "constant",
    "noise_off_epoch": 2,
    "augment_padding": 1,
    "normalization": "unit_interval",
    "order": "random",
    "eval.spacing": "log",
    "eval.points": 4,
    "hessian.probes": 2,
    "hessian.subset": 16,
}
#: Keys that must not change a run's numbers, and why (documented in config/schema).
INERT = {
    "sigmas": "which runs exist; a run's sigma is its own (the rule's wildcard)",
    "plot_sigma": "figures only",
    "resources": "the scheduler only",
    "checkpoint_every": "resuming is bit exact, so checkpoints do not change the numbers",
    "n_seeds": "which runs exist; a run's seed is its own (the rule's wildcard)",
    "sweep": "a label the workflow gives the width sweep's experiments; the width is arch_kwargs",
}
#: Keys that change only float rounding (memory/speed settings).
ROUNDING = {"hessian.batch_size": 8}
#: Keys exercised by a spy rather than by a run (the other data sets need a download).
SPIED = {"dataset"}


def schema_keys() -> set[str]:
    """Dotted keys of one experiment in config/schema/networks.yaml (one level of nesting)."""
    schema = load_schema(ROOT / "config" / "schema" / "networks.yaml")
    (experiment,) = schema["properties"]["experiments"]["patternProperties"].values()
    experiment = experiment["properties"]
    keys = set()
    for key, sub in experiment.items():
        nested = sub.get("properties") if key in ("eval", "hessian") else None
        keys |= {f"{key}.{k}" for k in nested} if nested else {key}
    return keys


def base_networks() -> dict:
    """The smoke scale's mlp3_narrow (digits, offline), made so that every key acts: minibatch
    SGD, noise switched off before the end, layer-wise noise, a linear evaluation grid that
    differs from the log one (epochs 0, 2, 4 against 0, 1, 2, 4)."""
    config = yaml.safe_load((ROOT / "config" / "smoke.yaml").read_text())
    networks = validate_config(config, ROOT / "config" / "schema.yaml")["networks"]
    experiment = networks["experiments"]["mlp3_narrow"]
    experiment.update(batch_size=16, noise_off_epoch=3, eval={"spacing": "linear", "points": 3},
                      hessian={"probes": 1, "subset": 32, "batch_size": 0})
    return networks


def with_key(networks: dict, key: str, value) -> dict:
    changed = copy.deepcopy(networks)
    node = changed["experiments"]["mlp3_narrow"]
    *parents, leaf = key.split(".")
    for parent in parents:
        node = node[parent]
    node[leaf] = value
    if key == "arch":
        changed["experiments"]["mlp3_narrow"]["arch_kwargs"] = {"channels": [4, 4]}
    return changed


def history(networks: dict, tmp_path=None) -> dict:
    checkpoint = None if tmp_path is None else tmp_path / "run.pt"
    out = runs.train_run("mlp3_narrow", networks, "layer", "0.05", 0, checkpoint=checkpoint,
                         progress=False)
    return runs.history_arrays(out["history"])


def same(a: dict, b: dict, rtol: float = 0.0) -> bool:
    return a.keys() == b.keys() and all(
        a[k].shape == b[k].shape and np.allclose(a[k], b[k], rtol=rtol, atol=0, equal_nan=True)
        for k in a)


@pytest.fixture(scope="module")
def base():
    networks = base_networks()
    return networks, history(networks)


def test_every_experiment_key_is_classified():
    assert schema_keys() == set(CHANGES) | set(INERT) | set(ROUNDING) | SPIED
    # the keys left out of the training rule's params and the run key are exactly these
    assert set(INERT) == set(INERT_KEYS)


def test_base_values_differ_from_the_changed_ones(base):
    networks, _ = base
    experiment = networks["experiments"]["mlp3_narrow"]
    for key, value in CHANGES.items():
        node = experiment
        for part in key.split("."):
            node = node[part]
        assert node != value, key


@pytest.mark.parametrize("key", sorted(CHANGES))
def test_changing_a_key_changes_the_recorded_run(base, key):
    networks, reference = base
    assert not same(history(with_key(networks, key, CHANGES[key])), reference)


@pytest.mark.parametrize("key", sorted(INERT))
def test_inert_keys_leave_the_run_bit_for_bit(base, key, tmp_path):
    networks, reference = base
    value = {"sigmas": {"layer": [0.05, 0.3], "all": [0.05, 0.3]}, "plot_sigma": 0.3,
             "resources": {"runtime": 99, "mem_mb": 999}, "checkpoint_every": 1,
             "n_seeds": 7, "sweep": {"of": "mlp3_narrow", "width": 8}}[key]
    changed = with_key(networks, key, value)
    if key == "plot_sigma":
        changed = with_key(changed, "sigmas", {"layer": [0.05, 0.3], "all": [0.05, 0.3]})
    assert same(history(changed, tmp_path), reference)


def test_hessian_chunking_changes_only_rounding(base):
    networks, reference = base
    (key, value), = ROUNDING.items()
    assert same(history(with_key(networks, key, value)), reference, rtol=1e-5)


def test_the_dataset_key_reaches_the_loader(base, monkeypatch):
    networks, _ = base
    asked = []
    load = runs.load_dataset
    monkeypatch.setattr(runs, "load_dataset",
                        lambda name, **kwargs: asked.append(name) or load("digits", **kwargs))
    history(with_key(networks, "dataset", "fashion_mnist"))
    assert asked == ["fashion_mnist"]


def test_protocol_takes_each_value_from_its_own_key():
    """Distinct values everywhere, so swapping two keys (momentum and weight decay) fails;
    batch sizes 0 mean full batch / one chunk."""
    experiment = {"lr": 0.0123, "epochs": 17, "batch_size": 5, "momentum": 0.77,
                  "weight_decay": 0.0031, "schedule": "constant", "noise_off_epoch": 13,
                  "augment_padding": 2, "eval": {"spacing": "linear", "points": 9},
                  "hessian": {"probes": 6, "subset": 33, "batch_size": 11},
                  "checkpoint_every": 4}
    networks = {"bf16": True, "channels_last": False}
    assert runs.protocol(experiment, networks) == Protocol(
        lr=0.0123, epochs=17, batch_size=5, momentum=0.77, weight_decay=0.0031,
        schedule="constant", noise_off_epoch=13, augment_padding=2, eval_spacing="linear",
        eval_points=9, hessian_probes=6, hessian_subset=33, hessian_batch_size=11,
        checkpoint_every=4, bf16=True, channels_last=False)
    full = {**experiment, "batch_size": 0, "hessian": {**experiment["hessian"], "batch_size": 0}}
    p = runs.protocol(full, {"bf16": False, "channels_last": True})
    assert (p.batch_size, p.hessian_batch_size, p.bf16, p.channels_last) == (None, None, False,
                                                                              True)
