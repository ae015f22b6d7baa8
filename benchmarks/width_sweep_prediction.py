"""The width sweep's prediction, made before its runs: at the initialization of the
784-w-w-w-10 MLP (PyTorch's default init, the one the experiments use) on 1,024 real
FashionMNIST training images, the excess of the smoothed training loss over the clean one for
each noise scheme (noise_injection.networks.sweep.smoothed_excess), the sigma at which it
reaches a given level, and the slope of that sigma in log width per scheme. Its output is kept
in docs/width_sweep.md.

``--write PATH`` also keeps the excess curves in a JSON file (config/width_sweep_prediction.json,
from which the sweep's claim row W3 computes its predicted slopes:
noise_injection.networks.sweep.predicted_slopes): one curve per width (it depends only on the
width, the seeds and the draws, so a width already in the file is read from it, not recomputed,
and the file must have the same seeds, draws and sigma grid), and the run's set of widths with
its command. The file holds the two runs of docs/width_sweep.md:

    python benchmarks/width_sweep_prediction.py --widths 128 256 500 1000 --draws 4 --seeds 2 \
        --write config/width_sweep_prediction.json
    python benchmarks/width_sweep_prediction.py --widths 125 250 500 1000 --draws 4 --seeds 2 \
        --write config/width_sweep_prediction.json

Sigma convention: layer-wise std; all-weights noise sigma/sqrt(M), M = 8 tensors.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np
import torch

from noise_injection.networks.data import load_dataset
from noise_injection.networks.nets import build_model
from noise_injection.networks.sweep import level_sigma, loglog_slope, smoothed_excess
from noise_injection.networks.train import stream_seed
from noise_injection.base.results import provenance, write_json

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


def read_cache(path, seeds: int, draws: int) -> dict:
    """The cache at ``path`` (an empty one if there is none), checked: the same seeds, draws
    and sigma grid as this run, else SystemExit naming the difference."""
    if not Path(path).is_file():
        return {"seeds": seeds, "draws": draws, "sigmas": SIGMAS.tolist(), "excess": {},
                "computed": {}, "runs": []}
    cache = json.loads(Path(path).read_text())
    for key, value in (("seeds", seeds), ("draws", draws), ("sigmas", SIGMAS.tolist())):
        if cache[key] != value:
            raise SystemExit(f"{path}: {key} {cache[key]!r}, this run {value!r}: write to "
                             "another file")
    return cache


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
    cache = read_cache(args.write, args.seeds, args.draws) if args.write else None
    onset = {scheme: {level: [] for level in args.levels} for scheme in ("layer", "all")}
    print(f"excess of the smoothed training loss at init (nats), mean over {args.seeds} "
          f"inits x {args.draws} draws; sigma where it reaches each level")
    print(f"{'width':>6} {'scheme':>6} | " + " ".join(f"{s:>8.3g}" for s in sigmas[::5])
          + " | " + " ".join(f"sigma@{lv:g}" for lv in args.levels))
    for width in args.widths:
        for scheme in ("layer", "all"):
            cached = cache["excess"].get(str(width), {}).get(scheme) if cache else None
            excess = (np.array(cached) if cached is not None else
                      excess_curve(width, scheme, args.seeds, args.draws))
            if cache is not None and cached is None:
                cache["excess"].setdefault(str(width), {})[scheme] = excess.tolist()
                cache["computed"][f"{width} {scheme}"] = provenance("cpu")
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
        command = "python benchmarks/width_sweep_prediction.py " + " ".join(
            sys.argv[1:] if argv is None else argv)
        runs = [r for r in cache["runs"] if r["widths"] != args.widths]
        cache["runs"] = runs + [{"widths": args.widths, "levels": args.levels,
                                 "command": command}]
        cache["what"] = ("excess of the smoothed training loss over the clean one at the "
                         "initialization (nats), mean over seeds x draws, per width and "
                         "scheme, on the sigma grid (layer-wise std; all weights "
                         "sigma/sqrt(M)); computed: the provenance of each curve; runs: the "
                         "sets of widths run, each with its command")
        write_json(args.write, cache)


if __name__ == "__main__":
    main()
