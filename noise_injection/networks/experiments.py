"""The network experiments of docs/paper.md section 4 as configuration: which runs exist, where
their results go, and which figure shows what.

An experiment (``config["networks"]["experiments"][name]``) fixes data, model and protocol and
lists the noise levels per scheme; the paper's (:data:`EXPERIMENTS`) have their figures
(:data:`FIGURES`) and claim rows, any other is defined by its fields alone and drawn in a
figure of its curves (:func:`configured_figures`); its runs are (scheme, sigma, seed) with scheme "none"
(plain (S)GD, sigma 0) and every sigma of ``sigmas.layer`` / ``sigmas.all``. Sigma convention:
``sigma`` is the layer-wise std; all-weights noise has std sigma/sqrt(M) on every tensor,
M = number of parameter tensors (``NoiseInjector``).

This module only reads configuration (no torch), so the Snakemake DAG can use it cheaply;
training and summaries are in :mod:`noise_injection.networks.runs`.
"""

from __future__ import annotations

import copy
import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

#: The paper's experiments, in its order.
EXPERIMENTS = ("mlp3_narrow", "mlp3_wide", "mlp5_narrow", "mlp5_wide", "toy_cnn", "fcnn",
               "resnet18")
SCHEMES = ("none", "layer", "all")
#: Metrics recorded at every evaluation point (accuracies in %).
METRICS = ("train_loss", "train_acc", "test_loss", "test_acc", "hessian_trace")


@dataclass(frozen=True)
class FigureSpec:
    """One figure: ``kind`` "curves" (metric vs epochs, one column per experiment, at the
    experiment's ``plot_sigma``), "sigma_columns" (one column per sigma of one experiment) or
    "sigma_sweep" (final metrics vs sigma, Fig. 6). ``number``: the paper's figure number
    (None: an experiment beyond the paper). ``window``: the part of each run the paper's
    figure shows, as fractions of its length (shaded; None: no window)."""

    number: int | None
    kind: str
    experiments: tuple[str, ...]
    metrics: tuple[str, ...] = ("test_acc", "train_loss", "hessian_trace")
    window: tuple[float, float] | None = None

    @property
    def label(self) -> str:
        """'Fig. 7', or 'experiment <name> (beyond the paper)'."""
        if self.number is not None:
            return f"Fig. {self.number}"
        return f"experiment {', '.join(self.experiments)} (beyond the paper)"


#: The paper's network figures by file name.
FIGURES = {
    # Fig. 3 shows iterations 1000-8000 of the appendix's 10k-iteration runs (those of Fig. 8)
    "fig3_mlp_sigma": FigureSpec(3, "sigma_columns", ("mlp3_wide",), window=(0.1, 0.8)),
    "fig4_deep_mlps": FigureSpec(4, "curves", ("mlp5_narrow", "mlp5_wide")),
    "fig5_cifar_cnns": FigureSpec(5, "curves", ("toy_cnn", "fcnn"),
                                  ("test_acc", "hessian_trace")),
    "fig6_resnet18_sigma": FigureSpec(6, "sigma_sweep", ("resnet18",),
                                      ("test_acc", "hessian_trace")),
    "fig7_mlp3_narrow": FigureSpec(7, "curves", ("mlp3_narrow",)),
    "fig8_mlp3_wide": FigureSpec(8, "curves", ("mlp3_wide",)),
    "fig9_mlp5_narrow": FigureSpec(9, "curves", ("mlp5_narrow",)),
    "fig10_mlp5_wide": FigureSpec(10, "curves", ("mlp5_wide",)),
    "fig11_toy_cnn": FigureSpec(11, "curves", ("toy_cnn",)),
    "fig12_fcnn": FigureSpec(12, "curves", ("fcnn",)),
}


#: The paper's curves read off its figures (config/paper_digitized/fig<N>.csv).
DIGITIZED = Path(__file__).resolve().parents[2] / "config" / "paper_digitized"


def digitized_figure(name: str) -> int | None:
    """The number of the paper's figure that draws experiment ``name`` alone over training
    and was digitized (App. Figs. 7-10: config/paper_digitized/fig<N>.csv), or None."""
    for spec in FIGURES.values():
        if (spec.kind == "curves" and spec.experiments == (name,)
                and (DIGITIZED / f"fig{spec.number}.csv").is_file()):
            return spec.number
    return None


def compared_experiments(networks: dict) -> tuple[str, ...]:
    """The paper's experiments a configuration runs on the paper's data (FashionMNIST) whose
    figure was digitized: compared with the paper curve for curve (rule curve_comparison)."""
    return tuple(name for name in configured(networks) if digitized_figure(name)
                 and networks["experiments"][name]["dataset"] == "fashion_mnist")


