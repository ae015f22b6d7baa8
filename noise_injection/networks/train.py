"""The training loop of the network experiments: (S)GD with momentum, weight decay and a cosine
schedule, noise injection, metrics at chosen epochs, divergence detection, bit-exact resume.

One step (docs/paper.md section 1), with ``NoiseInjector`` doing the perturb/restore part::

    g_k = grad R_batch(w_k + eps_k)        (eps_k from the injector; none after noise_off_epoch)
    w_{k+1} = SGD-momentum-weight-decay step from the CLEAN w_k with gradient g_k

Sigma convention (the injector's): ``sigma`` is the layer-wise std (one parameter tensor per
step, ``step % M`` in cyclic order); all-weights noise has std sigma/sqrt(M) on every tensor,
M = number of parameter tensors. ``step`` counts minibatch steps over the whole run.

Schedule: lr_e = lr * (1 + cos(pi e / epochs)) / 2 for epoch e = 0 .. epochs-1, i.e. the closed
form of ``CosineAnnealingLR(T_max=epochs)`` stepped once per epoch (the authors' code). With
``batch_size=None`` (full-batch GD) an epoch is one step, so the schedule is per iteration.

Metrics (after epoch e, at the epochs of :func:`eval_epochs`, e = 0 is the initialization):
train/test loss and accuracy in eval mode at the clean weights, on the whole un-augmented
train and test sets; the Hessian trace (Hutchinson, Rademacher probes, eval mode, whole net and
per parameter tensor from the same products) on a fixed seeded training subset.

A non-finite training loss ends the run with status "diverged" at the end of that epoch.
Checkpoints (atomic ``torch.save``, loaded with ``weights_only=True``) hold everything the
rest of the run depends on: model, optimizer, injector and data-order / augmentation / probe
generator states and the history, so a killed run resumed from its checkpoint ends with the
same numbers, bit for bit on CPU, as an uninterrupted one. A checkpoint that cannot be resumed
(another run key, truncated, refused, not fitting) is moved aside and the run starts fresh.
"""

from __future__ import annotations

import contextlib
import copy
import logging
import math
import os
import pickle
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import torch
from torch.nn import functional as F
from tqdm import tqdm

from noise_injection.networks.data import ArrayDataset, random_crop_flip
from noise_injection.networks.hessian import hutchinson_trace
from noise_injection.perturb import NoiseInjector

log = logging.getLogger("noise_injection")

SPACINGS = ("log", "linear")
#: Independent random streams of a run, each seeded from (seed, stream id).
STREAMS = {"init": 0, "order": 1, "augment": 2, "probes": 3, "hessian_subset": 4}


def stream_seed(seed: int, stream: str) -> int:
    """A 63-bit seed for one named random stream of run ``seed`` (numpy SeedSequence)."""
    return int(np.random.SeedSequence([int(seed), STREAMS[stream]]).generate_state(
        1, dtype=np.uint64)[0] >> np.uint64(1))


@dataclass(frozen=True)
class Protocol:
    """How one network is trained and measured (values of one experiment's config).

    batch_size None = full-batch GD. noise_off_epoch: no noise from this epoch on (None:
    noise throughout). augment_padding > 0: random crop after zero padding by this many
    pixels plus horizontal flip of every training batch (4 for CIFAR-10); 0: no augmentation.
    hessian_probes 0 = no Hessian traces. checkpoint_every: epochs between
    checkpoints (0: none). bf16 / channels_last apply on CUDA only.
    """

    lr: float
    epochs: int
    batch_size: int | None = None
    momentum: float = 0.9
    weight_decay: float = 5e-4
    schedule: str = "cosine"
    noise_off_epoch: int | None = None
    augment_padding: int = 0
    eval_spacing: str = "log"
    eval_points: int = 20
    eval_batch_size: int = 2048
    hessian_probes: int = 0
    hessian_subset: int = 512
    hessian_batch_size: int | None = None
    checkpoint_every: int = 0
    bf16: bool = False
    channels_last: bool = False


