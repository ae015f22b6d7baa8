"""The CUDA-only branches, on a GPU: the injector's device generator and exact restore in both
memory formats, seeded runs repeated bit for bit, bf16 autocast + channels_last, checkpoints
written on CUDA (resumed there, loaded on a CPU), crop/flip on the device, Hutchinson traces
and the foreach momentum update. Marked ``cuda``; skipped with a reason where torch sees no
GPU (``benchmarks/gpu_check.py`` runs them on a lent machine). The last test runs everywhere.

Determinism: cuDNN may pick non-deterministic convolution algorithms, which would make a
repeated run differ for cuDNN's reasons, not ours; the conv-net repeat and resume tests switch
``torch.backends.cudnn.deterministic`` on, so that they check the seeding of our streams (the
injector's and trainer's generators on the device), and their net pools with ``AvgPool2d``
(adaptive average pooling's CUDA backward may add atomically). The MLP test (the paper's
full-batch MLP runs) repeats with torch's default settings.
"""

import math

import numpy as np
import pytest
import torch
from scipy import stats
from torch.nn import functional as F

from noise_injection import NoiseInjector
from noise_injection.networks.data import ArrayDataset, crop_flip, random_crop_flip
from noise_injection.networks.hessian import hutchinson_trace
from noise_injection.networks.nets import build_model
from noise_injection.networks.train import MomentumSGD, Protocol, Trainer, configure_precision

needs_cuda = [pytest.mark.cuda, pytest.mark.skipif(
    not torch.cuda.is_available(),
    reason="no CUDA device (torch.cuda.is_available() is False); run on a GPU machine: "
           "python benchmarks/gpu_check.py --out DIR")]
CUDA = torch.device("cuda")


def cuda_test(fn):
    for mark in needs_cuda:
        fn = mark(fn)
    return fn


@pytest.fixture
def deterministic_cudnn():
    flags = torch.backends.cudnn.deterministic, torch.backends.cudnn.benchmark
    torch.backends.cudnn.deterministic, torch.backends.cudnn.benchmark = True, False
    yield
    torch.backends.cudnn.deterministic, torch.backends.cudnn.benchmark = flags


def conv_net(seed=0) -> torch.nn.Module:
    torch.manual_seed(seed)
    return torch.nn.Sequential(
        torch.nn.Conv2d(3, 8, 3, padding=1), torch.nn.BatchNorm2d(8), torch.nn.ReLU(),
        torch.nn.Conv2d(8, 8, 3, padding=1), torch.nn.BatchNorm2d(8), torch.nn.ReLU(),
        torch.nn.AvgPool2d(8), torch.nn.Flatten(), torch.nn.Linear(8, 4))


def raw_images(n_train=96, n_test=32, seed=0) -> ArrayDataset:
    """uint8 3 x 8 x 8 images, 4 classes, learnable: the class sets the mean brightness."""
    g = torch.Generator().manual_seed(seed)

    def split(n):
        y = torch.randint(0, 4, (n,), generator=g)
        noise = torch.randint(0, 96, (n, 3, 8, 8), generator=g)
        return (noise + 48 * y.view(-1, 1, 1, 1)).to(torch.uint8), y

    (x_tr, y_tr), (x_te, y_te) = split(n_train), split(n_test)
    return ArrayDataset("tiny_rgb", 4, x_tr, y_tr, x_te, y_te, (0.5,) * 3, (0.25,) * 3,
                        raw_pixels=True)


CONV_PROTOCOL = Protocol(lr=0.05, epochs=6, batch_size=16, augment_padding=2,
                         eval_spacing="linear", eval_points=6, hessian_probes=2,
                         hessian_subset=32, checkpoint_every=2)


def train(protocol=CONV_PROTOCOL, scheme="all", seed=3, model=None, **run):
    trainer = Trainer(conv_net() if model is None else model, raw_images(), protocol,
                      scheme=scheme, sigma=0.1, seed=seed, device=CUDA)
    trainer.run(progress=False, **run)
    return trainer


