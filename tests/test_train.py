"""The trainer: the perturbed step, the schedule, divergence, and bit-exact resume (CPU)."""

import math

import numpy as np
import pytest
import torch
from torch.nn import functional as F

from noise_injection.networks.data import ArrayDataset
from noise_injection.networks.train import (
    configure_precision,
    MomentumSGD,
    Protocol,
    Trainer,
    cosine_lr,
    eval_epochs,
    train_network,
)

pytestmark = pytest.mark.usefixtures("one_thread")


def tiny_data(n_train=48, n_test=24, seed=0, raw=False) -> ArrayDataset:
    g = torch.Generator().manual_seed(seed)
    x_tr = torch.randint(0, 17, (n_train, 1, 6, 6), generator=g, dtype=torch.uint8)
    x_te = torch.randint(0, 17, (n_test, 1, 6, 6), generator=g, dtype=torch.uint8)
    data = ArrayDataset("tiny", 3, x_tr, torch.randint(0, 3, (n_train,), generator=g), x_te,
                        torch.randint(0, 3, (n_test,), generator=g), (0.5,), (0.3,),
                        raw_pixels=True, pixel_max=16.0)
    if raw:
        return data
    return ArrayDataset("tiny", 3, data.normalize(x_tr), data.y_train, data.normalize(x_te),
                        data.y_test, data.mean, data.std)


def tiny_net(seed=0) -> torch.nn.Module:
    torch.manual_seed(seed)
    return torch.nn.Sequential(
        torch.nn.Conv2d(1, 3, 3, padding=1), torch.nn.BatchNorm2d(3), torch.nn.ReLU(),
        torch.nn.Flatten(), torch.nn.Linear(3 * 36, 3))


def test_eval_epochs_include_start_and_end():
    assert eval_epochs(100, 5, "log") == [0, 1, 3, 10, 32, 100]
    assert eval_epochs(10, 3, "linear") == [0, 5, 10]


def test_cosine_schedule_is_the_closed_form_of_cosine_annealing():
    # CosineAnnealingLR(T_max=T) stepped per epoch: lr_e = lr (1 + cos(pi e / T)) / 2
    assert cosine_lr(0.1, 0, 10, "cosine") == 0.1
    assert cosine_lr(0.1, 5, 10, "cosine") == pytest.approx(0.05, abs=1e-15)
    assert cosine_lr(0.1, 10, 10, "cosine") == pytest.approx(0.0, abs=1e-15)
    assert cosine_lr(0.1, 7, 10, "constant") == 0.1
    opt = torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=0.1)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=10)
    for epoch in range(10):
        assert opt.param_groups[0]["lr"] == pytest.approx(cosine_lr(0.1, epoch, 10, "cosine"),
                                                          rel=1e-12)
        opt.step()
        sched.step()


@pytest.mark.parametrize("momentum, weight_decay", [(0.9, 5e-4), (0.0, 0.0), (0.5, 0.0)])
def test_momentum_sgd_is_torch_sgd_bit_for_bit(momentum, weight_decay):
    g = torch.Generator().manual_seed(0)
    ours = [torch.randn(5, 3, generator=g, requires_grad=True), torch.randn(3, generator=g,
                                                                            requires_grad=True)]
    theirs = [p.detach().clone().requires_grad_() for p in ours]
    opt_ours = MomentumSGD(ours, lr=0.1, momentum=momentum, weight_decay=weight_decay)
    opt_theirs = torch.optim.SGD(theirs, lr=0.1, momentum=momentum, weight_decay=weight_decay,
                                 foreach=False)
    for step in range(5):
        grads = [torch.randn(p.shape, generator=g) for p in ours]
        for opt, params in ((opt_ours, ours), (opt_theirs, theirs)):
            for group in opt.param_groups:
                group["lr"] = 0.1 / (step + 1)
            for p, grad in zip(params, grads):
                p.grad = grad.clone()
            opt.step()
        assert all(torch.equal(a, b) for a, b in zip(ours, theirs))