def configured(networks: dict) -> tuple[str, ...]:
    """The paper's experiments a configuration runs, in the paper's order (a scale may run a
    part)."""
    return tuple(name for name in EXPERIMENTS if name in networks["experiments"])


#: Keys of ``networks.width_sweep`` that replace (dicts: update) the base experiment's.
SWEEP_OVERRIDES = ("epochs", "n_seeds", "sigmas", "eval", "hessian", "checkpoint_every",
                   "resources")


#: The tables of the width sweep's analysis (rule width_sweep_analysis):
#: results/networks/width_sweep/<name>.csv.
SWEEP_TABLES = ("drops", "onsets", "onset_summary", "fits", "fig3_prediction", "claims")


def sweep_name(width: int) -> str:
    """The experiment of the width sweep at ``width``: results/networks/width_sweep_w<width>/."""
    return f"width_sweep_w{int(width)}"


def sweep_experiments(networks: dict) -> dict[str, dict]:
    """The experiments of ``networks.width_sweep`` (beyond the paper), one per width: the
    base experiment ``of`` (an MLP: its data, optimizer, learning rate, schedule, weight decay
    and depth) with every hidden layer ``width`` units wide and the sweep's overrides
    (:data:`SWEEP_OVERRIDES`). Each carries ``sweep: {"of", "width"}``; its ``plot_sigma`` is
    the base's if both schemes run it, else the smallest sigma both run. Empty without a
    sweep. The base must be configured (:func:`sweep_problems` says so first)."""
    sweep = networks.get("width_sweep")
    if not sweep:
        return {}
    base = networks["experiments"][sweep["of"]]
    out = {}
    for width in sweep["widths"]:
        experiment = copy.deepcopy(base)
        for key in SWEEP_OVERRIDES:
            if key not in sweep:
                continue
            value = copy.deepcopy(sweep[key])
            experiment[key] = ({**experiment.get(key, {}), **value}
                               if isinstance(value, dict) and key != "sigmas" else value)
        depth = len(base["arch_kwargs"]["widths"])
        experiment["arch_kwargs"] = {**experiment["arch_kwargs"], "widths": [width] * depth}
        common = sorted(set(experiment["sigmas"]["layer"]) & set(experiment["sigmas"]["all"]))
        if base["plot_sigma"] not in common and common:
            experiment["plot_sigma"] = common[0]
        experiment["sweep"] = {"of": sweep["of"], "width": int(width)}
        out[sweep_name(width)] = experiment
    return out


def sweep_problems(networks: dict) -> list[str]:
    """What is wrong with ``networks.width_sweep`` across fields, naming the key: a base that
    the configuration does not run or that is no MLP, no sigma that both schemes run, an
    experiment of the file named like one of the sweep's (it would be overwritten)."""
    sweep = networks.get("width_sweep")
    if not sweep:
        return []
    taken = [sweep_name(w) for w in sweep["widths"]
             if "sweep" not in networks["experiments"].get(sweep_name(w), {"sweep": None})]
    if taken:
        return [f"'networks.experiments' defines {taken}, the name(s) of the width sweep's "
                "experiments (networks.width_sweep); rename them"]
    base = networks["experiments"].get(sweep["of"])
    if base is None:
        return [f"'networks.width_sweep.of' = {sweep['of']!r} is not an experiment of this "
                f"configuration; choose one of {sorted(networks['experiments'])}"]
    if base["arch"] != "mlp":
        return [f"'networks.width_sweep.of' = {sweep['of']!r} has arch {base['arch']!r}; the "
                "width sweep varies the hidden widths of an MLP (arch 'mlp')"]
    sigmas = sweep.get("sigmas", base["sigmas"])
    if not set(sigmas["layer"]) & set(sigmas["all"]):
        return ["'networks.width_sweep.sigmas': the layer and all lists share no sigma; the "
                "sweep compares both schemes at the same sigmas"]
    return []


def swept(networks: dict) -> tuple[str, ...]:
    """The width sweep's experiments a configuration runs (after :func:`validate_config`
    added them to ``networks.experiments``), by width."""
    return tuple(name for name, experiment in networks["experiments"].items()
                 if "sweep" in experiment)


def added(networks: dict) -> tuple[str, ...]:
    """The experiments a configuration defines beyond the paper's and the width sweep's, in
    the file's order (each gets a figure of its curves, :func:`configured_figures`)."""
    return tuple(name for name, experiment in networks["experiments"].items()
                 if name not in EXPERIMENTS and "sweep" not in experiment)


