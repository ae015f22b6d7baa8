"""Epoch time of our ResNet-18 training vs an equivalent of the authors' loop (CIFAR shapes).

Both train the same CIFAR ResNet-18 (``nets.build_model("resnet18")``) for whole epochs of
SGD (momentum 0.9, weight decay 5e-4, lr 0.01, batch 128) with layer-wise noise (sigma is the
layer-wise std, one parameter tensor per step, cyclic) and crop(pad 4)+flip augmentation, on
synthetic uint8 CIFAR-shaped data (random pixels and labels: the speed does not depend on them).

- ours: one epoch of ``noise_injection.networks.train.Trainer``: uint8 images resident on the device,
  batched ``random_crop_flip`` + normalization on the device, ``NoiseInjector`` (exact restore
  from a copy), bf16 autocast and channels_last (both on CUDA only; on a CPU they are off).
- authors: their loop restated without torchvision: a ``DataLoader`` (2 workers, shuffle)
  over a Dataset of HWC uint8 images with per-sample transforms in torch (pad, random crop,
  flip, to float, normalize), fp32, the noise by rebinding ``param.data`` to
  ``param.data + noise`` and back, and per-step ``loss.item()`` / accuracy bookkeeping.

Each epoch is timed by the wall clock with the device synchronized; the first ``--warmup``
epochs of each variant are not counted; the median of the others is printed, and the ratio
authors / ours (the issue's target: >= 3 on a GPU).

    python benchmarks/gpu_resnet18.py                      # GPU: 50k samples, 1 + 2 epochs
    python benchmarks/gpu_resnet18.py --device cpu --samples 512 --epochs 1 --warmup 0 --width 8
"""

from __future__ import annotations

import argparse
import statistics
import time

import torch
from torch.nn import functional as F

from noise_injection.networks.data import ArrayDataset
from noise_injection.networks.nets import build_model
from noise_injection.workflow.results import make_record, write_json
from noise_injection.networks.train import Protocol, Trainer, resolve_device

#: per-channel statistics of CIFAR-10's training set (what the normalization costs is the
#: point here, not the values)
CIFAR_MEAN = (0.4914, 0.4822, 0.4465)
CIFAR_STD = (0.2470, 0.2435, 0.2616)


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


def ours(data: ArrayDataset, args, device: torch.device) -> list[float]:
    torch.manual_seed(args.seed)
    model = build_model("resnet18", (3, 32, 32), 10, width=args.width)
    protocol = Protocol(lr=0.01, epochs=args.warmup + args.epochs, batch_size=args.batch_size,
                        augment_padding=4, bf16=True, channels_last=True)
    trainer = Trainer(model, data, protocol, scheme="layer", sigma=args.sigma,
                      seed=args.seed, device=device)
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


def authors(data: ArrayDataset, args, device: torch.device) -> list[float]:
    torch.manual_seed(args.seed)
    model = build_model("resnet18", (3, 32, 32), 10, width=args.width).to(device)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9, weight_decay=5e-4)
    loader = torch.utils.data.DataLoader(PerSampleCifar(data), batch_size=args.batch_size,
                                         shuffle=True, num_workers=args.workers)
    params = list(model.parameters())
    step = 0

    def run_epoch():
        nonlocal step
        model.train()
        train_loss, correct, total = 0.0, 0, 0
        for inputs, targets in loader:
            inputs, targets = inputs.to(device), targets.to(device)
            optimizer.zero_grad()
            p = params[step % len(params)]
            clean = p.data
            p.data = p.data + args.sigma * torch.randn_like(p.data)
            outputs = model(inputs)
            loss = F.cross_entropy(outputs, targets)
            loss.backward()
            p.data = clean
            optimizer.step()
            train_loss += loss.item()
            correct += outputs.argmax(1).eq(targets).sum().item()
            total += targets.size(0)
            step += 1

    return timed_epochs(run_epoch, args.epochs, args.warmup, device)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="auto", help="auto (cuda if present), cuda, cpu")
    parser.add_argument("--samples", type=int, default=50_000)
    parser.add_argument("--epochs", type=int, default=2, help="timed epochs per variant")
    parser.add_argument("--warmup", type=int, default=1, help="untimed epochs first")
    parser.add_argument("--batch-size", type=int, default=128)
    parser.add_argument("--workers", type=int, default=2, help="DataLoader workers (authors)")
    parser.add_argument("--width", type=int, default=64, help="ResNet-18 base width")
    parser.add_argument("--sigma", type=float, default=0.05, help="layer-wise noise std")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--json", help="also write the numbers as a result record here")
    args = parser.parse_args()
    device = resolve_device(args.device)
    if device.type == "cuda":
        name = torch.cuda.get_device_name(device)
    else:
        name = f"CPU, {torch.get_num_threads()} threads (bf16/channels_last off)"
    print(f"torch {torch.__version__} on {name}; {args.samples} samples, batch "
          f"{args.batch_size}, ResNet-18 width {args.width}; {args.warmup} warm-up + "
          f"{args.epochs} timed epochs each")
    data = synthetic_cifar(args.samples, args.seed)
    start = time.perf_counter()
    times = {"ours": ours(data, args, device), "authors": authors(data, args, device)}
    medians = {k: statistics.median(v) for k, v in times.items()}
    for key, value in medians.items():
        print(f"{key:8} {value:8.2f} s/epoch  ({args.samples / value:9.0f} images/s)  "
              f"epochs: {', '.join(f'{t:.2f}' for t in times[key])}")
    ratio = medians["authors"] / medians["ours"]
    print(f"ratio authors / ours: {ratio:.2f}x (target on a GPU: >= 3x)")
    if args.json:
        write_json(args.json, make_record(vars(args), args.seed, "ok",
                                          time.perf_counter() - start, device=name,
                                          epoch_times_s=times, median_s=medians,
                                          ratio=ratio))


if __name__ == "__main__":
    main()
