"""The noise injector: exact restore, who is perturbed, noise scale, independence, seeding,
and sigma = 0 training equal to plain training bit for bit."""

import math

import numpy as np
import pytest
import torch
from scipy import stats

from noise_injection import NoiseInjector


def small_net(seed=0):
    torch.manual_seed(seed)
    return torch.nn.Sequential(
        torch.nn.Linear(12, 20), torch.nn.BatchNorm1d(20), torch.nn.ReLU(),
        torch.nn.Linear(20, 3),
    )


def snapshot(net):
    return [p.detach().clone() for p in net.parameters()]


def assert_bit_equal(xs, ys):
    for x, y in zip(xs, ys):
        assert torch.equal(x, y)


def test_accepts_module_generator_and_list():
    net = small_net()
    for params in (net, net.parameters(), list(net.parameters())):
        assert NoiseInjector(params, sigma=0.1).num_groups == 6


@pytest.mark.parametrize("bad", [
    dict(mode="both"), dict(order="sequential"), dict(sigma=-1.0), dict(sigma=float("nan")),
])
def test_rejects_bad_arguments(bad):
    kwargs = dict(sigma=0.1, mode="layer", order="cyclic") | bad
    with pytest.raises(ValueError, match=next(iter(bad))):
        NoiseInjector(small_net(), **kwargs)


@pytest.mark.parametrize("mode", ["all", "layer"])
def test_restore_is_bit_exact_after_many_cycles(mode):
    net = small_net()
    before = snapshot(net)
    injector = NoiseInjector(net, sigma=0.3, mode=mode, order="random", seed=1)
    for step in range(200):
        with injector.perturb(step):
            changed = [not torch.equal(p, b) for p, b in zip(net.parameters(), before)]
            assert any(changed)
    assert_bit_equal(snapshot(net), before)


@pytest.mark.parametrize("mode", ["all", "layer"])
def test_restore_after_exception(mode):
    net = small_net()
    before = snapshot(net)
    injector = NoiseInjector(net, sigma=0.5, mode=mode, seed=0)
    with pytest.raises(RuntimeError, match="boom"):
        with injector.perturb(0):
            raise RuntimeError("boom")
    assert_bit_equal(snapshot(net), before)


def test_buffers_are_never_touched():
    net = small_net()
    net.train()
    buffers = [b.clone() for b in net.buffers()]
    injector = NoiseInjector(net, sigma=1.0, mode="all", seed=0)
    for step in range(10):
        with injector.perturb(step):
            pass
    assert_bit_equal(list(net.buffers()), buffers)


def test_layer_mode_cyclic_changes_exactly_one_tensor_in_order():
    net = small_net()
    before = snapshot(net)
    injector = NoiseInjector(net, sigma=0.2, mode="layer", order="cyclic", seed=0)
    m = injector.num_groups
    for step in range(3 * m):
        with injector.perturb(step) as groups:
            changed = [i for i, (p, b) in enumerate(zip(net.parameters(), before))
                       if not torch.equal(p, b)]
        assert changed == groups == [step % m]
        assert injector.last_group == step % m


def test_layer_mode_random_order_is_uniform():
    injector = NoiseInjector(small_net(), sigma=0.1, mode="layer", order="random", seed=3)
    m, steps = injector.num_groups, 6000
    counts = np.zeros(m)
    for step in range(steps):
        with injector.perturb(step) as groups:
            assert len(groups) == 1
            counts[groups[0]] += 1
    p_value = stats.chisquare(counts).pvalue
    assert p_value > 1e-3, counts


def test_all_mode_std_is_sigma_over_sqrt_m():
    torch.manual_seed(0)
    params = [torch.nn.Parameter(torch.randn(n)) for n in (40_000, 30_000, 20_000, 10_000)]
    sigma = 0.4
    injector = NoiseInjector(params, sigma=sigma, mode="all", seed=5)
    clean = [p.detach().clone() for p in params]
    assert injector.std_per_tensor == pytest.approx(sigma / math.sqrt(4))
    with injector.perturb(0):
        for p, c in zip(params, clean):
            noise = (p.detach() - c).double()
            n = noise.numel()
            # sample std of n Gaussians: relative standard error 1/sqrt(2n)
            assert float(noise.std()) == pytest.approx(sigma / 2, rel=5 / math.sqrt(2 * n))
            assert abs(float(noise.mean())) < 5 * (sigma / 2) / math.sqrt(n)


def test_layer_mode_std_is_sigma():
    param = torch.nn.Parameter(torch.zeros(50_000))
    injector = NoiseInjector([param], sigma=0.07, mode="layer", seed=2)
    with injector.perturb(0):
        assert float(param.detach().double().std()) == pytest.approx(0.07, rel=5 / math.sqrt(1e5))


def test_noise_is_independent_across_tensors():
    params = [torch.nn.Parameter(torch.zeros(20_000)) for _ in range(3)]
    injector = NoiseInjector(params, sigma=1.0, mode="all", seed=0)
    with injector.perturb(0):
        noise = torch.stack([p.detach().double() for p in params]).numpy()
    corr = np.corrcoef(noise)
    off_diagonal = corr[~np.eye(3, dtype=bool)]
    assert np.all(np.abs(off_diagonal) < 5 / math.sqrt(20_000))


