"""Which FashionMNIST experiments of the paper a CPU finishes: seconds per full-batch training
step of each MLP of config/paper.yaml on 1,024 real images, measured here, and the hours its
paper protocol (every run, every iteration) would take on this machine.

A step is what the training loop does per iteration with the paper's optimizer: zero_grad,
forward, backward, momentum-SGD step, inside the noise injector (layer-wise mode), so the
injector's draws are counted. Evaluations and Hessian traces (about 40 per run) are not:
the projection is a lower bound. The step time is the median over ``--steps`` steps after one
warm-up step; the MLPs are built with the config's widths and the default initialization.

    python benchmarks/cpu_scale.py                 # every FashionMNIST MLP, 2 threads
    python benchmarks/cpu_scale.py --experiments mlp3_narrow mlp5_narrow --steps 20

Needs the real FashionMNIST (a local copy, e.g. Debian's dataset-fashion-mnist: data/README.md).
"""

from __future__ import annotations

import argparse
import statistics
import time

import torch
from torch.nn import functional as F

from noise_injection import NoiseInjector
from noise_injection.networks.data import load_dataset
from noise_injection.networks.experiments import configured, run_paths
from noise_injection.networks.nets import build_model
from noise_injection.networks.train import MomentumSGD
from noise_injection.workflow.config import load_config_file, validate_config


def step_seconds(experiment: dict, networks: dict, steps: int) -> float:
    """Median seconds of one full-batch layer-wise-noise training step (after a warm-up)."""
    data = load_dataset("fashion_mnist", root=networks["data_root"],
                        mirrors=networks["data_mirrors"], train_subset=experiment["train_subset"],
                        normalization=experiment["normalization"])
    torch.manual_seed(0)
    model = build_model(experiment["arch"], data.in_shape, data.num_classes,
                        **experiment["arch_kwargs"])
    injector = NoiseInjector(model, sigma=experiment["sigmas"]["layer"][0], mode="layer")
    optimizer = MomentumSGD(model.parameters(), lr=experiment["lr"],
                            momentum=experiment["momentum"],
                            weight_decay=experiment["weight_decay"])
    times = []
    for step in range(steps + 1):
        start = time.perf_counter()
        optimizer.zero_grad()
        with injector.perturb(step):
            F.cross_entropy(model(data.x_train), data.y_train).backward()
        optimizer.step()
        times.append(time.perf_counter() - start)
    return statistics.median(times[1:])


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--config", default="config/paper.yaml")
    parser.add_argument("--experiments", nargs="*", default=None)
    parser.add_argument("--steps", type=int, default=3)
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    config = validate_config(load_config_file(args.config), "config/schema.yaml", args.config)
    networks = config["networks"]
    names = args.experiments or [name for name in configured(networks)
                                 if networks["experiments"][name]["dataset"] == "fashion_mnist"]
    print(f"| experiment | s/step ({args.threads} threads, median of {args.steps}) | runs | "
          "iterations per run | hours for all runs (training steps only) |")
    print("| --- | ---: | ---: | ---: | ---: |")
    for name in names:
        experiment = networks["experiments"][name]
        seconds = step_seconds(experiment, networks, args.steps)
        runs = len(run_paths(name, networks, "json"))
        hours = seconds * experiment["epochs"] * runs / 3600
        print(f"| {name} | {seconds:.3g} | {runs} | {experiment['epochs']:,} | {hours:.3g} |",
              flush=True)


if __name__ == "__main__":
    main()