def test_one_gd_step_takes_the_gradient_at_the_perturbed_weights():
    """Full-batch GD, layer-wise noise, cyclic: step 0 perturbs tensor 0 (the weight) by
    sigma * eps with eps the first draw of the seed's stream; the update (momentum buffer =
    gradient + weight decay at the CLEAN weights) is applied to the clean weights."""
    data = tiny_data()
    torch.manual_seed(3)
    model = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(36, 3))
    w0, b0 = (p.detach().clone() for p in model.parameters())
    lr, wd, sigma, seed = 0.1, 5e-4, 0.3, 7
    protocol = Protocol(lr=lr, epochs=1, weight_decay=wd, schedule="constant", eval_points=1)
    train_network(model, data, protocol, scheme="layer", sigma=sigma, seed=seed,
                  device="cpu", progress=False)
    eps = torch.empty_like(w0).normal_(0.0, sigma, generator=torch.Generator().manual_seed(seed))
    w_noisy = (eps + w0).requires_grad_()
    b = b0.clone().requires_grad_()
    x = data.x_train.flatten(1)
    F.cross_entropy(x @ w_noisy.T + b, data.y_train).backward()
    w1, b1 = (p.detach() for p in model.parameters())
    torch.testing.assert_close(w1, w0 - lr * (w_noisy.grad + wd * w0), rtol=0, atol=1e-7)
    torch.testing.assert_close(b1, b0 - lr * (b.grad + wd * b0), rtol=0, atol=1e-7)


def test_sigma_zero_equals_plain_training_bit_for_bit():
    data = tiny_data()
    protocol = Protocol(lr=0.05, epochs=3, batch_size=16, eval_points=3)
    runs = []
    for scheme in ("none", "layer", "all"):
        model = tiny_net()
        train_network(model, data, protocol, scheme=scheme, sigma=0.0, seed=1, device="cpu",
                      progress=False)
        runs.append([p.detach().clone() for p in model.parameters()])
    for other in runs[1:]:
        assert all(torch.equal(a, b) for a, b in zip(runs[0], other))


def test_divergence_stops_the_run_cleanly():
    data = tiny_data()
    protocol = Protocol(lr=1e6, epochs=50, momentum=0.9, eval_points=5)
    out = train_network(tiny_net(), data, protocol, scheme="all", sigma=0.1, seed=0,
                        device="cpu", progress=False)
    assert out["status"] == "diverged"
    assert out["history"]["epoch"][-1] < 50
    assert not math.isfinite(out["history"]["train_loss"][-1])


class NanLogits(torch.autograd.Function):
    """NaN logits forward, zero gradient backward: a non-finite loss that leaves the weights
    finite, so the batches after it are finite again."""

    @staticmethod
    def forward(ctx, logits):
        return torch.full_like(logits, math.nan)

    @staticmethod
    def backward(ctx, grad):
        return torch.zeros_like(grad)


class NanAtTrainingCall(torch.nn.Module):
    """``tiny_net`` whose training-mode forward call number ``at`` (0-based) gives NaN."""

    def __init__(self, at: int):
        super().__init__()
        self.net, self.at, self.calls = tiny_net(), at, 0

    def forward(self, x):
        out = self.net(x)
        if self.training:
            self.calls += 1
            if self.calls == self.at + 1:
                return NanLogits.apply(out)
        return out


def test_a_non_finite_loss_in_any_minibatch_ends_the_run_after_its_epoch():
    """3 minibatches per epoch; the middle one of epoch 1 (step 4) has a NaN loss while the
    last one of that epoch is finite: the run stops after epoch 2 with status diverged."""
    data = tiny_data()
    protocol = Protocol(lr=0.05, epochs=5, batch_size=16, eval_spacing="linear", eval_points=6)
    out = train_network(NanAtTrainingCall(at=4), data, protocol, scheme="layer", sigma=0.1,
                        seed=0, device="cpu", progress=False)
    assert out["status"] == "diverged"
    assert out["steps"] == 6
    assert out["history"]["epoch"] == [0, 1, 2]
    assert np.isfinite(out["history"]["train_loss"]).all()  # the weights stayed finite