def same_history(a: dict, b: dict) -> bool:
    return all(np.array_equal(np.asarray(a[k], dtype=float), np.asarray(b[k], dtype=float),
                              equal_nan=True) for k in a)


def same_weights(a: torch.nn.Module, b: torch.nn.Module) -> bool:
    return all(torch.equal(x, y) for x, y in zip(a.state_dict().values(),
                                                 b.state_dict().values()))


@cuda_test
@pytest.mark.parametrize("memory_format", [torch.contiguous_format, torch.channels_last])
@pytest.mark.parametrize("mode", ["all", "layer"])
def test_injector_restores_cuda_weights_bit_for_bit(memory_format, mode):
    net = conv_net().to(CUDA, memory_format=memory_format)
    before = [p.detach().clone() for p in net.parameters()]
    injector = NoiseInjector(net, sigma=0.3, mode=mode, seed=1)
    assert injector.generator.device.type == CUDA.type
    for step in range(100):
        with injector.perturb(step) as groups:
            changed = [i for i, (p, b) in enumerate(zip(net.parameters(), before))
                       if not torch.equal(p, b)]
            assert changed == groups
            net(torch.randn(2, 3, 8, 8, device=CUDA)).sum().backward()
    assert all(torch.equal(p, b) for p, b in zip(net.parameters(), before))
    if memory_format is torch.channels_last:
        assert net[0].weight.is_contiguous(memory_format=torch.channels_last)


@cuda_test
def test_cuda_noise_has_the_declared_std():
    param = torch.nn.Parameter(torch.zeros(1_000_000, device=CUDA))
    injector = NoiseInjector([param], sigma=0.07, mode="layer", seed=2)
    with injector.perturb(0):
        noise = param.detach().double()
        # sample std of n Gaussians: relative standard error 1/sqrt(2n)
        assert float(noise.std()) == pytest.approx(0.07, rel=5 / math.sqrt(2e6))
        assert abs(float(noise.mean())) < 5 * 0.07 / math.sqrt(1e6)


@cuda_test
def test_conv_run_repeats_bit_for_bit_on_cuda(deterministic_cudnn):
    """All-weights noise, minibatches, crop/flip and Hessian probes from device generators."""
    first, again, other = train(), train(), train(seed=4)
    assert first.status == "ok" and first.device.type == CUDA.type
    assert same_history(first.history, again.history)
    assert same_weights(first.model, again.model)
    assert not same_weights(first.model, other.model)  # the seed matters


@cuda_test
def test_paper_mlp_full_batch_run_repeats_bit_for_bit_on_cuda():
    """The paper's MLP protocol (full batch, log-softmax, layer noise), torch's defaults."""
    g = torch.Generator().manual_seed(0)
    x = torch.randn(256, 1, 28, 28, generator=g)
    y = torch.randint(0, 10, (256,), generator=g)
    data = ArrayDataset("mlp", 10, x, y, x[:64], y[:64], (0.0,), (1.0,))
    protocol = Protocol(lr=0.05, epochs=20, eval_points=5, hessian_probes=1, hessian_subset=64)

    def run():
        torch.manual_seed(1)
        model = build_model("mlp", (1, 28, 28), 10, widths=[256, 256, 256])
        trainer = Trainer(model, data, protocol, scheme="layer", sigma=0.05, seed=1,
                          device=CUDA)
        trainer.run(progress=False)
        return trainer

    first, again = run(), run()
    assert same_history(first.history, again.history)
    assert same_weights(first.model, again.model)