def eval_epochs(epochs: int, points: int, spacing: str = "log") -> list[int]:
    """Epochs after which metrics are measured: 0 (initialization), ``epochs`` (the end) and
    about ``points`` epochs log-spaced from 1 (``"log"``) or evenly spaced (``"linear"``)."""
    if spacing not in SPACINGS:
        raise ValueError(f"spacing must be one of {SPACINGS}, got {spacing!r}")
    if spacing == "log":
        grid = np.geomspace(1, epochs, max(points, 1))
    else:
        grid = np.linspace(0, epochs, max(points, 1))
    return sorted({0, int(epochs), *(int(round(e)) for e in grid)})


def cosine_lr(lr: float, epoch: int, epochs: int, schedule: str) -> float:
    """Learning rate of ``epoch`` (0-based): cosine annealing to 0 over ``epochs``, or constant."""
    if schedule == "constant":
        return lr
    return lr * (1.0 + math.cos(math.pi * epoch / epochs)) / 2.0


def configure_precision(device: torch.device, bf16: bool) -> dict:
    """Set torch's global fp32 math for a run and return what is in force, for its record:
    ``{"dtype", "tf32_matmul", "tf32_cudnn"}``.

    fp32 means fp32: without ``bf16``, TensorFloat-32 (a 10-bit mantissa that Ampere and later
    GPUs use for fp32 matmuls and cuDNN convolutions unless told not to) is switched off for
    both, as on the authors' V100s, which have no TF32. With ``bf16`` on CUDA (a declared speed
    option) TF32 is allowed for what autocast leaves in fp32. The flags only act on CUDA; on a
    CPU they are set all the same and the record says ``dtype`` float32."""
    tf32 = bool(bf16 and device.type == "cuda")
    matmul, conv = torch.backends.cuda.matmul, torch.backends.cudnn.conv
    if hasattr(matmul, "fp32_precision"):  # torch >= 2.9 (mixing it with allow_tf32 raises)
        matmul.fp32_precision = conv.fp32_precision = "tf32" if tf32 else "ieee"
        in_force = (matmul.fp32_precision == "tf32", conv.fp32_precision == "tf32")
    else:
        torch.backends.cuda.matmul.allow_tf32 = torch.backends.cudnn.allow_tf32 = tf32
        in_force = (torch.backends.cuda.matmul.allow_tf32, torch.backends.cudnn.allow_tf32)
    return {"dtype": "bfloat16" if tf32 else "float32", "tf32_matmul": in_force[0],
            "tf32_cudnn": in_force[1]}


def resolve_device(device: str = "auto") -> torch.device:
    """'auto' -> cuda when available, else cpu; otherwise the named device."""
    if device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(device)


@torch.no_grad()
def evaluate(model, x, y, batch_size: int, prepare) -> tuple[float, float]:
    """Mean cross-entropy and accuracy (in %) of ``model`` in eval mode (mode restored)."""
    was_training = model.training
    model.eval()
    loss_sum, correct = 0.0, 0
    try:
        for start in range(0, len(x), batch_size):
            out = model(prepare(x[start:start + batch_size])).float()
            yb = y[start:start + batch_size]
            loss_sum += float(F.cross_entropy(out, yb, reduction="sum"))
            correct += int((out.argmax(1) == yb).sum())
    finally:
        model.train(was_training)
    return loss_sum / len(x), 100.0 * correct / len(x)