def test_noise_is_independent_across_steps():
    param = torch.nn.Parameter(torch.zeros(20_000))
    injector = NoiseInjector([param], sigma=1.0, mode="layer", seed=0)
    draws = []
    for step in range(2):
        with injector.perturb(step):
            draws.append(param.detach().double().numpy().copy())
    assert abs(np.corrcoef(draws)[0, 1]) < 5 / math.sqrt(20_000)


@pytest.mark.parametrize("mode,order", [("all", "cyclic"), ("layer", "random")])
def test_same_seed_same_noise_sequence(mode, order):
    def noise_sequence(seed):
        net = small_net()
        clean = snapshot(net)
        injector = NoiseInjector(net, sigma=0.1, mode=mode, order=order, seed=seed)
        seq = []
        for step in range(20):
            with injector.perturb(step):
                seq.append(torch.cat([(p - c).flatten() for p, c in zip(net.parameters(), clean)]))
        return torch.stack(seq)

    assert torch.equal(noise_sequence(7), noise_sequence(7))
    assert not torch.equal(noise_sequence(7), noise_sequence(8))


def test_state_dict_resumes_the_same_stream():
    net = small_net()
    clean = snapshot(net)
    injector = NoiseInjector(net, sigma=0.1, mode="layer", order="random", seed=4)

    def draw(inj, step):
        with inj.perturb(step) as groups:
            return groups, [(p - c).clone() for p, c in zip(net.parameters(), clean)]

    for step in range(5):
        draw(injector, step)
    state = injector.state_dict()
    expected = [draw(injector, step) for step in range(5, 10)]
    resumed = NoiseInjector(net, sigma=0.1, mode="layer", order="random", seed=999)
    resumed.load_state_dict(state)
    for step, (groups, noise) in zip(range(5, 10), expected):
        got_groups, got_noise = draw(resumed, step)
        assert got_groups == groups
        assert_bit_equal(got_noise, noise)


def test_mode_none_perturbs_nothing():
    net = small_net()
    before = snapshot(net)
    injector = NoiseInjector(net, sigma=1.0, mode="none")
    with injector.perturb(0) as groups:
        assert groups == []
        assert_bit_equal(snapshot(net), before)
    assert injector.last_group is None


def test_gradient_is_taken_at_the_perturbed_point():
    """For R(w) = sum(w^3)/3, grad at w + eps is (w + eps)^2, not w^2."""
    w = torch.nn.Parameter(torch.tensor([1.0, -2.0, 0.5]))
    injector = NoiseInjector([w], sigma=0.3, mode="layer", seed=0)
    with injector.perturb(0):
        perturbed = w.detach().clone()
        (w**3 / 3).sum().backward()
    assert torch.allclose(w.grad, perturbed**2)
    assert torch.equal(w.detach(), torch.tensor([1.0, -2.0, 0.5]))


def train_bn_net(mode, steps=50):
    """SGD (momentum 0.9, weight decay 5e-4) on a BatchNorm MLP; mode None = no injector."""
    net = small_net(seed=11)
    gen = torch.Generator().manual_seed(0)
    x = torch.randn(64, 12, generator=gen)
    y = torch.randint(0, 3, (64,), generator=gen)
    opt = torch.optim.SGD(net.parameters(), lr=0.05, momentum=0.9, weight_decay=5e-4)
    injector = None if mode is None else NoiseInjector(net, sigma=0.0, mode=mode, seed=0)
    for step in range(steps):
        opt.zero_grad()
        idx = torch.randint(0, 64, (16,), generator=gen)
        if injector is None:
            torch.nn.functional.cross_entropy(net(x[idx]), y[idx]).backward()
        else:
            with injector.perturb(step):
                torch.nn.functional.cross_entropy(net(x[idx]), y[idx]).backward()
        opt.step()
    return snapshot(net) + [b.clone() for b in net.buffers()]


@pytest.mark.parametrize("mode", ["all", "layer"])
def test_sigma_zero_training_equals_plain_training_bit_for_bit(mode):
    assert_bit_equal(train_bn_net(mode), train_bn_net(None))


def test_noise_has_each_tensors_dtype():
    params = [torch.nn.Parameter(torch.zeros(100, dtype=torch.float64)),
              torch.nn.Parameter(torch.zeros(100, dtype=torch.bfloat16))]
    injector = NoiseInjector(params, sigma=1.0, mode="all", seed=0)
    with injector.perturb(0):
        assert all(float(p.detach().float().abs().sum()) > 0 for p in params)
        assert [p.dtype for p in params] == [torch.float64, torch.bfloat16]


def test_memory_format_and_parameter_identity_are_kept():
    conv = torch.nn.Conv2d(3, 8, 3).to(memory_format=torch.channels_last)
    weight = conv.weight
    injector = NoiseInjector(conv, sigma=0.1, mode="all", seed=0)
    for step in range(3):
        with injector.perturb(step):
            assert conv.weight is weight
            assert weight.is_contiguous(memory_format=torch.channels_last)
    assert weight.is_contiguous(memory_format=torch.channels_last)
