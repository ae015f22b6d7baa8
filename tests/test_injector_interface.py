"""The interface a PyTorch user expects: named parameters and param groups with per-group sigma,
the optimizer wrapper in its three forms and gradient accumulation with one perturbation per
step or per micro-batch. Training is checked against a manual loop: noise drawn by the
documented recipe (a generator seeded with the seed, ``normal_(0, std)`` per perturbed tensor in
parameter order), the gradient by torch.func at the perturbed weights, the step by a plain
``torch.optim.SGD`` on a copy of the model."""

import copy
import math

import pytest
import torch
from torch.func import functional_call, grad
from torch.nn import functional as F

from noise_injection import NoiseInjector, NoisyOptimizer

pytestmark = [pytest.mark.usefixtures("one_thread"),  # and no injector warning in these loops
              pytest.mark.filterwarnings("error::noise_injection.perturb.InjectorWarning")]

GEN = torch.Generator().manual_seed(3)
X, Y = torch.randn(8, 4, generator=GEN), torch.randint(0, 3, (8,), generator=GEN)
MICRO = [(X[:4], Y[:4]), (X[4:], Y[4:])]
SIGMA, LR, STEPS = 0.3, 0.1, 6


def mlp():
    torch.manual_seed(0)
    return torch.nn.Sequential(torch.nn.Linear(4, 6), torch.nn.Tanh(), torch.nn.Linear(6, 3))


def sgd(params):
    return torch.optim.SGD(params, lr=LR, momentum=0.9)


def micro_loss(net, x, y):
    return F.cross_entropy(net(x), y) / len(MICRO)


# -- what can be given -----------------------------------------------------------------------
def test_named_parameters_and_optimizer_param_groups_are_accepted():
    net = mlp()
    names = ["0.weight", "0.bias", "2.weight", "2.bias"]
    assert NoiseInjector(net.named_parameters(), sigma=0.1).names == names
    assert NoiseInjector(sgd(net.parameters()).param_groups, sigma=0.1).num_groups == 4
    named_optimizer = torch.optim.SGD(net.named_parameters(), lr=0.1)
    assert NoiseInjector(named_optimizer.param_groups, sigma=0.1).names == names
    assert NoiseInjector(net, sigma=0.1).names == names
    assert NoiseInjector(sgd(net.parameters()), sigma=0.1).num_groups == 4  # the optimizer


@pytest.mark.parametrize("mode", ["all", "layer"])
def test_per_group_sigma_follows_the_convention_with_m_over_all_groups(mode):
    net = mlp()
    clean = [p.detach().clone() for p in net.parameters()]
    groups = [{"params": net[0].parameters(), "sigma": 0.5, "lr": 1.0},
              {"params": net[2].parameters()}]
    injector = NoiseInjector(groups, sigma=0.1, mode=mode, order="cyclic", seed=2)
    group_sigma = [0.5, 0.5, 0.1, 0.1]
    expected_stds = [s / math.sqrt(4) if mode == "all" else s for s in group_sigma]
    assert injector.stds() == expected_stds
    with pytest.raises(ValueError, match="differs between param groups"):
        injector.std_per_tensor
    noise = torch.Generator().manual_seed(2)
    for step in range(5):
        with injector.perturb(step) as perturbed:
            for i, (p, c) in enumerate(zip(net.parameters(), clean)):
                if i in ([step % 4] if mode == "layer" else range(4)):
                    expected = torch.empty_like(c).normal_(0.0, expected_stds[i],
                                                           generator=noise) + c
                    assert torch.equal(p, expected)
                else:
                    assert torch.equal(p, c)
        assert perturbed == ([step % 4] if mode == "layer" else [0, 1, 2, 3])


@pytest.mark.parametrize("params,error,match", [
    (lambda n: [{"params": n[0].parameters()}, {"params": n.parameters()}], ValueError,
     "in param groups 0 and 1"),
    (lambda n: [{"params": n[0].parameters()}, n[2].weight], TypeError, "cannot be mixed"),
    (lambda n: [{"sigma": 0.1}], TypeError, "no 'params'"),
    (lambda n: [{"params": n[0].parameters()}, {"params": n[2].parameters(), "sigma": -0.1}],
     ValueError, "sigma of param group 1"),
    (lambda n: [("w", 3.0)], TypeError, "got float"),
])
def test_bad_inputs_are_clear_errors(params, error, match):
    with pytest.raises(error, match=match):
        NoiseInjector(params(mlp()), sigma=0.1)


# -- training loops against the manual one ---------------------------------------------------
def manual_loop(per_micro_batch: bool, seed=5, steps=STEPS):
    """Weights after ``steps`` of layer-wise cyclic noise, the gradient summed over the micro
    batches, each taken at its perturbed weights; one perturbation per step, or per micro-batch
    (then each micro-batch is a step of the cyclic order)."""
    net = mlp()
    optimizer = sgd(net.parameters())
    noise = torch.Generator().manual_seed(seed)
    names = [n for n, _ in net.named_parameters()]
    block = 0

    def draw():
        nonlocal block
        weights = {n: p.detach().clone() for n, p in net.named_parameters()}
        name = names[block % len(names)]
        weights[name] = torch.empty_like(weights[name]).normal_(0.0, SIGMA, generator=noise) \
            + weights[name]
        block += 1
        return weights

    for _ in range(steps):
        total = {n: torch.zeros_like(p) for n, p in net.named_parameters()}
        weights = None if per_micro_batch else draw()
        for x, y in MICRO:
            at = draw() if per_micro_batch else weights
            g = grad(lambda w: F.cross_entropy(functional_call(net, w, (x,)), y) / len(MICRO))(at)
            total = {n: total[n] + g[n] for n in total}
        for n, p in net.named_parameters():
            p.grad = total[n]
        optimizer.step()
    return [p.detach() for p in net.parameters()]