def sweep_epochs(networks: dict) -> int:
    """The width sweep's run length: its ``epochs`` override, else its base experiment's."""
    return networks["experiments"][swept(networks)[0]]["epochs"]


def trained(networks: dict) -> tuple[str, ...]:
    """Every experiment whose runs a configuration trains: the paper's in its order, then
    the others in the file's (the width sweep's last)."""
    return configured(networks) + tuple(name for name in networks["experiments"]
                                        if name not in EXPERIMENTS)


def seeds(networks: dict, name: str) -> range:
    """The seeds of experiment ``name``: its own ``n_seeds``, else ``networks.n_seeds``."""
    return range(networks["experiments"][name].get("n_seeds") or networks["n_seeds"])


def curves_figure(name: str) -> str:
    """The figure of an experiment beyond the paper: figures/<name>_curves.{pdf,png}."""
    return f"{name}_curves"


def configured_figures(networks: dict) -> dict[str, FigureSpec]:
    """The paper's figures all of whose experiments the configuration runs, then one curves
    figure (test accuracy, train loss, Hessian trace) per experiment beyond the paper
    (:func:`added`), named by :func:`curves_figure`."""
    names = set(configured(networks))
    paper = {fig: spec for fig, spec in FIGURES.items() if names.issuperset(spec.experiments)}
    return paper | {curves_figure(name): FigureSpec(None, "curves", (name,))
                    for name in added(networks)}


def sigma_label(sigma: float) -> str:
    """The sigma as it appears in file names: shortest round-trip form ('0.05', '1', '0')."""
    return np.format_float_positional(float(sigma), trim="-")


def runs(experiment: dict) -> list[tuple[str, str]]:
    """(scheme, sigma label) of every setting of an experiment; "none" has sigma '0'."""
    out = [("none", "0")]
    for scheme in ("layer", "all"):
        out += [(scheme, sigma_label(s)) for s in experiment["sigmas"][scheme]]
    return out


def settings(experiment: dict) -> list[tuple[str, float]]:
    """(scheme, sigma) of every setting of an experiment, sigma as a float."""
    return [(scheme, float(sigma)) for scheme, sigma in runs(experiment)]


def figure_columns(spec: FigureSpec, experiments: dict) -> list[tuple[str, float]]:
    """The (experiment, sigma) of each column of a curves figure: every sigma that both
    schemes ran ("sigma_columns"), else each experiment at its ``plot_sigma``."""
    if spec.kind == "sigma_columns":
        name = spec.experiments[0]
        sigmas = experiments[name]["sigmas"]
        return [(name, s) for s in sigmas["layer"] if s in sigmas["all"]]
    return [(name, experiments[name]["plot_sigma"]) for name in spec.experiments]


def figure_series(spec: FigureSpec, experiments: dict) -> dict[str, list[tuple[str, float]]]:
    """Per experiment, the (scheme, sigma) series the figure draws: every setting for the
    sigma sweep; plain (S)GD and both schemes at each column's sigma otherwise."""
    if spec.kind == "sigma_sweep":
        return {name: settings(experiments[name]) for name in spec.experiments}
    series: dict[str, list[tuple[str, float]]] = {name: [("none", 0.0)]
                                                  for name in spec.experiments}
    for name, sigma in figure_columns(spec, experiments):
        series[name] += [("layer", float(sigma)), ("all", float(sigma))]
    return series


#: Per data set: image shape (C, H, W), training and test images and the largest raw pixel
#: value (the digits split of :data:`networks.data.DIGITS_NUM_TRAIN`; the official FashionMNIST
#: and CIFAR-10 sets). One table for the config checks and the benchmarks' synthetic data.
DATASET_SHAPES = {"digits": ((1, 8, 8), 1297, 500, 16),
                  "fashion_mnist": ((1, 28, 28), 60_000, 10_000, 255),
                  "cifar10": ((3, 32, 32), 50_000, 10_000, 255)}
#: Training images of each data set (train_subset may not exceed them).
TRAIN_SIZES = {name: n_train for name, (_, n_train, _, _) in DATASET_SHAPES.items()}
#: Keyword arguments each architecture of :func:`networks.nets.build_model` takes (required
#: ones in the second set).
ARCH_KWARGS = {
    "mlp": ({"widths"}, {"widths"}),
    "toy_cnn": ({"channels", "hidden", "kernel_size", "padding"}, set()),
    "fcnn": ({"channels", "num_pools"}, set()),
    "resnet18": ({"width"}, set()),
}


