"""The network experiments of paper.md section 4 as configuration: which runs exist, where
their results go, and which figure shows what.

An experiment (``config["networks"]["experiments"][name]``) fixes data, model and protocol and
lists the noise levels per scheme; its runs are (scheme, sigma, seed) with scheme "none"
(plain (S)GD, sigma 0) and every sigma of ``sigmas.layer`` / ``sigmas.all``. Sigma convention:
``sigma`` is the layer-wise std; all-weights noise has std sigma/sqrt(M) on every tensor,
M = number of parameter tensors (``NoiseInjector``).

This module only reads configuration (no torch), so the Snakemake DAG can use it cheaply;
training and summaries are in :mod:`noise_injection.networks.runs`.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

import numpy as np

EXPERIMENTS = ("mlp3_narrow", "mlp3_wide", "mlp5_narrow", "mlp5_wide", "toy_cnn", "fcnn",
               "resnet18")
SCHEMES = ("none", "layer", "all")
#: Metrics recorded at every evaluation point (accuracies in %).
METRICS = ("train_loss", "train_acc", "test_loss", "test_acc", "hessian_trace")


@dataclass(frozen=True)
class FigureSpec:
    """One figure: ``kind`` "curves" (metric vs epochs, one column per experiment, at the
    experiment's ``plot_sigma``), "sigma_columns" (one column per sigma of one experiment) or
    "sigma_sweep" (final metrics vs sigma, Fig. 6). ``window``: the part of each run the
    paper's figure shows, as fractions of its length (shaded; None: no window)."""

    number: int
    kind: str
    experiments: tuple[str, ...]
    metrics: tuple[str, ...] = ("test_acc", "train_loss", "hessian_trace")
    window: tuple[float, float] | None = None


#: The paper's network figures by file name.
FIGURES = {
    # Fig. 3 shows iterations 1000-8000 of the appendix's 10k-iteration runs (those of Fig. 8)
    "fig3_mlp_sigma": FigureSpec(3, "sigma_columns", ("mlp3_wide",), window=(0.1, 0.8)),
    "fig4_deep_mlps": FigureSpec(4, "curves", ("mlp5_narrow", "mlp5_wide")),
    "fig5_cifar_cnns": FigureSpec(5, "curves", ("toy_cnn", "fcnn"), ("test_acc",)),
    "fig6_resnet18_sigma": FigureSpec(6, "sigma_sweep", ("resnet18",),
                                      ("test_acc", "hessian_trace")),
    "fig7_mlp3_narrow": FigureSpec(7, "curves", ("mlp3_narrow",)),
    "fig8_mlp3_wide": FigureSpec(8, "curves", ("mlp3_wide",)),
    "fig9_mlp5_narrow": FigureSpec(9, "curves", ("mlp5_narrow",)),
    "fig10_mlp5_wide": FigureSpec(10, "curves", ("mlp5_wide",)),
    "fig11_toy_cnn": FigureSpec(11, "curves", ("toy_cnn",)),
    "fig12_fcnn": FigureSpec(12, "curves", ("fcnn",)),
}


def sigma_label(sigma: float) -> str:
    """The sigma as it appears in file names: shortest round-trip form ('0.05', '1', '0')."""
    return np.format_float_positional(float(sigma), trim="-")


def runs(experiment: dict) -> list[tuple[str, str]]:
    """(scheme, sigma label) of every setting of an experiment; "none" has sigma '0'."""
    out = [("none", "0")]
    for scheme in ("layer", "all"):
        out += [(scheme, sigma_label(s)) for s in experiment["sigmas"][scheme]]
    return out


def check_plot_sigma(name: str, experiment: dict) -> None:
    """The sigma shown in single-sigma figures must be one of both schemes' sigmas."""
    sigma = experiment["plot_sigma"]
    for scheme in ("layer", "all"):
        if sigma not in experiment["sigmas"][scheme]:
            raise ValueError(f"networks.experiments.{name}.plot_sigma = {sigma} is not in "
                             f"sigmas.{scheme} = {experiment['sigmas'][scheme]}")


def run_key(name: str, experiment: dict, scheme: str, sigma: str, seed: int) -> str:
    """Identifies a run in its checkpoint: experiment config, scheme, sigma and seed."""
    return json.dumps({"experiment": name, "config": experiment, "scheme": scheme,
                       "sigma": sigma, "seed": seed}, sort_keys=True)




def run_stem(scheme: str, sigma: str, seed: int) -> str:
    """results/networks/<experiment>/<stem>.{json,npz}: '<scheme>_sigma<sigma>_seed<seed>'."""
    return f"{scheme}_sigma{sigma}_seed{seed}"


def run_paths(name: str, networks: dict, suffix: str) -> list[str]:
    """The result files (``suffix`` "json" or "npz") of every run of experiment ``name``."""
    return [f"results/networks/{name}/{run_stem(scheme, sigma, seed)}.{suffix}"
            for scheme, sigma in runs(networks["experiments"][name])
            for seed in range(networks["n_seeds"])]


def dataset_flag(networks: dict, name: str) -> list[str]:
    """The file that marks experiment ``name``'s data set as downloaded and verified (rule
    download_dataset); none for the bundled digits."""
    dataset = networks["experiments"][name]["dataset"]
    return [] if dataset == "digits" else [f"{networks['data_root']}/{dataset}.verified"]