class MomentumSGD:
    """SGD with momentum and L2 weight decay: the update of ``torch.optim.SGD`` (dampening 0,
    no Nesterov) in its multi-tensor ("foreach") form, bit for bit::

        d = g + weight_decay * w;  b = d (first step) else momentum * b + d;  w -= lr * b

    Each line is one ``torch._foreach_*`` operator over all tensors (ResNet-18: 4 operators
    per step instead of 248, torch profiler, ``benchmarks/gpu_resnet18.py --ops-only``; a
    handful of kernels on CUDA; on a CPU torch runs them tensor by tensor, with the same
    numbers as the single-tensor path). Written out because ``torch.optim`` imports
    ``torch._dynamo`` on first use, which costs every training job seconds of start-up.
    ``param_groups[0]["lr"]`` is the current lr.
    """

    def __init__(self, params, lr: float, momentum: float, weight_decay: float):
        self.params = list(params)
        self.param_groups = [{"lr": lr, "momentum": momentum, "weight_decay": weight_decay}]
        self.buffers: list[torch.Tensor | None] = [None] * len(self.params)

    def zero_grad(self) -> None:
        for p in self.params:
            p.grad = None

    @torch.no_grad()
    def step(self) -> None:
        group = self.param_groups[0]
        live = [i for i, p in enumerate(self.params) if p.grad is not None]
        if not live:
            return
        params = [self.params[i] for i in live]
        d = [p.grad for p in params]
        if group["weight_decay"]:
            d = torch._foreach_add(d, params, alpha=group["weight_decay"])
        if group["momentum"]:
            if any(self.buffers[i] is None for i in live):
                for i, d_i in zip(live, d):
                    if self.buffers[i] is None:
                        self.buffers[i] = torch.clone(d_i).detach()
                    else:
                        self.buffers[i].mul_(group["momentum"]).add_(d_i)
            else:
                buffers = [self.buffers[i] for i in live]
                torch._foreach_mul_(buffers, group["momentum"])
                torch._foreach_add_(buffers, d)
            d = [self.buffers[i] for i in live]
        torch._foreach_add_(params, d, alpha=-group["lr"])

    def state_dict(self) -> dict:
        return {"lr": self.param_groups[0]["lr"], "buffers": list(self.buffers)}

    def load_state_dict(self, state: dict) -> None:
        self.param_groups[0]["lr"] = state["lr"]
        self.buffers = [None if b is None else b.to(p.device)
                        for b, p in zip(state["buffers"], self.params)]