@cuda_test
def test_bf16_channels_last_run_ends_finite_and_learns():
    protocol = Protocol(lr=0.05, epochs=15, batch_size=16, augment_padding=2, eval_points=4,
                        hessian_probes=2, hessian_subset=32, bf16=True, channels_last=True)
    model = conv_net()
    seen = {}

    def record(module, inputs, output):
        if module.training:
            seen["dtype"], seen["channels_last"] = output.dtype, inputs[0].is_contiguous(
                memory_format=torch.channels_last)

    model[0].register_forward_hook(record)
    trainer = train(protocol, scheme="layer", model=model)
    assert seen == {"dtype": torch.bfloat16, "channels_last": True}  # the branches ran
    assert model[0].weight.is_contiguous(memory_format=torch.channels_last)
    assert trainer.status == "ok"
    for key in ("train_loss", "test_loss", "train_acc", "hessian_trace"):
        assert np.isfinite(trainer.history[key]).all(), key
    # classes differ by 48 grey levels: the run learns (chance: 25 %)
    assert trainer.history["train_loss"][-1] < 0.8 * trainer.history["train_loss"][0]
    assert trainer.history["train_acc"][-1] > 50


class Interrupt(Exception):
    pass


@cuda_test
def test_cuda_checkpoint_resumes_on_cuda_and_loads_on_cpu(tmp_path, deterministic_cudnn):
    clean = train()
    ckpt = tmp_path / "run.pt"

    def kill_at_5(trainer):
        if trainer.epoch == 5:
            raise Interrupt

    with pytest.raises(Interrupt):
        train(checkpoint=ckpt, run_key="k", on_epoch_end=kill_at_5)
    state = torch.load(ckpt, map_location="cpu", weights_only=True)
    assert state["epoch"] == 4 and state["device"] == CUDA.type
    resumed = train(checkpoint=ckpt, run_key="k")
    assert resumed.step == clean.step
    assert same_history(clean.history, resumed.history)
    assert same_weights(clean.model, resumed.model)

    final = torch.load(ckpt, map_location="cpu", weights_only=True)
    on_cpu = conv_net(seed=99)
    on_cpu.load_state_dict(final["model"])
    data = raw_images()
    with torch.no_grad():
        cpu_logits = on_cpu.eval()(data.normalize(data.x_test))
        cuda_logits = clean.model.eval()(data.normalize(data.x_test).to(CUDA)).cpu()
    torch.testing.assert_close(cpu_logits, cuda_logits, rtol=1e-4, atol=1e-4)
    cpu_trainer = Trainer(conv_net(), data, CONV_PROTOCOL, scheme="all", sigma=0.1, seed=3,
                          device="cpu")
    with pytest.raises(ValueError, match="written on cuda"):
        cpu_trainer.try_resume(ckpt, run_key="k")


@cuda_test
def test_crop_flip_on_cuda_equals_cpu_on_the_same_draws():
    g = torch.Generator().manual_seed(0)
    x = torch.randint(0, 256, (500, 3, 32, 32), generator=g, dtype=torch.uint8)
    offsets = torch.randint(0, 9, (2, 500), generator=g)
    flips = torch.randint(0, 2, (500,), generator=g).bool()
    on_cpu = crop_flip(x, offsets, flips, padding=4)
    on_cuda = crop_flip(x.to(CUDA), offsets.to(CUDA), flips.to(CUDA), padding=4)
    assert torch.equal(on_cuda.cpu(), on_cpu)


def decode_draws(out: torch.Tensor, padding: int, width: int):
    """Offsets and flips of ``random_crop_flip`` on images whose pixel (r, c) holds
    r * width + c + 1, read from output row ``padding`` (never in the padding)."""
    row = out[:, 0, padding].long() - 1
    first, second = row[:, padding], row[:, padding + 1]
    flips = second < first
    dy = first // width
    col = first % width
    dx = torch.where(flips, col - (width - 1 - padding) + padding, col)
    return dy, dx, flips