def context_manager_per_step(net, optimizer, injector):
    for step in range(STEPS):
        optimizer.zero_grad()
        with injector.perturb(step):  # one perturbation for all micro-batches
            for x, y in MICRO:
                micro_loss(net, x, y).backward()
        optimizer.step()


def context_manager_per_micro_batch(net, optimizer, injector):
    for _ in range(STEPS):
        optimizer.zero_grad()
        for x, y in MICRO:
            with injector.perturb():  # the counter: each micro-batch a step of the order
                micro_loss(net, x, y).backward()
        optimizer.step()


def wrapper_closure(net, noisy):
    def closure():
        noisy.zero_grad()
        total = 0.0
        for x, y in MICRO:
            loss = micro_loss(net, x, y)
            loss.backward()
            total += float(loss.detach())
        return total

    for _ in range(STEPS):
        assert isinstance(noisy.step(closure), float)


def wrapper_first_second(net, noisy):
    for _ in range(STEPS):
        noisy.first_step()
        for x, y in MICRO:
            micro_loss(net, x, y).backward()
        noisy.second_step(zero_grad=True)


def wrapper_per_micro_batch(net, noisy):
    for _ in range(STEPS):
        noisy.zero_grad()
        for x, y in MICRO:
            with noisy.perturb():
                micro_loss(net, x, y).backward()
        noisy.step()


@pytest.mark.parametrize("loop,per_micro_batch", [
    (context_manager_per_step, False), (context_manager_per_micro_batch, True),
    (wrapper_closure, False), (wrapper_first_second, False), (wrapper_per_micro_batch, True),
], ids=lambda v: getattr(v, "__name__", str(v)))
def test_each_form_trains_as_the_manual_loop(loop, per_micro_batch):
    net = mlp()
    if loop.__name__.startswith("wrapper"):
        loop(net, NoisyOptimizer(sgd(net.parameters()), sigma=SIGMA, mode="layer", seed=5))
    else:
        loop(net, sgd(net.parameters()), NoiseInjector(net, sigma=SIGMA, mode="layer", seed=5))
    for got, expected in zip(net.parameters(), manual_loop(per_micro_batch), strict=True):
        torch.testing.assert_close(got.detach(), expected, rtol=1e-6, atol=1e-7)
    other = manual_loop(not per_micro_batch)
    assert max(float((g.detach() - e).abs().max()) for g, e in zip(net.parameters(), other)) > 1e-3


# -- the wrapper's edges ---------------------------------------------------------------------
def test_the_wrapper_refuses_a_step_without_perturbation_and_unpaired_calls():
    net = mlp()
    noisy = NoisyOptimizer(sgd(net.parameters()), sigma=SIGMA, seed=0)
    before = [p.detach().clone() for p in net.parameters()]
    micro_loss(net, X, Y).backward()
    with pytest.raises(RuntimeError, match="without a perturbation since the last step"):
        noisy.step()
    with pytest.raises(RuntimeError, match="without first_step"):
        noisy.second_step()
    noisy.first_step()
    with pytest.raises(RuntimeError, match="called twice"):
        noisy.first_step()
    noisy.second_step()
    with pytest.raises(RuntimeError, match="without a perturbation since the last step"):
        noisy.step()  # the perturbation was used by second_step's step

    def failing_closure():
        raise KeyError("the loss fails")

    after_one = [p.detach().clone() for p in net.parameters()]
    with pytest.raises(KeyError):
        noisy.step(failing_closure)
    assert all(torch.equal(p, a) for p, a in zip(net.parameters(), after_one))
    assert not all(torch.equal(p, b) for p, b in zip(net.parameters(), before))
    noisy.step(lambda: micro_loss(net, X, Y).backward())  # usable again


def test_a_learning_rate_scheduler_drives_the_base_optimizer(recwarn):
    net = mlp()
    base = sgd(net.parameters())
    noisy = NoisyOptimizer(base, sigma=SIGMA, seed=0)
    scheduler = torch.optim.lr_scheduler.StepLR(noisy, step_size=1, gamma=0.5)
    for _ in range(3):
        noisy.first_step()
        micro_loss(net, X, Y).backward()
        noisy.second_step(zero_grad=True)
        scheduler.step()
    assert base.param_groups[0]["lr"] == LR / 8
    assert not [w for w in recwarn if "lr_scheduler.step()" in str(w.message)]


def test_the_wrapper_resumes_from_its_state_dict():
    def train(noisy, net, steps):
        def closure():
            noisy.zero_grad()
            micro_loss(net, X, Y).backward()

        for _ in range(steps):
            noisy.step(closure)

    net = mlp()
    noisy = NoisyOptimizer(sgd(net.parameters()), sigma=SIGMA, mode="layer", seed=1)
    train(noisy, net, 3)
    saved_net, state = copy.deepcopy(net.state_dict()), copy.deepcopy(noisy.state_dict())
    train(noisy, net, 4)
    resumed = mlp()
    resumed.load_state_dict(saved_net)
    again = NoisyOptimizer(sgd(resumed.parameters()), sigma=SIGMA, mode="layer", seed=99)
    again.load_state_dict(state)
    scheduler = torch.optim.lr_scheduler.StepLR(again, step_size=1, gamma=1.0)  # after loading
    train(again, resumed, 4)
    scheduler.step()
    assert again.optimizer.param_groups[0]["initial_lr"] == LR  # it set the base's groups
    assert all(torch.equal(a, b) for a, b in zip(net.parameters(), resumed.parameters()))
    with pytest.raises(ValueError, match="another configuration"):
        NoisyOptimizer(sgd(resumed.parameters()), sigma=SIGMA, mode="all").load_state_dict(state)
