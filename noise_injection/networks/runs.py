"""One network run from the configuration, and its history as arrays.

Seeds: run ``seed`` draws its training subset with ``seed``, so the three schemes of one seed
train on the SAME subset (and from the same initialization, data order and augmentation):
the schemes are paired by seed. The authors' unseeded code drew a new subset per run and per
method (a declared deviation, config/deviations.yaml). Initialization, noise, data order,
augmentation and Hessian probes come from independent streams derived from ``seed``
(:func:`train.stream_seed`).
Sigma convention: ``sigma`` is the layer-wise std; all-weights noise has std sigma/sqrt(M).
"""

from __future__ import annotations

import numpy as np
import torch

from noise_injection.networks.data import load_dataset
from noise_injection.networks.experiments import METRICS, NUMERICS, run_key
from noise_injection.networks.nets import build_model
from noise_injection.networks.train import Protocol, resolve_device, stream_seed, train_network


def protocol(experiment: dict, networks: dict) -> Protocol:
    """The :class:`Protocol` of an experiment (batch_size 0 in the config = full batch)."""
    hessian = experiment["hessian"]
    return Protocol(
        lr=experiment["lr"], epochs=experiment["epochs"],
        batch_size=experiment["batch_size"] or None,
        momentum=experiment["momentum"], weight_decay=experiment["weight_decay"],
        schedule=experiment["schedule"], noise_off_epoch=experiment["noise_off_epoch"],
        augment_padding=experiment["augment_padding"],
        eval_spacing=experiment["eval"]["spacing"], eval_points=experiment["eval"]["points"],
        hessian_probes=hessian["probes"], hessian_subset=hessian["subset"],
        hessian_batch_size=hessian["batch_size"] or None,
        checkpoint_every=experiment["checkpoint_every"],
        bf16=networks["bf16"], channels_last=networks["channels_last"],
    )


def train_run(name: str, networks: dict, scheme: str, sigma: str, seed: int,
              checkpoint=None, progress: bool = True) -> dict:
    """Load the data, build the seeded model and train one run of experiment ``name``
    (see :func:`train.train_network` for the returned dict, here with ``data_source``: the
    files read, :attr:`data.ArrayDataset.source`)."""
    experiment = networks["experiments"][name]
    data = load_dataset(experiment["dataset"], root=networks["data_root"],
                        train_subset=experiment["train_subset"] or None, seed=seed,
                        raw_pixels=experiment["augment_padding"] > 0,
                        normalization=experiment["normalization"],
                        mirrors=networks["data_mirrors"])
    torch.manual_seed(stream_seed(seed, "init"))
    model = build_model(experiment["arch"], data.in_shape, data.num_classes,
                        **experiment["arch_kwargs"])
    device = resolve_device(networks["device"])
    numerics = {k: networks[k] for k in NUMERICS} | {"device": device.type}
    out = train_network(model, data, protocol(experiment, networks), scheme=scheme,
                        sigma=float(sigma), seed=seed, order=experiment["order"],
                        device=device, checkpoint=checkpoint,
                        run_key=run_key(name, experiment, scheme, sigma, seed, numerics),
                        progress=progress)
    return out | {"data_source": list(data.source)}


def history_arrays(history: dict) -> dict[str, np.ndarray]:
    """The history as arrays for ``write_npz`` (per-tensor traces: evals x M, NaN-padded)."""
    arrays = {k: np.asarray(history[k], dtype=float) for k in ("epoch", "lr", *METRICS)}
    per_tensor = history["hessian_per_tensor"]
    width = max((len(row) for row in per_tensor), default=0)
    arrays["hessian_per_tensor"] = np.array(
        [list(row) + [np.nan] * (width - len(row)) for row in per_tensor], dtype=float
    ).reshape(len(per_tensor), width)
    return arrays


def final_metrics(history: dict) -> dict[str, float]:
    """The metrics at the last evaluation (the end of training, or the divergence)."""
    return {k: float(history[k][-1]) for k in METRICS}
