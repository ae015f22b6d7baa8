"""Checkpoints never trap a run: one of another run key, truncated, refused by weights_only or
not fitting the trainer is moved aside with a reason and logged with its path, and the run
starts fresh (ending with the numbers of a clean run); a resumed run records its own wall time
and the total over restarts; the run key covers device, bf16 and channels_last."""

import logging

import numpy as np
import pytest
import torch

from noise_injection.networks.experiments import NUMERICS, run_key
from noise_injection.networks.train import Protocol, Trainer, train_network
from test_train import tiny_data, tiny_net

PROTOCOL = Protocol(lr=0.05, epochs=3, batch_size=16, eval_points=3, checkpoint_every=1)


def trainer(net_seed=0):
    return Trainer(tiny_net(net_seed), tiny_data(), PROTOCOL, scheme="layer", sigma=0.1, seed=0,
                   device="cpu")


def final_numbers(t):
    return {k: np.asarray(v, dtype=float) for k, v in t.history.items() if k != "hessian_per_tensor"}


@pytest.fixture(scope="module")
def clean():
    t = trainer()
    t.run(progress=False)
    return final_numbers(t)


def good_checkpoint(path, key="k", net_seed=0):
    t = trainer(net_seed)
    t.run(path, run_key=key, progress=False)
    assert path.exists()


def truncate(path):
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])


class Opaque:
    """Not on weights_only's list of allowed types."""


def refused(path):
    torch.save({"run_key": "k", "payload": Opaque()}, path)


def other_key(path):
    good_checkpoint(path, key="another run")


def other_net(path):
    torch.save({"run_key": "k", **Trainer(torch.nn.Sequential(
        torch.nn.Flatten(), torch.nn.Linear(36, 3)), tiny_data(), PROTOCOL, scheme="layer",
        sigma=0.1, seed=0, device="cpu").state_dict()}, path)


@pytest.mark.parametrize("damage, reason", [
    (truncate, "unreadable"), (refused, "refused"), (other_key, "other-run"),
    (other_net, "incompatible"),
], ids=["truncated", "refused", "other-key", "not-fitting"])
def test_bad_checkpoint_is_moved_aside_and_the_run_starts_fresh(tmp_path, caplog, clean, damage,
                                                                reason):
    path = tmp_path / "run.pt"
    if damage is truncate:
        good_checkpoint(path)
    damage(path)
    before = path.read_bytes()
    t = trainer()
    with caplog.at_level(logging.WARNING, logger="noise_injection"):
        t.run(path, run_key="k", progress=False)
    aside = tmp_path / f"run.pt.{reason}"
    assert aside.read_bytes() == before  # kept for inspection, never overwritten
    assert any(str(path) in r.getMessage() and str(aside) in r.getMessage()
               for r in caplog.records)
    for key, values in clean.items():
        assert np.array_equal(final_numbers(t)[key], values, equal_nan=True), key
    assert torch.load(path, weights_only=True)["run_key"] == "k"  # its own checkpoint now


def test_moving_aside_twice_keeps_both_files(tmp_path):
    path = tmp_path / "run.pt"
    for _ in range(2):
        path.write_bytes(b"not a checkpoint")
        assert not trainer().try_resume(path, "k")
    assert (tmp_path / "run.pt.unreadable").exists() and (tmp_path / "run.pt.unreadable.1").exists()


class Interrupt(Exception):
    pass


def test_resumed_run_records_its_own_and_the_total_wall_time(tmp_path, monkeypatch):
    """A fake clock (no timing): each epoch of the killed run takes 100 s, the resumed run 0 s,
    so its own wall time is 0 and the total is what the checkpoint carried."""
    from noise_injection.networks import train as train_module

    now = [0.0]
    monkeypatch.setattr(train_module.time, "perf_counter", lambda: now[0])
    path = tmp_path / "run.pt"

    def slow_then_killed(t):
        now[0] += 100.0
        if t.epoch == 2:
            raise Interrupt

    kwargs = dict(scheme="layer", sigma=0.1, seed=0, device="cpu", checkpoint=path, run_key="k",
                  progress=False)
    with pytest.raises(Interrupt):
        train_network(tiny_net(), tiny_data(), PROTOCOL, on_epoch_end=slow_then_killed, **kwargs)
    before = torch.load(path, weights_only=True)["wall_time_total_s"]
    assert before >= 100.0  # epoch 1 took 100 s before its checkpoint
    out = train_network(tiny_net(), tiny_data(), PROTOCOL, **kwargs)
    assert out["wall_time_s"] == 0.0
    assert out["wall_time_total_s"] == before


def test_run_key_changes_with_every_numerics_setting():
    base = {"device": "cpu", "bf16": False, "channels_last": False}
    keys = {run_key("fcnn", {"lr": 0.1}, "layer", "0.05", 0, base)}
    for name, other in (("device", "cuda"), ("bf16", True), ("channels_last", True)):
        keys.add(run_key("fcnn", {"lr": 0.1}, "layer", "0.05", 0, base | {name: other}))
    assert len(keys) == 1 + len(NUMERICS)


def test_inert_experiment_keys_leave_the_run_key_alone():
    from noise_injection.networks.experiments import INERT_KEYS

    base = {"device": "cpu", "bf16": False, "channels_last": False}
    experiment = {"lr": 0.1, "sigmas": {"layer": [0.05]}, "plot_sigma": 0.05,
                  "resources": {"runtime": 10, "mem_mb": 100, "gpu_mem_mb": 0},
                  "checkpoint_every": 5}
    key = run_key("fcnn", experiment, "layer", "0.05", 0, base)
    for inert, other in (("sigmas", {"layer": [0.05, 0.1]}), ("plot_sigma", 0.1),
                         ("resources", {"runtime": 99, "mem_mb": 100, "gpu_mem_mb": 9000}),
                         ("checkpoint_every", 1)):
        assert inert in INERT_KEYS
        assert run_key("fcnn", {**experiment, inert: other}, "layer", "0.05", 0, base) == key
    assert run_key("fcnn", {**experiment, "lr": 0.2}, "layer", "0.05", 0, base) != key
