"""The four ways a real training loop used to get a wrong result from the injector without an
error, each now right or a clear error, plus torch.compile. Gradients are checked against
torch.func at the perturbed weights, computed without the injector."""

import pytest
import torch
from torch.func import functional_call, grad
from torch.nn import functional as F

from noise_injection import InjectorWarning, NoiseInjector

pytestmark = pytest.mark.usefixtures("one_thread")


def conv_net():
    """Two convolutions: the second one's weight is saved for the first one's gradient."""
    torch.manual_seed(0)
    return torch.nn.Sequential(torch.nn.Conv2d(1, 3, 3), torch.nn.ReLU(),
                               torch.nn.Conv2d(3, 2, 3), torch.nn.Flatten())


def loss_at(net, weights, x):
    return functional_call(net, weights, (x,)).square().sum()


def weights_now(net):
    return {name: p.detach().clone() for name, p in net.named_parameters()}


X = torch.randn(4, 1, 6, 6, generator=torch.Generator().manual_seed(1))


# -- 1. backward after the block -------------------------------------------------------------
@pytest.mark.parametrize("mode,step", [("layer", 2), ("all", 0)])  # layer: tensor 2, conv 2
def test_backward_after_the_block_raises_instead_of_a_hybrid_gradient(mode, step):
    net = conv_net()
    injector = NoiseInjector(net, sigma=0.5, mode=mode, seed=0)
    with injector.perturb(step):
        loss = net(X).square().sum()
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        loss.backward()


def test_a_graph_from_before_the_block_cannot_be_backpropagated_inside_it():
    net = conv_net()
    injector = NoiseInjector(net, sigma=0.5, mode="all", seed=0)
    loss = net(X).square().sum()
    with injector.perturb(0):
        with pytest.raises(RuntimeError, match="modified by an inplace operation"):
            loss.backward()


@pytest.mark.parametrize("mode", ["layer", "all"])
def test_backward_inside_the_block_is_the_gradient_at_the_perturbed_point(mode):
    """The perturbed point by the documented recipe: a generator seeded with the seed draws
    normal_(0, std) per perturbed tensor, in order, added to the clean weights."""
    net = conv_net()
    injector = NoiseInjector(net, sigma=0.5, mode=mode, seed=0)
    noise = torch.Generator().manual_seed(0)
    std = 0.5 / 2 if mode == "all" else 0.5  # M = 4
    for step in range(4):
        clean = weights_now(net)
        perturbed = dict(clean)
        for k, name in enumerate(clean):
            if mode == "all" or k == step % 4:
                perturbed[name] = torch.empty_like(clean[name]).normal_(
                    0.0, std, generator=noise) + clean[name]
        net.zero_grad()
        with injector.perturb(step):
            net(X).square().sum().backward()
        expected = grad(loss_at, argnums=1)(net, perturbed, X)
        for name, p in net.named_parameters():
            torch.testing.assert_close(p.grad, expected[name], rtol=1e-6, atol=1e-6)


# -- 2. autocast spanning the block ----------------------------------------------------------
def test_an_autocast_region_spanning_the_blocks_sees_each_perturbation():
    torch.manual_seed(0)
    net = torch.nn.Sequential(torch.nn.Linear(8, 16), torch.nn.ReLU(), torch.nn.Linear(16, 4))
    injector = NoiseInjector(net, sigma=1.0, mode="all", seed=0)
    x = torch.randn(5, 8)
    clean_weights = weights_now(net)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        clean = net(x)
        outputs, perturbed = [], []
        for step in range(3):  # three micro-batches, one perturbation each
            with injector.perturb(step):
                perturbed.append(weights_now(net))
                outputs.append(net(x))
        after = net(x)
    for weights, output in zip(perturbed, outputs):
        with torch.autocast("cpu", dtype=torch.bfloat16):  # a fresh region: a fresh cache
            expected = functional_call(net, weights, (x,))
        assert output.dtype == torch.bfloat16 and torch.equal(output, expected)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        assert torch.equal(after, functional_call(net, clean_weights, (x,)))
    assert torch.equal(clean, after)


