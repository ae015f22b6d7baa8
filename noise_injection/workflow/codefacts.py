"""Our side of the authors'-protocol checklist where it is not a config key: facts read from
the code (``code.`` keys of config/deviations.yaml's ``authors``).

:func:`code_facts` returns them as a config-shaped dict, measured wherever the code allows it
(tensor and parameter counts of the built nets on the meta device, the probe values and the
aggregation of the Hutchinson estimate, the optimizer's update against ``torch.optim.SGD``, the
loss averaging and mode of the evaluation),
read from a constant (the seeded streams, the subset's arguments) or, where the behaviour has
no constant, from the source of the function that implements it (named in each docstring).
"""

from __future__ import annotations

import inspect

import torch

from noise_injection.networks import data, hessian, nets, train
from noise_injection.networks.experiments import DATASET_SHAPES
from noise_injection.perturb import count_parameter_tensors
from noise_injection.variance import dynamics
from noise_injection.variance.montecarlo import mean_field_weights

NUM_CLASSES = 10  # FashionMNIST, CIFAR-10 and the digits


def architecture(experiment: dict) -> dict:
    """Parameter tensors (M) and parameters of the experiment's net, built on the meta device;
    whether it has BatchNorm and whether M counts every parameter tensor (noise on all)."""
    with torch.device("meta"):
        model = nets.build_model(experiment["arch"], DATASET_SHAPES[experiment["dataset"]][0],
                                 NUM_CLASSES, **experiment["arch_kwargs"])
    params = list(model.parameters())
    has_bn = any(isinstance(m, torch.nn.modules.batchnorm._BatchNorm) for m in model.modules())
    return {"tensors": count_parameter_tensors(model), "parameters": sum(p.numel() for p in params),
            "batchnorm": has_bn, "noise_on_every_tensor": count_parameter_tensors(model) == len(params)}


def default_init() -> str:
    """"pytorch_default" when networks/nets.py calls no ``torch.nn.init`` function."""
    return "custom" if "nn.init" in inspect.getsource(nets) else "pytorch_default"


def subset_draw(experiment: dict) -> str:
    """How the training subset is drawn: "full" (no subset), or "per_seed_shared" when
    :func:`data.subset_indices` depends on the run's seed only (not on the scheme)."""
    if not experiment["train_subset"]:
        return "full"
    args = tuple(inspect.signature(data.subset_indices).parameters)
    return "per_seed_shared" if args == ("n", "size", "seed") else f"depends on {args}"


def optimizer() -> str:
    """"torch.optim.SGD" when :class:`train.MomentumSGD` takes the same three steps as
    ``torch.optim.SGD`` (momentum, weight decay, dampening 0) to the same numbers."""
    start = torch.linspace(-1.0, 1.0, 7, dtype=torch.float64)
    ours, ref = start.clone().requires_grad_(), start.clone().requires_grad_()
    mine = train.MomentumSGD([ours], lr=0.1, momentum=0.9, weight_decay=5e-4)
    theirs = torch.optim.SGD([ref], lr=0.1, momentum=0.9, weight_decay=5e-4)
    for _ in range(3):
        for w, opt in ((ours, mine), (ref, theirs)):
            opt.zero_grad()
            (w ** 3).sum().backward()
            opt.step()
    return "torch.optim.SGD" if torch.equal(ours, ref) else "other"


def measurements_augmented(experiment: dict) -> bool:
    """Whether train metrics and Hessian traces see augmented images: only if the experiment
    augments and :meth:`train.Trainer._measure` applies the crop + flip."""
    return bool(experiment["augment_padding"]) and (
        "random_crop_flip" in inspect.getsource(train.Trainer._measure))


def hutchinson() -> dict:
    """The trace estimator, measured on R(w) = ||w||^2 (Hessian 2I, trace 2n) with 3 probes:
    probe entries and whether the probes' estimates are averaged ("mean") or summed ("sum")."""
    n, probes = 6, 3
    model = torch.nn.Linear(n, 1, bias=False)
    generator = torch.Generator().manual_seed(0)
    values = torch.unique(hessian._rademacher((1000,), generator, "cpu")).tolist()
    trace, _ = hessian.hutchinson_trace(model, lambda out, y: (model.weight ** 2).sum(),
                                        torch.zeros(1, n), torch.zeros(1), probes, generator)
    aggregation = {2.0 * n: "mean", 2.0 * n * probes: "sum"}.get(round(trace, 6), "other")
    return {"probes": "rademacher" if values == [-1, 1] else f"values {values}",
            "aggregation": aggregation}


