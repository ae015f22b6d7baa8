"""Epoch time of our ResNet-18 training vs an equivalent of the authors' loop (CIFAR shapes),
and the operators one training step launches in each.

Both train the same CIFAR ResNet-18 (``nets.build_model("resnet18")``) for whole epochs of
SGD (momentum 0.9, weight decay 5e-4, lr 0.01, batch 128) with layer-wise noise (sigma is the
layer-wise std, one parameter tensor per step, cyclic) and crop(pad 4)+flip augmentation, on
synthetic uint8 CIFAR-shaped data (random pixels and labels: the speed does not depend on them).

- ours: one epoch of ``noise_injection.networks.train.Trainer``: uint8 images resident on the
  device, batched ``random_crop_flip`` + normalization on the device, ``NoiseInjector`` (exact
  restore from a copy), in fp32 ("ours fp32") and with the declared speed option, bf16
  autocast + channels_last ("ours bf16"; both act on CUDA only, so on a CPU the two are the
  same program).
- authors: their loop restated without torchvision: a ``DataLoader`` (2 workers, shuffle)
  over a Dataset of HWC uint8 images with per-sample transforms in torch (pad, random crop,
  flip, to float, normalize), fp32, ``torch.optim.SGD`` as torch's default on CUDA tensors
  (``foreach=True``, also on a CPU, so that the CPU counts what a GPU runs), the noise by
  rebinding ``param.data`` to ``param.data + torch.normal(...)`` and back
  (``perturb_overhead.AuthorsPerturbation``), and per-step ``loss.item()`` / accuracy
  bookkeeping.

Each epoch is timed by the wall clock with the device synchronized; the first ``--warmup``
epochs of each variant are not counted; the median of the others is printed, and the ratios
authors / ours (the issue's target: >= 3 on a GPU), measured in this one run.

Operator counts (``--ops``, and ``benchmarks/gpu_check.py``): the torch profiler counts the
top-level aten operators one training step dispatches (operators called by another operator,
such as the per-tensor adds inside a foreach operator on a CPU, are not counted again), for
layer and all-weights noise; on CUDA also the device kernels (and copies) it records. Ours:
the difference between an epoch of 3 and one of 2 steps, after a warm-up that
allocates every spare and momentum buffer (so batch selection, augmentation and the finite
check are in); authors': one call of their step on a batch the loader has already collated
(their augmentation runs per sample in the loader's workers, on the CPU). The counts do not
depend on the width or the batch size, so they run small.

    python benchmarks/gpu_resnet18.py                      # GPU: 50k samples, 1 + 2 epochs
    python benchmarks/gpu_resnet18.py --device cpu --samples 512 --epochs 1 --warmup 0 --width 8
    python benchmarks/gpu_resnet18.py --device cpu --ops-only   # operator counts, seconds
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import torch
from torch.nn import functional as F
from torch.profiler import ProfilerActivity, profile

from noise_injection.networks.data import ArrayDataset
from noise_injection.networks.nets import build_model
from noise_injection.networks.train import Protocol, Trainer, resolve_device
from noise_injection.base.results import make_record, write_json

sys.path.insert(0, str(Path(__file__).resolve().parent))
from perturb_overhead import AuthorsPerturbation  # noqa: E402

#: per-channel statistics of CIFAR-10's training set (what the normalization costs is the
#: point here, not the values)
CIFAR_MEAN = (0.4914, 0.4822, 0.4465)
CIFAR_STD = (0.2470, 0.2435, 0.2616)
#: the variants timed, and the ratios printed (authors / each of ours)
VARIANTS = ("ours fp32", "ours bf16", "authors fp32")
MODES = ("layer", "all")


def synthetic_cifar(samples: int, seed: int) -> ArrayDataset:
    """Random uint8 images N x 3 x 32 x 32 and labels, as raw pixels."""
    g = torch.Generator().manual_seed(seed)
    x = torch.randint(0, 256, (samples, 3, 32, 32), generator=g, dtype=torch.uint8)
    y = torch.randint(0, 10, (samples,), generator=g)
    return ArrayDataset(name="synthetic_cifar", num_classes=10, x_train=x, y_train=y,
                        x_test=x[:1], y_test=y[:1], mean=CIFAR_MEAN, std=CIFAR_STD,
                        raw_pixels=True)


def synchronize(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def timed_epochs(run_epoch, epochs: int, warmup: int, device: torch.device) -> list[float]:
    """Seconds of each of ``epochs`` epochs after ``warmup`` untimed ones."""
    times = []
    for k in range(warmup + epochs):
        synchronize(device)
        start = time.perf_counter()
        run_epoch()
        synchronize(device)
        if k >= warmup:
            times.append(time.perf_counter() - start)
    return times


def our_trainer(data: ArrayDataset, device: torch.device, *, width: int, batch_size: int,
                fast: bool, mode: str = "layer", sigma: float = 0.05,
                seed: int = 0) -> Trainer:
    """Our Trainer on ``data``: ``fast`` = the declared speed option (bf16 + channels_last)."""
    torch.manual_seed(seed)
    model = build_model("resnet18", (3, 32, 32), 10, width=width)
    protocol = Protocol(lr=0.01, epochs=1_000_000, batch_size=batch_size, augment_padding=4,
                        bf16=fast, channels_last=fast)
    return Trainer(model, data, protocol, scheme=mode, sigma=sigma, seed=seed, device=device)


def ours(data: ArrayDataset, args, device: torch.device, fast: bool) -> list[float]:
    trainer = our_trainer(data, device, width=args.width, batch_size=args.batch_size,
                          fast=fast, sigma=args.sigma, seed=args.seed)
    return timed_epochs(trainer.train_epoch, args.epochs, args.warmup, device)


class PerSampleCifar(torch.utils.data.Dataset):
    """HWC uint8 images (torchvision's layout) with the authors' per-sample transforms."""

    def __init__(self, data: ArrayDataset, padding: int = 4):
        self.images = data.x_train.permute(0, 2, 3, 1).contiguous().numpy()
        self.labels = data.y_train.numpy()
        self.mean = torch.tensor(data.mean).view(3, 1, 1)
        self.std = torch.tensor(data.std).view(3, 1, 1)
        self.padding = padding

    def __len__(self):
        return len(self.images)

    def __getitem__(self, i):
        p = self.padding
        img = torch.from_numpy(self.images[i]).permute(2, 0, 1)
        img = F.pad(img, (p, p, p, p))
        dy, dx = torch.randint(0, 2 * p + 1, (2,)).tolist()
        img = img[:, dy:dy + 32, dx:dx + 32]
        if torch.rand(()) < 0.5:
            img = img.flip(2)
        return (img.float().div(255) - self.mean) / self.std, int(self.labels[i])


def authors_step(model: torch.nn.Module, device: torch.device, mode: str, sigma: float):
    """The authors' training step on a collated batch: to the device, noise by rebinding
    ``.data``, forward, backward, restore, ``torch.optim.SGD`` step, per-step bookkeeping.
    Returns ``step(k, inputs, targets)`` and the optimizer."""
    # foreach=True is torch's default for CUDA tensors: set, so that a CPU counts its operators
    optimizer = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9, weight_decay=5e-4,
                                foreach=True)
    perturbation = AuthorsPerturbation(model.parameters(), sigma, mode)
    totals = {"loss": 0.0, "correct": 0, "seen": 0}

    def step(k, inputs, targets):
        inputs, targets = inputs.to(device), targets.to(device)
        optimizer.zero_grad()
        out = {}

        def forward_backward():
            out["outputs"] = model(inputs)
            out["loss"] = F.cross_entropy(out["outputs"], targets)
            out["loss"].backward()

        perturbation.run(k, forward_backward)
        optimizer.step()
        totals["loss"] += out["loss"].item()
        totals["correct"] += out["outputs"].argmax(1).eq(targets).sum().item()
        totals["seen"] += targets.size(0)

    return step, optimizer


def authors(data: ArrayDataset, args, device: torch.device) -> list[float]:
    torch.manual_seed(args.seed)
    model = build_model("resnet18", (3, 32, 32), 10, width=args.width).to(device)
    step, _ = authors_step(model, device, "layer", args.sigma)
    loader = torch.utils.data.DataLoader(PerSampleCifar(data), batch_size=args.batch_size,
                                         shuffle=True, num_workers=args.workers)
    counter = iter(range(10**12))

    def run_epoch():
        model.train()
        for inputs, targets in loader:
            step(next(counter), inputs, targets)

    return timed_epochs(run_epoch, args.epochs, args.warmup, device)


def count_ops(fn, device: torch.device) -> dict[str, int]:
    """Top-level aten operators ``fn()`` dispatches (those not called from inside another
    aten operator) and, on CUDA, the device events (kernels, copies, memsets) recorded."""
    activities = [ProfilerActivity.CPU]
    if device.type == "cuda":
        activities.append(ProfilerActivity.CUDA)
    with profile(activities=activities) as prof:
        fn()
        synchronize(device)
    events = prof.events()

    def top_level(event) -> bool:
        parent = event.cpu_parent
        while parent is not None:
            if parent.name.startswith("aten::"):
                return False
            parent = parent.cpu_parent
        return True

    counts = {"aten ops": sum(1 for e in events
                              if e.name.startswith("aten::") and top_level(e))}
    if device.type == "cuda":
        counts["cuda events"] = sum(1 for e in events
                                    if e.device_type == torch.autograd.DeviceType.CUDA)
    return counts


def perturb_and_restore(injector, step: int) -> None:
    with injector.perturb(step):
        pass


def step_op_counts(device: torch.device, mode: str, width: int = 8,
                   batch_size: int = 4) -> dict[str, dict[str, dict[str, int]]]:
    """Operators of one training step with ``mode`` noise, ours (fp32 and the speed option)
    and the authors': whole step, the perturb + restore alone and the optimizer step alone."""
    counts = {}
    # bf16 and channels_last act on CUDA only: on a CPU "ours bf16" is "ours fp32"
    variants = (("ours fp32", False), ("ours bf16", True)) if device.type == "cuda" else (
        ("ours fp32", False),)
    for name, fast in variants:
        trainers = {}
        for steps in (2, 3):
            trainer = our_trainer(synthetic_cifar(steps * batch_size, 0), device, width=width,
                                  batch_size=batch_size, fast=fast, mode=mode)
            for k in range(trainer.injector.num_groups if mode == "layer" else 1):
                perturb_and_restore(trainer.injector, k)  # every spare allocated
            trainer.train_epoch()  # momentum buffers allocated
            trainers[steps] = trainer
        two, three = (count_ops(trainers[s].train_epoch, device) for s in (2, 3))
        injector = trainers[2].injector
        counts[name] = {
            "step": {k: three[k] - two[k] for k in two},
            "perturb + restore": count_ops(lambda: perturb_and_restore(injector, 0), device),
            "optimizer": count_ops(trainers[2].optimizer.step, device),
        }
    torch.manual_seed(0)
    model = build_model("resnet18", (3, 32, 32), 10, width=width).to(device)
    step, optimizer = authors_step(model, device, mode, sigma=0.05)
    data = synthetic_cifar(batch_size, 0)
    inputs = data.normalize(data.x_train)
    step(0, inputs, data.y_train)  # momentum buffers allocated
    perturbation = AuthorsPerturbation(model.parameters(), 0.05, mode)
    counts["authors fp32"] = {
        "step": count_ops(lambda: step(1, inputs, data.y_train), device),
        "perturb + restore": count_ops(lambda: perturbation.run(1, lambda: None), device),
        "optimizer": count_ops(optimizer.step, device),
    }
    return counts


def op_count_rows(device: torch.device, width: int = 8, batch_size: int = 4) -> list[dict]:
    """One row per (mode, variant, part) with its counts (see :func:`step_op_counts`)."""
    rows = []
    for mode in MODES:
        for variant, parts in step_op_counts(device, mode, width, batch_size).items():
            for part, counts in parts.items():
                rows.append({"mode": mode, "variant": variant, "part": part, **counts})
    return rows


def epoch_times(args, device: torch.device) -> dict:
    """Seconds per timed epoch of each variant, their medians and the ratios
    authors / ours (fp32 and bf16), all from this one run."""
    data = synthetic_cifar(args.samples, args.seed)
    times = {"ours fp32": ours(data, args, device, fast=False),
             "ours bf16": ours(data, args, device, fast=True),
             "authors fp32": authors(data, args, device)}
    medians = {k: statistics.median(v) for k, v in times.items()}
    ratios = {f"authors fp32 / {k}": medians["authors fp32"] / medians[k]
              for k in ("ours fp32", "ours bf16")}
    return {"epoch_times_s": times, "median_s": medians, "ratios": ratios}


def device_name(device: torch.device) -> str:
    if device.type == "cuda":
        return torch.cuda.get_device_name(device)
    return f"CPU, {torch.get_num_threads()} threads (bf16/channels_last off)"


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--device", default="auto", help="auto (cuda if present), cuda, cpu")
    p.add_argument("--samples", type=int, default=50_000)
    p.add_argument("--epochs", type=int, default=2, help="timed epochs per variant")
    p.add_argument("--warmup", type=int, default=1, help="untimed epochs first")
    p.add_argument("--batch-size", type=int, default=128)
    p.add_argument("--workers", type=int, default=2, help="DataLoader workers (authors)")
    p.add_argument("--width", type=int, default=64, help="ResNet-18 base width")
    p.add_argument("--sigma", type=float, default=0.05, help="layer-wise noise std")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--ops-only", action="store_true", help="operator counts only, no timing")
    p.add_argument("--json", help="also write the numbers as a result record here")
    return p


def print_op_counts(rows: list[dict]) -> None:
    for row in rows:
        counts = ", ".join(f"{k} {v:g}" for k, v in row.items()
                           if k not in ("mode", "variant", "part"))
        print(f"  {row['mode']:5} {row['variant']:12} {row['part']:17} {counts}")


def main():
    args = parser().parse_args()
    device = resolve_device(args.device)
    start = time.perf_counter()
    print(f"torch {torch.__version__} on {device_name(device)}")
    print("operators per training step (ResNet-18):")
    ops = op_count_rows(device)
    print_op_counts(ops)
    payload = {"device": device_name(device), "op_counts": ops}
    if not args.ops_only:
        print(f"{args.samples} samples, batch {args.batch_size}, ResNet-18 width {args.width}; "
              f"{args.warmup} warm-up + {args.epochs} timed epochs each")
        timing = epoch_times(args, device)
        for key, value in timing["median_s"].items():
            print(f"{key:12} {value:8.2f} s/epoch  ({args.samples / value:9.0f} images/s)  "
                  f"epochs: {', '.join(f'{t:.2f}' for t in timing['epoch_times_s'][key])}")
        for key, ratio in timing["ratios"].items():
            print(f"ratio {key}: {ratio:.2f}x (target on a GPU: >= 3x)")
        payload.update(timing)
    if args.json:
        write_json(args.json, make_record(vars(args), args.seed, "ok",
                                          time.perf_counter() - start, **payload))


if __name__ == "__main__":
    main()