class Trainer:
    """Trains ``model`` on ``data`` with noise ``scheme`` at ``sigma`` (layer-wise std).

    Args:
        model: already seeded-initialized (see :func:`stream_seed`, stream "init").
        data: an :class:`ArrayDataset` (raw uint8 pixels are normalized per batch after the
            augmentation); moved to ``device`` once.
        scheme: "none", "all" or "layer"; order: "cyclic" or "random" (layer mode).
        seed: seeds the noise, data order, augmentation and Hessian probe streams.
    """

    def __init__(self, model: torch.nn.Module, data: ArrayDataset, protocol: Protocol, *,
                 scheme: str, sigma: float, seed: int, order: str = "cyclic",
                 device: str | torch.device = "auto"):
        self.protocol = protocol
        self.device = resolve_device(device) if isinstance(device, str) else device
        self.cuda = self.device.type == "cuda"
        self.precision = configure_precision(self.device, protocol.bf16)
        self.data = data.to(self.device)
        self.model = model.to(self.device)
        if self.cuda and protocol.channels_last:
            self.model = self.model.to(memory_format=torch.channels_last)
        self.injector = NoiseInjector(self.model, sigma=sigma if scheme != "none" else 0.0,
                                      mode=scheme, order=order, seed=seed)
        self.optimizer = MomentumSGD(self.model.parameters(), lr=protocol.lr,
                                     momentum=protocol.momentum,
                                     weight_decay=protocol.weight_decay)
        self.order_gen = torch.Generator().manual_seed(stream_seed(seed, "order"))
        self.augment_gen = torch.Generator(self.device).manual_seed(stream_seed(seed, "augment"))
        self.probe_gen = torch.Generator(self.device).manual_seed(stream_seed(seed, "probes"))
        n_h = min(protocol.hessian_subset, len(self.data.x_train))
        subset_gen = torch.Generator().manual_seed(stream_seed(seed, "hessian_subset"))
        self.hessian_idx = torch.randperm(len(self.data.x_train), generator=subset_gen)[:n_h]
        self.eval_at = set(eval_epochs(protocol.epochs, protocol.eval_points,
                                       protocol.eval_spacing))
        self.epoch = 0
        self.step = 0
        self.status = "ok"
        self.started = time.perf_counter()
        self.wall_time_before_s = 0.0  # restarts before this process (from the checkpoint)
        self.history: dict[str, list] = {k: [] for k in (
            "epoch", "lr", "train_loss", "train_acc", "test_loss", "test_acc",
            "hessian_trace", "hessian_per_tensor")}

    # -- pieces of a step ------------------------------------------------------------------
    def _prepare(self, x: torch.Tensor) -> torch.Tensor:
        """Raw pixels -> normalized float; NCHW -> channels_last on CUDA when asked."""
        if not x.is_floating_point():
            x = self.data.normalize(x)
        if self.cuda and self.protocol.channels_last and x.dim() == 4:
            x = x.contiguous(memory_format=torch.channels_last)
        return x

    def _autocast(self):
        if self.cuda and self.protocol.bf16:
            return torch.autocast("cuda", dtype=torch.bfloat16)
        return contextlib.nullcontext()

    def _batches(self):
        """(images, labels) minibatches of one epoch: a fresh seeded permutation split into
        ``batch_size`` chunks (the last one smaller, as DataLoader's default), or the whole
        training set once for full-batch GD."""
        x, y, size = self.data.x_train, self.data.y_train, self.protocol.batch_size
        if size is None or size >= len(x):
            yield x, y
            return
        for idx in torch.randperm(len(x), generator=self.order_gen).split(size):
            idx = idx.to(self.device)
            yield x[idx], y[idx]

    def train_epoch(self) -> bool:
        """One epoch; returns False when a training loss was not finite."""
        p = self.protocol
        for group in self.optimizer.param_groups:
            group["lr"] = cosine_lr(p.lr, self.epoch, p.epochs, p.schedule)
        noisy = p.noise_off_epoch is None or self.epoch < p.noise_off_epoch
        finite = torch.ones((), dtype=torch.bool, device=self.device)
        self.model.train()
        for xb, yb in self._batches():
            if p.augment_padding:
                xb = random_crop_flip(xb, padding=p.augment_padding, generator=self.augment_gen)
            xb = self._prepare(xb)
            self.optimizer.zero_grad()
            perturbed = self.injector.perturb(self.step) if noisy else contextlib.nullcontext()
            with perturbed:
                with self._autocast():
                    loss = F.cross_entropy(self.model(xb).float(), yb)
                loss.backward()
            self.optimizer.step()
            finite &= torch.isfinite(loss.detach())
            self.step += 1
        self.epoch += 1
        return bool(finite)

    def _measure(self) -> dict:
        p, d = self.protocol, self.data
        train_loss, train_acc = evaluate(self.model, d.x_train, d.y_train, p.eval_batch_size,
                                         self._prepare)
        test_loss, test_acc = evaluate(self.model, d.x_test, d.y_test, p.eval_batch_size,
                                       self._prepare)
        trace, per_tensor = math.nan, []
        if p.hessian_probes > 0 and math.isfinite(train_loss):
            x_h = self._prepare(d.x_train[self.hessian_idx.to(self.device)])
            y_h = d.y_train[self.hessian_idx.to(self.device)]
            trace, per_tensor = hutchinson_trace(
                self.model, F.cross_entropy, x_h, y_h, p.hessian_probes, self.probe_gen,
                batch_size=p.hessian_batch_size)
        return {"epoch": self.epoch, "lr": self.optimizer.param_groups[0]["lr"],
                "train_loss": train_loss, "train_acc": train_acc, "test_loss": test_loss,
                "test_acc": test_acc, "hessian_trace": trace, "hessian_per_tensor": per_tensor}

    def _record(self, metrics: dict) -> None:
        for key, value in metrics.items():
            self.history[key].append(value)

    # -- checkpoints -------------------------------------------------------------------------
    def state_dict(self) -> dict:
        return {
            "protocol": asdict(self.protocol), "device": self.device.type,
            "epoch": self.epoch, "step": self.step, "status": self.status,
            "model": self.model.state_dict(),
            "optimizer": self.optimizer.state_dict(),
            "injector": self.injector.state_dict(),
            "order_gen": self.order_gen.get_state(),
            "augment_gen": self.augment_gen.get_state(),
            "probe_gen": self.probe_gen.get_state(),
            "history": self.history,
        }

    def load_state_dict(self, state: dict) -> None:
        if state["protocol"] != asdict(self.protocol):
            raise ValueError("checkpoint was written with another protocol")
        written_on = state.get("device", self.device.type)
        if written_on != self.device.type:
            # generator states differ between devices (CPU: Mersenne Twister, CUDA: Philox)
            raise ValueError(f"checkpoint was written on {written_on} and cannot resume on "
                             f"{self.device.type}: resume it on {written_on}, or load its "
                             f"'model' entry into a model for evaluation on any device")
        self.model.load_state_dict(state["model"])
        self.optimizer.load_state_dict(state["optimizer"])
        self.injector.load_state_dict(state["injector"])
        self.order_gen.set_state(state["order_gen"])
        self.augment_gen.set_state(state["augment_gen"])
        self.probe_gen.set_state(state["probe_gen"])
        self.epoch, self.step, self.status = state["epoch"], state["step"], state["status"]
        self.history = state["history"]

    def save_checkpoint(self, path: str | os.PathLike, run_key: str) -> None:
        """Atomic: written to a temporary file in the same folder, then renamed. Holds the
        wall time over all restarts so far (``wall_time_total_s``)."""
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{path.name}.tmp")
        torch.save({"run_key": run_key, "wall_time_total_s": self.wall_time_total_s(),
                    **self.state_dict()}, tmp)
        os.replace(tmp, path)

    def wall_time_total_s(self) -> float:
        """Wall time of this run over all restarts: the time recorded in the checkpoint it
        resumed from (up to that checkpoint) plus this process's time since it started."""
        return self.wall_time_before_s + time.perf_counter() - self.started

    def try_resume(self, path: str | os.PathLike, run_key: str) -> bool:
        """Load the checkpoint at ``path`` if it exists and belongs to ``run_key``. One that
        belongs to another key, is truncated or damaged, is refused by ``weights_only`` or does
        not fit this trainer is moved aside (renamed ``<name>.<reason>[.k]``, logged with its
        path) and the run starts fresh: a checkpoint never traps a run."""
        path = Path(path)
        if not path.exists():
            return False
        try:
            state = torch.load(path, map_location="cpu", weights_only=True)
        except pickle.UnpicklingError as err:
            # torch's message goes on to suggest weights_only=False: not for files we did
            # not write, so only its diagnosis is logged
            detail = str(err).split("WeightsUnpickler error:")[-1].strip().splitlines()[0]
            reason = "refused" if "Unsupported global" in detail else "unreadable"
            return self._move_aside(path, reason, f"torch.load(weights_only=True): {detail}")
        except (RuntimeError, EOFError, ValueError, OSError) as err:
            return self._move_aside(path, "unreadable", f"{type(err).__name__}: {err}")
        if not isinstance(state, dict) or state.get("run_key") != run_key:
            return self._move_aside(path, "other-run", "it belongs to another run key")
        fresh = copy.deepcopy(self.state_dict())
        try:
            self.load_state_dict(state)
        except (KeyError, ValueError, RuntimeError, TypeError) as err:
            self.load_state_dict(fresh)
            return self._move_aside(path, "incompatible", err)
        self.wall_time_before_s = float(state.get("wall_time_total_s", 0.0))
        log.info("resumed from %s at epoch %d", path, self.epoch)
        return True

    @staticmethod
    def _move_aside(path: Path, reason: str, why) -> bool:
        """Rename a checkpoint that cannot be resumed to ``<name>.<reason>`` (``.1``, ``.2``,
        ... if taken) and log it; returns False (nothing resumed)."""
        target, k = path.with_name(f"{path.name}.{reason}"), 0
        while target.exists():
            k += 1
            target = path.with_name(f"{path.name}.{reason}.{k}")
        os.replace(path, target)
        log.warning("checkpoint %s cannot be resumed (%s: %s): moved to %s; starting fresh",
                    path, reason, why, target)
        return False

    # -- the run -----------------------------------------------------------------------------
    def run(self, checkpoint: str | os.PathLike | None = None, run_key: str = "",
            on_epoch_end: Callable[[Trainer], None] | None = None,
            progress: bool = True) -> dict:
        """Train to ``protocol.epochs`` (or divergence), resuming from ``checkpoint`` if it
        holds this ``run_key``. ``on_epoch_end(trainer)`` is called after each epoch's
        metrics and before its checkpoint. Returns the history (lists per metric)."""
        # oneDNN off on CPU: torch 2.13's oneDNN conv backward corrupts the heap on the small
        # 1-channel ResNet-18 of the quick scale (crashes, or silently wrong numbers)
        onednn = torch.backends.mkldnn.enabled
        torch.backends.mkldnn.enabled = self.cuda
        try:
            return self._run(checkpoint, run_key, on_epoch_end, progress)
        finally:
            torch.backends.mkldnn.enabled = onednn

    def _run(self, checkpoint, run_key, on_epoch_end, progress) -> dict:
        p = self.protocol
        if checkpoint is not None:
            self.try_resume(checkpoint, run_key)
        if self.epoch == 0 and not self.history["epoch"]:
            self._record(self._measure())
        bar = tqdm(total=p.epochs, initial=self.epoch, disable=not progress, mininterval=5,
                   desc="epochs")
        while self.epoch < p.epochs and self.status == "ok":
            finite = self.train_epoch()
            bar.update(1)
            if not finite:
                self.status = "diverged"
                log.warning("non-finite training loss in epoch %d: run diverged", self.epoch)
            if self.epoch in self.eval_at or not finite:
                self._record(self._measure())
                bar.set_postfix(test_acc=f"{self.history['test_acc'][-1]:.2f}")
            if on_epoch_end is not None:
                on_epoch_end(self)
            if checkpoint is not None and p.checkpoint_every and (
                    self.epoch % p.checkpoint_every == 0 or self.epoch == p.epochs):
                self.save_checkpoint(checkpoint, run_key)
        bar.close()
        return self.history


