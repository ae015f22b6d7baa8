"""The width sweep's prediction, made before its runs: at the initialization of the
784-w-w-w-10 MLP (PyTorch's default init, the one the experiments use) on 1,024 real
FashionMNIST training images, the excess of the smoothed training loss over the clean one for
each noise scheme (noise_injection.networks.sweep.smoothed_excess), the sigma at which it
reaches a given level, and the slope of that sigma in log width per scheme. Its output is kept
in docs/width_sweep.md; ``--write PATH`` also writes the excess curves to a JSON file
(config/width_sweep_prediction.json, from which the sweep's claim row W3 computes its
predicted slopes: noise_injection.networks.sweep.predicted_slopes).

    python benchmarks/width_sweep_prediction.py --widths 128 256 500 1000 --draws 4 --seeds 2 \
        --write config/width_sweep_prediction.json

Sigma convention: layer-wise std; all-weights noise sigma/sqrt(M), M = 8 tensors.
"""

from __future__ import annotations

import argparse
import sys

import numpy as np
import torch

from noise_injection.networks.data import load_dataset
from noise_injection.networks.nets import build_model
from noise_injection.networks.sweep import level_sigma, loglog_slope, smoothed_excess
from noise_injection.networks.train import stream_seed
from noise_injection.workflow.results import provenance, write_json

MIRRORS = ["/usr/share/datasets/fashion-mnist"]
#: The sigma grid of the excess curves (layer-wise std; all weights sigma/sqrt(M)).
SIGMAS = np.geomspace(0.003, 3.0, 31)


def excess_curve(width: int, scheme: str, seeds: int, draws: int) -> np.ndarray:
    """The smoothed-loss excess at init on :data:`SIGMAS`, mean over ``seeds``
    initializations (each with its seed's 1,024-image subset) x ``draws`` noise draws."""
    curves = []
    for seed in range(seeds):
        data = load_dataset("fashion_mnist", root="data", mirrors=MIRRORS, train_subset=1024,
                            seed=seed, normalization="unit_interval")
        torch.manual_seed(stream_seed(seed, "init"))
        model = build_model("mlp", data.in_shape, data.num_classes, widths=[width] * 3)
        curves.append(smoothed_excess(model, data.x_train, data.y_train, SIGMAS, scheme,
                                      draws, seed=seed))
    return np.mean(curves, axis=0)


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--widths", type=int, nargs="+", default=[128, 256, 500, 1024])
    parser.add_argument("--levels", type=float, nargs="+", default=[0.05, 0.2, 1.0])
    parser.add_argument("--draws", type=int, default=4)
    parser.add_argument("--seeds", type=int, default=2)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--write", default=None,
                        help="also write the excess curves to this JSON file")
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    sigmas = SIGMAS
    curves_out = {}
    onset = {scheme: {level: [] for level in args.levels} for scheme in ("layer", "all")}
    print(f"excess of the smoothed training loss at init (nats), mean over {args.seeds} "
          f"inits x {args.draws} draws; sigma where it reaches each level")
    print(f"{'width':>6} {'scheme':>6} | " + " ".join(f"{s:>8.3g}" for s in sigmas[::5])
          + " | " + " ".join(f"sigma@{lv:g}" for lv in args.levels))
    for width in args.widths:
        for scheme in ("layer", "all"):
            excess = excess_curve(width, scheme, args.seeds, args.draws)
            curves_out.setdefault(str(width), {})[scheme] = excess.tolist()
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
    if args.write:
        write_json(args.write, {
            "what": "excess of the smoothed training loss over the clean one at the "
                    "initialization (nats), mean over seeds x draws, per width and scheme, on "
                    "the sigma grid (layer-wise std; all weights sigma/sqrt(M))",
            "command": "python benchmarks/width_sweep_prediction.py " + " ".join(
                sys.argv[1:] if argv is None else argv),
            "widths": args.widths, "levels": args.levels, "draws": args.draws,
            "seeds": args.seeds, "sigmas": sigmas.tolist(), "excess": curves_out,
            "provenance": provenance("cpu")})


if __name__ == "__main__":
    main()