@cuda_test
def test_crop_flip_draws_on_cuda_are_uniform_and_independent():
    n, p, w = 20_000, 2, 8
    grid = (torch.arange(w * w, dtype=torch.uint8) + 1).view(1, 1, w, w)
    out = random_crop_flip(grid.expand(n, 1, w, w).to(CUDA), padding=p,
                           generator=torch.Generator(CUDA).manual_seed(0)).cpu()
    dy, dx, flips = decode_draws(out, p, w)
    assert torch.equal(out, crop_flip(grid.expand(n, 1, w, w), torch.stack([dy, dx]), flips,
                                      padding=p))  # the decoding is right
    k = 2 * p + 1
    assert stats.chisquare(np.bincount(dy.numpy(), minlength=k)).pvalue > 1e-4
    assert stats.chisquare(np.bincount(dx.numpy(), minlength=k)).pvalue > 1e-4
    assert stats.binomtest(int(flips.sum()), n).pvalue > 1e-4
    table = np.zeros((k, 2 * k))
    np.add.at(table, (dy.numpy(), (dx * 2 + flips.long()).numpy()), 1)
    assert stats.chi2_contingency(table).pvalue > 1e-4


def exact_trace_and_standard_errors(model, x, y, n_probes):
    """Exact tr H (whole net and per tensor; torch.func on the CPU in float64) and the exact
    standard errors of the Hutchinson mean over ``n_probes`` Rademacher probes:
    Var(v^T H v) = 2 sum_{a != b} H_ab^2; for tensor i, Var(v_i^T (H v)_i) =
    2 sum_{a != b in i} H_ab^2 + sum_{a in i, b not in i} H_ab^2."""
    params = {k: v.detach() for k, v in model.named_parameters()}

    def loss(p):
        return F.cross_entropy(torch.func.functional_call(model, p, (x,)), y)

    blocks = torch.func.hessian(loss)(params)
    names = list(params)
    rows = [torch.cat([blocks[a][b].reshape(params[a].numel(), params[b].numel())
                       for b in names], dim=1) for a in names]
    hess = torch.cat(rows)
    sizes = [params[a].numel() for a in names]
    bounds = np.cumsum([0, *sizes])
    off = hess - torch.diag(torch.diagonal(hess))
    per_tensor, per_se = [], []
    for lo, hi in zip(bounds[:-1], bounds[1:]):
        per_tensor.append(float(torch.trace(hess[lo:hi, lo:hi])))
        within = 2 * float((off[lo:hi, lo:hi] ** 2).sum())
        across = float((hess[lo:hi] ** 2).sum() - (hess[lo:hi, lo:hi] ** 2).sum())
        per_se.append(math.sqrt((within + across) / n_probes))
    total_se = math.sqrt(2 * float((off ** 2).sum()) / n_probes)
    return float(torch.trace(hess)), per_tensor, total_se, per_se


@cuda_test
def test_hutchinson_on_cuda_matches_the_exact_trace():
    torch.manual_seed(3)
    model = build_model("mlp", (1, 2, 3), 3, widths=[6]).double()
    g = torch.Generator().manual_seed(4)
    x = torch.randn(40, 1, 2, 3, generator=g, dtype=torch.float64)
    y = torch.randint(0, 3, (40,), generator=g)
    n_probes = 2000
    exact, exact_blocks, se, se_blocks = exact_trace_and_standard_errors(model, x, y, n_probes)
    total, per_tensor = hutchinson_trace(model.to(CUDA), F.cross_entropy, x.to(CUDA),
                                         y.to(CUDA), n_probes,
                                         torch.Generator(CUDA).manual_seed(5))
    assert abs(total - exact) < 4 * se
    for estimate, value, s in zip(per_tensor, exact_blocks, se_blocks):
        assert abs(estimate - value) < 4 * s
    assert se < 0.05 * abs(exact)  # the test has power


