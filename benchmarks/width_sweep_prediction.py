"""The width sweep's prediction, made before its runs: at the initialization of the
784-w-w-w-10 MLP (PyTorch's default init, the one the experiments use) on 1,024 real
FashionMNIST training images, the excess of the smoothed training loss over the clean one for
each noise scheme (noise_injection.networks.sweep.smoothed_excess), the sigma at which it
reaches a given level, and the slope of that sigma in log width per scheme. Its output is kept
in docs/width_sweep.md.

    python benchmarks/width_sweep_prediction.py --widths 128 256 500 1024 5000

Sigma convention: layer-wise std; all-weights noise sigma/sqrt(M), M = 8 tensors.
"""

from __future__ import annotations

import argparse

import numpy as np
import torch

from noise_injection.networks.data import load_dataset
from noise_injection.networks.nets import build_model
from noise_injection.networks.sweep import level_sigma, loglog_slope, smoothed_excess
from noise_injection.networks.train import stream_seed

MIRRORS = ["/usr/share/datasets/fashion-mnist"]


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--widths", type=int, nargs="+", default=[128, 256, 500, 1024])
    parser.add_argument("--levels", type=float, nargs="+", default=[0.05, 0.2, 1.0])
    parser.add_argument("--draws", type=int, default=4)
    parser.add_argument("--seeds", type=int, default=2)
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    sigmas = np.geomspace(0.003, 3.0, 31)
    onset = {scheme: {level: [] for level in args.levels} for scheme in ("layer", "all")}
    print(f"excess of the smoothed training loss at init (nats), mean over {args.seeds} "
          f"inits x {args.draws} draws; sigma where it reaches each level")
    print(f"{'width':>6} {'scheme':>6} | " + " ".join(f"{s:>8.3g}" for s in sigmas[::5])
          + " | " + " ".join(f"sigma@{lv:g}" for lv in args.levels))
    for width in args.widths:
        for scheme in ("layer", "all"):
            curves = []
            for seed in range(args.seeds):
                data = load_dataset("fashion_mnist", root="data", mirrors=MIRRORS,
                                    train_subset=1024, seed=seed,
                                    normalization="unit_interval")
                torch.manual_seed(stream_seed(seed, "init"))
                model = build_model("mlp", data.in_shape, data.num_classes,
                                    widths=[width] * 3)
                curves.append(smoothed_excess(model, data.x_train, data.y_train, sigmas,
                                              scheme, args.draws, seed=seed))
            excess = np.mean(curves, axis=0)
            at = [level_sigma(sigmas, excess, lv) for lv in args.levels]
            for lv, s in zip(args.levels, at):
                onset[scheme][lv].append(s)
            print(f"{width:>6} {scheme:>6} | " + " ".join(f"{e:>8.3g}" for e in excess[::5])
                  + " | " + " ".join(f"{s:>9.4g}" for s in at), flush=True)
    print("\npredicted slope of log sigma_c in log width (least squares over the widths):")
    for lv in args.levels:
        slopes = {s: loglog_slope(args.widths, onset[s][lv]) for s in ("layer", "all")}
        ratio = np.array(onset["layer"][lv]) / np.array(onset["all"][lv])
        print(f"  level {lv:g}: layer {slopes['layer']:+.3f}, all {slopes['all']:+.3f}, "
              f"layer - all {slopes['layer'] - slopes['all']:+.3f}; sigma_layer/sigma_all "
              + ", ".join(f"{r:.2f}" for r in ratio))


if __name__ == "__main__":
    main()