def train_network(model: torch.nn.Module, data: ArrayDataset, protocol: Protocol, *,
                  scheme: str, sigma: float, seed: int, order: str = "cyclic",
                  device: str = "auto", checkpoint: str | os.PathLike | None = None,
                  run_key: str = "", progress: bool = True,
                  on_epoch_end: Callable[[Trainer], None] | None = None) -> dict:
    """Train one run and return ``{"status", "history", "wall_time_s", "cpu_time_s",
    "wall_time_total_s", "device", "precision", "num_tensors", "steps"}`` (history: lists per
    metric, see :class:`Trainer`; precision: :func:`configure_precision`;
    wall_time_s and cpu_time_s (this process's CPU, all threads): this process only;
    wall_time_total_s: over all restarts of a resumed run, counting each killed process up
    to its last checkpoint)."""
    start, cpu_start = time.perf_counter(), time.process_time()
    trainer = Trainer(model, data, protocol, scheme=scheme, sigma=sigma, seed=seed, order=order,
                      device=device)
    history = trainer.run(checkpoint, run_key, on_epoch_end=on_epoch_end, progress=progress)
    wall_time_s = time.perf_counter() - start
    return {"status": trainer.status, "history": history, "wall_time_s": wall_time_s,
            "cpu_time_s": time.process_time() - cpu_start,
            "wall_time_total_s": trainer.wall_time_before_s + wall_time_s,
            "device": str(trainer.device), "precision": trainer.precision,
            "num_tensors": trainer.injector.num_groups, "steps": trainer.step}