# -- 3. dtype and layout changes after the first block --------------------------------------
@pytest.mark.parametrize("dtype", [torch.float64, torch.float16, torch.bfloat16])
def test_a_dtype_change_after_the_first_block_is_followed(dtype):
    torch.manual_seed(0)
    net = torch.nn.Linear(6, 3)
    injector = NoiseInjector(net, sigma=0.1, mode="all", seed=0)
    with injector.perturb(0):
        pass
    net.to(dtype)
    x = torch.randn(2, 6, dtype=dtype)
    clean = weights_now(net)
    with injector.perturb(1):
        assert all(p.dtype == dtype for p in net.parameters())
        perturbed = weights_now(net)
        out = net(x)
    assert all(not torch.equal(perturbed[n], clean[n]) for n in clean)
    assert out.dtype == dtype and torch.equal(out, functional_call(net, perturbed, (x,)))
    assert all(torch.equal(p, clean[n]) for n, p in net.named_parameters())


def test_channels_last_after_the_first_block_is_kept_inside_it():
    net = conv_net()
    injector = NoiseInjector(net, sigma=0.1, mode="all", seed=0)
    with injector.perturb(0):
        pass
    net.to(memory_format=torch.channels_last)
    with injector.perturb(1):
        assert net[0].weight.is_contiguous(memory_format=torch.channels_last)
        assert net[2].weight.is_contiguous(memory_format=torch.channels_last)
    assert net[2].weight.is_contiguous(memory_format=torch.channels_last)


# -- 4. the trainable set changes after construction ----------------------------------------
def warnings_of(record):
    return [str(w.message) for w in record if w.category is InjectorWarning]


def test_unfreezing_or_adding_a_module_after_construction_warns_once_per_change(recwarn):
    torch.manual_seed(0)
    net = torch.nn.Sequential(torch.nn.Linear(3, 3), torch.nn.Linear(3, 3))
    net[0].requires_grad_(False)
    injector = NoiseInjector(net, sigma=1.0, mode="all", seed=0)
    with injector.perturb(0):
        pass
    assert not warnings_of(recwarn)
    net[0].weight.requires_grad_(True)
    for step in (1, 2):
        with injector.perturb(step):
            assert torch.equal(net[0].weight, net[0].weight.detach().clone())
    [message] = warnings_of(recwarn)
    assert "not perturbed: ['0.weight']" in message and "2 tensors" in message
    net.append(torch.nn.Linear(3, 1))
    with injector.perturb(3):
        pass
    assert "not perturbed: ['0.weight', '2.weight', '2.bias']" in warnings_of(recwarn)[-1]
    net[1].bias.requires_grad_(False)
    with injector.perturb(4):
        pass
    assert "no longer trainable or present: ['1.bias']" in warnings_of(recwarn)[-1]
    assert len(warnings_of(recwarn)) == 3 and injector.num_groups == 2


def test_a_param_group_added_to_the_optimizer_warns():
    torch.manual_seed(0)
    net = torch.nn.Sequential(torch.nn.Linear(3, 3), torch.nn.Linear(3, 3))
    optimizer = torch.optim.SGD(net[0].parameters(), lr=0.1)
    injector = NoiseInjector(optimizer.param_groups, sigma=1.0, mode="all", seed=0)
    optimizer.add_param_group({"params": net[1].parameters()})
    with pytest.warns(InjectorWarning, match="not perturbed: \\['\\?', '\\?'\\]"):
        with injector.perturb(0):
            pass


# -- torch.compile ---------------------------------------------------------------------------
def test_torch_compile_gets_the_perturbed_gradient_without_recompiling():
    from torch._dynamo.utils import counters

    torch._dynamo.reset()
    counters.clear()
    torch.manual_seed(0)
    net = torch.nn.Sequential(torch.nn.Linear(4, 5), torch.nn.Tanh(), torch.nn.Linear(5, 2))
    compiled = torch.compile(net, backend="aot_eager")
    injector = NoiseInjector(net, sigma=0.5, mode="all", seed=0)
    x, y = torch.randn(3, 4), torch.tensor([0, 1, 1])
    for step in range(3):
        net.zero_grad()
        with injector.perturb(step):
            perturbed = weights_now(net)
            F.cross_entropy(compiled(x), y).backward()
        expected = grad(lambda w: F.cross_entropy(functional_call(net, w, (x,)), y))(perturbed)
        for name, p in net.named_parameters():
            torch.testing.assert_close(p.grad, expected[name], rtol=1e-6, atol=1e-6)
    assert counters["stats"]["unique_graphs"] == 1
    with injector.perturb(3):
        loss = F.cross_entropy(compiled(x), y)
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        loss.backward()
