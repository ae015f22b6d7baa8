"""Pilot of the FashionMNIST width sweep (config `networks.width_sweep`): where, on a sigma grid,
all-weights and layer-wise noise stop training the 784-w-w-w-10 MLP, and how early the
breakdown is visible, so that the sweep's iteration count and sigma grid are chosen from data
and not guessed. Run once, before the sweep's criterion was fixed; its output is kept in
docs/width_sweep.md.

Protocol: App. Fig. 7's (1,024 real FashionMNIST training images, full-batch momentum SGD,
lr 5e-3, cosine to 0 over ``--iterations``, weight decay 0, default initialization), one seed,
plain GD and both noise schemes at every sigma of ``--sigmas`` (layer-wise std; all-weights
noise sigma/sqrt(M)), no Hessian traces. Prints, per width, scheme and sigma, the train loss
at a few iterations as a ratio to plain GD's at the same iteration, and the final test
accuracy minus GD's.

    python benchmarks/width_sweep_pilot.py --widths 128 512 --iterations 1500
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import torch

from noise_injection.networks.data import load_dataset
from noise_injection.networks.nets import build_model
from noise_injection.networks.train import Protocol, stream_seed, train_network

MIRRORS = ["/usr/share/datasets/fashion-mnist"]


def one_run(width: int, scheme: str, sigma: float, iterations: int, seed: int,
            points: int) -> dict:
    data = load_dataset("fashion_mnist", root="data", mirrors=MIRRORS, train_subset=1024,
                        seed=seed, normalization="unit_interval")
    torch.manual_seed(stream_seed(seed, "init"))
    model = build_model("mlp", data.in_shape, data.num_classes, widths=[width] * 3)
    protocol = Protocol(lr=0.005, epochs=iterations, weight_decay=0.0, eval_points=points,
                        hessian_probes=0)
    out = train_network(model, data, protocol, scheme=scheme, sigma=sigma, seed=seed,
                        device="cpu", progress=False)
    return out


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--widths", type=int, nargs="+", default=[128, 512])
    parser.add_argument("--sigmas", type=float, nargs="+",
                        default=[0.0125, 0.025, 0.05, 0.1, 0.2, 0.4, 0.8])
    parser.add_argument("--iterations", type=int, default=1500)
    parser.add_argument("--points", type=int, default=8)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    for width in args.widths:
        start = time.perf_counter()
        gd = one_run(width, "none", 0.0, args.iterations, args.seed, args.points)
        epochs = np.array(gd["history"]["epoch"])
        gd_loss = np.array(gd["history"]["train_loss"])
        shown = [i for i, e in enumerate(epochs) if e >= 100]
        print(f"\nwidth {width}: plain GD train loss "
              + ", ".join(f"{gd_loss[i]:.3g} @ {epochs[i]}" for i in shown)
              + f"; test acc {gd['history']['test_acc'][-1]:.2f} %")
        print(f"{'scheme':>6} {'sigma':>7} | train loss / GD's at "
              + " ".join(f"{epochs[i]:>7d}" for i in shown) + " | test acc - GD's (points)")
        for scheme in ("all", "layer"):
            for sigma in args.sigmas:
                out = one_run(width, scheme, sigma, args.iterations, args.seed, args.points)
                loss = np.array(out["history"]["train_loss"], dtype=float)
                ratio = " ".join(f"{loss[i] / gd_loss[i]:7.3g}" if i < len(loss) else
                                 f"{'-':>7}" for i in shown)
                acc = out["history"]["test_acc"][-1] - gd["history"]["test_acc"][-1]
                print(f"{scheme:>6} {sigma:7.4g} |                    {ratio} | "
                      f"{acc:+.2f} ({out['status']})", flush=True)
        print(f"width {width}: {time.perf_counter() - start:.0f} s")


if __name__ == "__main__":
    main()