@cuda_test
def test_fp32_disables_tf32():
    """fp32 is fp32 on Ampere and later: after a Trainer is built with bf16 off, a 1024 x 1024
    fp32 matmul and a convolution on the GPU agree with float64 to IEEE fp32 accuracy (relative
    error < 1e-5; TF32's 10-bit mantissa gives about 1e-3), and the record says TF32 is off.
    With bf16 on, TF32 is allowed and the record says so."""
    g = torch.Generator().manual_seed(0)
    a, b = (torch.randn(1024, 1024, generator=g, dtype=torch.float64) for _ in range(2))
    x, w = (torch.randn(8, 64, 16, 16, generator=g, dtype=torch.float64),
            torch.randn(64, 64, 3, 3, generator=g, dtype=torch.float64))
    data = ArrayDataset("t", 4, torch.zeros(8, 1, 2, 2), torch.zeros(8, dtype=torch.long),
                        torch.zeros(8, 1, 2, 2), torch.zeros(8, dtype=torch.long), (0.0,), (1.0,))
    try:
        trainer = Trainer(build_model("mlp", (1, 2, 2), 4, widths=[4]), data,
                          Protocol(lr=0.1, epochs=1), scheme="none", sigma=0.0, seed=0,
                          device=CUDA)
        assert trainer.precision == {"dtype": "float32", "tf32_matmul": False,
                                     "tf32_cudnn": False}
        product = (a.float().to(CUDA) @ b.float().to(CUDA)).double().cpu()
        conv = F.conv2d(x.float().to(CUDA), w.float().to(CUDA), padding=1).double().cpu()
        for got, exact in ((product, a @ b), (conv, F.conv2d(x, w, padding=1))):
            assert float((got - exact).norm() / exact.norm()) < 1e-5
        bf16 = Trainer(build_model("mlp", (1, 2, 2), 4, widths=[4]), data,
                       Protocol(lr=0.1, epochs=1, bf16=True), scheme="none", sigma=0.0,
                       seed=0, device=CUDA)
        assert bf16.precision == {"dtype": "bfloat16", "tf32_matmul": True,
                                  "tf32_cudnn": True}
    finally:
        configure_precision(CUDA, bf16=False)


@cuda_test
def test_momentum_sgd_on_cuda_is_torch_foreach_sgd_bit_for_bit():
    """Ten steps of a conv net on CUDA, one copy stepped by ours, one by torch's foreach SGD
    (its default on CUDA): the same weights, bit for bit, with a changing lr."""
    g = torch.Generator().manual_seed(0)
    x = torch.randn(32, 3, 8, 8, generator=g).to(CUDA)
    y = torch.randint(0, 4, (32,), generator=g).to(CUDA)
    nets = [conv_net(seed=5).to(CUDA) for _ in range(2)]
    optimizers = [MomentumSGD(nets[0].parameters(), lr=0.1, momentum=0.9, weight_decay=5e-4),
                  torch.optim.SGD(nets[1].parameters(), lr=0.1, momentum=0.9,
                                  weight_decay=5e-4, foreach=True)]
    for step in range(10):
        for net, optimizer in zip(nets, optimizers):
            optimizer.param_groups[0]["lr"] = 0.1 / (step + 1)
            optimizer.zero_grad()
            F.cross_entropy(net(x), y).backward()
            optimizer.step()
        assert same_weights(*nets)


def test_checkpoint_from_another_device_is_refused_clearly(tmp_path):
    """Runs on a CPU: a checkpoint marked as written on CUDA does not resume on the CPU."""
    def trainer():
        return Trainer(conv_net(), raw_images(), CONV_PROTOCOL, scheme="all", sigma=0.1,
                       seed=0, device="cpu")

    ckpt = tmp_path / "run.pt"
    trainer().save_checkpoint(ckpt, run_key="k")
    state = torch.load(ckpt, weights_only=True)
    assert state["device"] == "cpu"
    torch.save({**state, "device": "cuda"}, ckpt)
    fresh = trainer()
    with pytest.raises(ValueError, match="written on cuda and cannot resume on cpu"):
        fresh.load_state_dict(torch.load(ckpt, weights_only=True))
    # through try_resume the checkpoint never traps the run: moved aside, the run starts fresh
    fresh = trainer()
    assert fresh.try_resume(ckpt, run_key="k") is False
    assert fresh.epoch == 0 and not ckpt.exists()
    assert (tmp_path / "run.pt.incompatible").exists()