class Interrupt(Exception):
    pass


def test_killed_and_resumed_run_ends_bit_exact(tmp_path):
    """Minibatch SGD with augmentation, random-order layer noise switched off late, Hessian
    traces: killed after epoch 5 (last checkpoint at 4) and resumed from the checkpoint
    (loaded with weights_only=True), it ends with exactly the numbers of a run never killed."""
    data = tiny_data(raw=True)
    protocol = Protocol(lr=0.05, epochs=7, batch_size=10, noise_off_epoch=6, augment_padding=1,
                        eval_spacing="linear", eval_points=8, hessian_probes=2,
                        hessian_subset=16, checkpoint_every=2)
    kwargs = dict(scheme="layer", sigma=0.2, seed=4, order="random")

    def run(checkpoint=None, kill_at=None):
        def on_epoch_end(trainer):
            trainer.epochs_run.append(trainer.epoch)
            if trainer.epoch == kill_at:
                raise Interrupt
        trainer = Trainer(tiny_net(), data, protocol, device="cpu", **kwargs)
        trainer.epochs_run = []
        trainer.run(checkpoint, run_key="k", on_epoch_end=on_epoch_end, progress=False)
        return trainer

    clean = run()
    ckpt = tmp_path / "run.pt"
    with pytest.raises(Interrupt):
        run(ckpt, kill_at=5)
    assert torch.load(ckpt, weights_only=True)["epoch"] == 4
    resumed = run(ckpt)
    assert resumed.epochs_run == [5, 6, 7]  # it did resume after epoch 4
    assert resumed.step == clean.step
    for key, values in clean.history.items():
        assert np.array_equal(np.asarray(resumed.history[key], dtype=float),
                              np.asarray(values, dtype=float), equal_nan=True), key
    for a, b in zip(clean.model.state_dict().values(), resumed.model.state_dict().values()):
        assert torch.equal(a, b)
    assert np.isfinite(clean.history["hessian_trace"]).all()


def test_checkpoint_of_another_run_is_ignored(tmp_path):
    data = tiny_data()
    protocol = Protocol(lr=0.05, epochs=2, batch_size=16, eval_points=2, checkpoint_every=1)
    ckpt = tmp_path / "run.pt"
    Trainer(tiny_net(), data, protocol, scheme="none", sigma=0, seed=0, device="cpu").run(
        ckpt, run_key="a", progress=False)
    other = Trainer(tiny_net(), data, protocol, scheme="none", sigma=0, seed=0, device="cpu")
    assert not other.try_resume(ckpt, run_key="b")
    assert other.epoch == 0


def test_precision_setting_is_applied_to_torch_and_recorded():
    """configure_precision sets torch's global TF32 flags (read back from torch.backends, the
    oracle) and returns them: off with bf16 off, on any device; on only for bf16 on CUDA.
    (The flags act on CUDA only; tests/test_cuda.py checks the arithmetic on a GPU.)"""
    matmul, conv = torch.backends.cuda.matmul, torch.backends.cudnn.conv
    modern = hasattr(matmul, "fp32_precision")

    def flags():
        if modern:
            return matmul.fp32_precision == "tf32", conv.fp32_precision == "tf32"
        return torch.backends.cuda.matmul.allow_tf32, torch.backends.cudnn.allow_tf32

    try:
        for device, bf16, tf32 in [("cuda", True, True), ("cpu", False, False),
                                   ("cuda", True, True), ("cuda", False, False),
                                   ("cpu", True, False)]:
            record = configure_precision(torch.device(device), bf16)
            assert flags() == (tf32, tf32)
            assert record == {"dtype": "bfloat16" if tf32 else "float32",
                              "tf32_matmul": tf32, "tf32_cudnn": tf32}
    finally:
        configure_precision(torch.device("cpu"), False)