def experiment_problems(name: str, experiment: dict) -> list[str]:
    """What is wrong across the fields of one experiment's config, each naming its dotted key:
    an architecture that :data:`ARCH_KWARGS` does not know, empty sigma lists, a ``plot_sigma`` that one scheme does not run, a ``train_subset``
    larger than the data set, ``arch_kwargs`` the architecture does not take or lacks."""
    key = f"networks.experiments.{name}"
    if experiment["arch"] not in ARCH_KWARGS:
        return [f"'{key}.arch' = {experiment['arch']!r} is not an architecture; choose one "
                f"of {sorted(ARCH_KWARGS)} (noise_injection.networks.nets.ARCHITECTURES)"]
    problems = []
    sigmas = experiment["sigmas"]
    for scheme in ("layer", "all"):
        if not sigmas[scheme]:
            problems.append(f"'{key}.sigmas.{scheme}' is empty: give at least one sigma")
        elif experiment["plot_sigma"] not in sigmas[scheme]:
            problems.append(f"'{key}.plot_sigma' = {experiment['plot_sigma']} is not in "
                            f"'{key}.sigmas.{scheme}' = {sigmas[scheme]}")
    size = TRAIN_SIZES[experiment["dataset"]]
    if experiment.get("train_subset", 0) > size:
        problems.append(f"'{key}.train_subset' = {experiment['train_subset']} is larger than "
                        f"the {size} training images of {experiment['dataset']}")
    allowed, required = ARCH_KWARGS[experiment["arch"]]
    given = set(experiment.get("arch_kwargs", {}))
    if given - allowed:
        problems.append(f"'{key}.arch_kwargs' has {sorted(given - allowed)}, which arch "
                        f"{experiment['arch']!r} does not take; allowed: {sorted(allowed)}")
    if required - given:
        problems.append(f"'{key}.arch_kwargs' lacks {sorted(required - given)}, required by "
                        f"arch {experiment['arch']!r}")
    return problems


#: Settings outside an experiment's section that change a run's numbers: they are params of
#: the training rule (a change reruns it) and part of its checkpoint's run key.
NUMERICS = ("device", "bf16", "channels_last")


#: Keys of an experiment that do not change a run's numbers (tests/test_run_config.py shows
#: each): which runs exist (sigmas, seeds), the figures, the scheduler's requests, the
#: checkpoint spacing (resuming is bit exact) and the width sweep's label. Changing one reruns
#: no training job and keeps its checkpoint.
INERT_KEYS = ("sigmas", "plot_sigma", "resources", "checkpoint_every", "n_seeds", "sweep")


def run_settings(experiment: dict) -> dict:
    """The settings of an experiment that change a run's numbers (all but :data:`INERT_KEYS`):
    a param of the training rule and part of the run key."""
    return {k: v for k, v in experiment.items() if k not in INERT_KEYS}


def run_key(name: str, experiment: dict, scheme: str, sigma: str, seed: int,
            numerics: dict) -> str:
    """Identifies a run in its checkpoint: the experiment's :func:`run_settings`, scheme,
    sigma, seed and the ``numerics`` settings (:data:`NUMERICS`, with the device as the kind
    actually used)."""
    return json.dumps({"experiment": name, "config": run_settings(experiment),
                       "scheme": scheme, "sigma": sigma, "seed": seed, "numerics": numerics},
                      sort_keys=True)




def run_stem(scheme: str, sigma: str, seed: int) -> str:
    """results/networks/<experiment>/<stem>.{json,npz}: '<scheme>_sigma<sigma>_seed<seed>'."""
    return f"{scheme}_sigma{sigma}_seed{seed}"


def run_list(name: str, networks: dict) -> list[tuple[str, str, int]]:
    """(scheme, sigma label, seed) of every run of experiment ``name``, in a fixed order."""
    return [(scheme, sigma, seed) for scheme, sigma in runs(networks["experiments"][name])
            for seed in seeds(networks, name)]


def run_paths(name: str, networks: dict, suffix: str,
              folder: str = "results/networks") -> list[str]:
    """The files of every run of experiment ``name`` (:func:`run_list` order): results
    (``suffix`` "json" or "npz") or, with ``folder`` results/networks/checkpoints, checkpoints
    ("pt")."""
    return [f"{folder}/{name}/{run_stem(*run)}.{suffix}" for run in run_list(name, networks)]


def dataset_flag(networks: dict, name: str) -> list[str]:
    """The file that marks experiment ``name``'s data set as downloaded and verified (rule
    download_dataset); none for the bundled digits."""
    dataset = networks["experiments"][name]["dataset"]
    return [] if dataset == "digits" else [f"{networks['data_root']}/{dataset}.verified"]