def evaluation() -> dict:
    """How :func:`train.evaluate` measures, on 3 examples in batches of 2 through a net that
    records its mode: the loss averaging ("mean over examples" when the loss is the mean of
    the 3 examples' losses, "mean of batch means" when the two batches' means are averaged)
    and the mode ("eval" or "train"); and when the metrics are taken
    (:func:`train.eval_epochs`: "after the last step" when the last evaluation follows the
    final step, as evaluation e follows e steps)."""
    modes = []

    class Probe(torch.nn.Module):
        def forward(self, x):
            modes.append(self.training)
            return x

    logits = torch.tensor([[2.0, 0.0], [0.0, 0.0], [0.0, 3.0]])
    labels = torch.tensor([0, 0, 0])
    loss, _ = train.evaluate(Probe().train(), logits, labels, 2, lambda x: x)
    each = torch.nn.functional.cross_entropy(logits, labels, reduction="none")
    averaging = {round(float(each.mean()), 6): "mean over examples",
                 round(float((each[:2].mean() + each[2:].mean()) / 2), 6): "mean of batch means"}
    last = max(train.eval_epochs(10, 3))
    return {"loss_averaging": averaging.get(round(loss, 6), "other"),
            "eval_mode": "eval" if modes and not any(modes) else "train",
            "metrics_timing": "after the last step" if last == 10 else f"last after {last}"}


def shared_facts() -> dict:
    """The facts that are the same for every network experiment (measured once)."""
    estimator = hutchinson()
    return {"init": default_init(), "optimizer": optimizer(),
            "hessian_estimator": estimator["probes"],
            "hessian_aggregation": estimator["aggregation"],
            "seeded_streams": sorted(train.STREAMS), **evaluation()}


def network_facts(experiment: dict, shared: dict) -> dict:
    """The facts of one network experiment (``shared``: :func:`shared_facts`)."""
    arch = architecture(experiment)
    augmented = measurements_augmented(experiment)
    return shared | {
        "architecture": {"tensors": arch["tensors"], "parameters": arch["parameters"]},
        "subset_draw": subset_draw(experiment),
        "noise_tensors": "every parameter tensor" if arch["noise_on_every_tensor"] else "some",
        "train_metrics_augmented": augmented,
        "hessian_augmented": augmented,
        "hessian_when": "every evaluation" if experiment["hessian"]["probes"] else "never",
        # one device, no DataParallel: BatchNorm's batch statistics are over the whole batch
        "batchnorm_batch": experiment["batch_size"] if arch["batchnorm"] else None,
    }


def layer_choice() -> str:
    """Figs. 1-2's layer-wise noise: which of the two layers :func:`dynamics.advance` perturbs
    ("uniform_random": a fair coin per step)."""
    return "uniform_random" if "< 0.5" in inspect.getsource(dynamics.advance) else "other"


def variance_init(width: int = 4000, dim: int = 10) -> str:
    """"mean_field" when :func:`mean_field_weights` gives layers of Frobenius norm about 1."""
    weights = mean_field_weights([dim, width, 1], torch.Generator().manual_seed(0))
    norms = [float(torch.linalg.norm(w)) for w in weights]
    return "mean_field" if all(abs(v - 1.0) < 0.2 for v in norms) else f"norms {norms}"


def code_facts(config: dict) -> dict:
    """The facts of the validated ``config`` (one scale), shaped like the config so that the
    checklist's ``code.`` keys are looked up like config keys."""
    networks, heat = config["networks"], config["variance"]["heatmap"]
    shared = shared_facts()
    precision = train.configure_precision(torch.device("cuda"), networks["bf16"])
    return {
        "networks": {
            "precision": precision,
            "experiments": {name: network_facts(exp, shared)
                            for name, exp in networks["experiments"].items()},
        },
        "variance": {
            "init": variance_init(),
            "layer_choice": layer_choice(),
            "heatmap": {"sigma_range": [min(heat["sigmas"]), max(heat["sigmas"])],
                        "width_range": [min(heat["widths"]), max(heat["widths"])]},
        },
    }
