"""The injector's exact-restore promise for every input: duplicate tensors, re-entry, frozen
parameters, an optimizer step inside the block, and a property test of the bit-exact restore
over random shapes, dtypes, memory formats and modes."""

import contextlib
import math

import pytest
import torch

from noise_injection import NoiseInjector, count_parameter_tensors


def clones(tensors):
    return [t.detach().clone() for t in tensors]


def assert_bit_equal(xs, ys):
    for x, y in zip(xs, ys, strict=True):
        assert torch.equal(x, y)


def test_a_tensor_given_twice_is_perturbed_once_and_restored_exactly():
    w = torch.nn.Parameter(torch.randn(50, 40))
    b = torch.nn.Parameter(torch.randn(40))
    before = clones([w, b])
    injector = NoiseInjector([w, b, w], sigma=0.5, mode="all", seed=0)
    assert injector.num_groups == 2 and count_parameter_tensors([w, b, w]) == 2
    with injector.perturb(0) as groups:
        assert groups == [0, 1]
        noise = (w.detach() - before[0]).double()
        # one draw of std sigma / sqrt(M) with M = 2, not two draws (std sigma)
        assert float(noise.std()) == pytest.approx(0.5 / math.sqrt(2), rel=0.05)
    assert_bit_equal([w, b], before)


def test_reentering_perturb_raises_and_keeps_the_outer_block_exact():
    net = torch.nn.Sequential(torch.nn.Linear(6, 5), torch.nn.Linear(5, 2))
    before = clones(net.parameters())
    outer = NoiseInjector(net, sigma=0.3, mode="all", seed=0)
    other = NoiseInjector(net[0].weight, sigma=0.3, mode="layer", seed=1)
    with outer.perturb(0):
        perturbed = clones(net.parameters())
        for injector in (outer, other):
            with pytest.raises(RuntimeError, match="re-entered"):
                with injector.perturb(1):
                    pass
        assert_bit_equal(net.parameters(), perturbed)
    assert_bit_equal(net.parameters(), before)
    with other.perturb(0):  # usable again once the outer block has ended
        pass
    assert_bit_equal(net.parameters(), before)


def frozen_net():
    torch.manual_seed(0)
    net = torch.nn.Sequential(torch.nn.Linear(8, 6), torch.nn.ReLU(), torch.nn.Linear(6, 3))
    net[0].requires_grad_(False)
    return net


def test_frozen_parameters_are_left_out_and_not_counted():
    net = frozen_net()
    frozen, trained = clones(net[0].parameters()), clones(net[2].parameters())
    injector = NoiseInjector(net, sigma=1.0, mode="all", seed=0)
    assert injector.num_groups == 2 and count_parameter_tensors(net) == 2
    assert injector.std_per_tensor == pytest.approx(1.0 / math.sqrt(2))
    for step in range(4):
        with injector.perturb(step):
            assert_bit_equal(net[0].parameters(), frozen)
            assert not torch.equal(net[2].weight, trained[0])


def test_include_frozen_perturbs_and_counts_them():
    net = frozen_net()
    frozen = clones(net[0].parameters())
    injector = NoiseInjector(net, sigma=1.0, mode="all", seed=0, include_frozen=True)
    assert injector.num_groups == 4 and count_parameter_tensors(net, include_frozen=True) == 4
    with injector.perturb(0):
        assert not torch.equal(net[0].weight, frozen[0])
    assert_bit_equal(net[0].parameters(), frozen)


def test_only_frozen_tensors_is_a_clear_error():
    with pytest.raises(ValueError, match="include_frozen=True"):
        NoiseInjector([torch.zeros(3)], sigma=0.1)


@pytest.mark.parametrize("make_optimizer", [
    lambda ps: torch.optim.SGD(ps, lr=0.1, momentum=0.9),
    lambda ps: torch.optim.SGD(ps, lr=0.1, foreach=True),
    lambda ps: torch.optim.Adam(ps, lr=0.1),
], ids=["sgd", "sgd-foreach", "adam"])
@pytest.mark.parametrize("mode", ["all", "layer"])
def test_optimizer_step_inside_the_block_is_refused(make_optimizer, mode):
    torch.manual_seed(0)
    net = torch.nn.Linear(4, 3)
    before = clones(net.parameters())
    optimizer = make_optimizer(net.parameters())
    injector = NoiseInjector(net, sigma=0.1, mode=mode, seed=0)
    with pytest.raises(RuntimeError, match="optimizer.step"):
        with injector.perturb(0):
            net(torch.randn(5, 4)).square().sum().backward()
            optimizer.step()
    # the refused update is not half applied: the perturbed tensors are back at their clean
    # values (in layer mode the other tensor did take the step, as the error says nothing
    # about tensors that were not perturbed)
    perturbed = range(2) if mode == "all" else [0]
    for i in perturbed:
        assert torch.equal(list(net.parameters())[i], before[i])


def test_optimizer_step_after_the_block_is_fine():
    net = torch.nn.Linear(4, 3)
    optimizer = torch.optim.SGD(net.parameters(), lr=0.1)
    injector = NoiseInjector(net, sigma=0.1, mode="all", seed=0)
    for step in range(3):
        with injector.perturb(step):
            net(torch.randn(5, 4)).square().sum().backward()
        optimizer.step()


DTYPES = (torch.float32, torch.float64, torch.bfloat16)


def random_tensors(gen):
    """2-7 parameters of random rank (0-4), shape, dtype and memory format, some repeated."""
    out = []
    for _ in range(int(torch.randint(2, 8, (1,), generator=gen))):
        rank = int(torch.randint(0, 5, (1,), generator=gen))
        shape = [int(n) for n in torch.randint(1, 6, (rank,), generator=gen)]
        dtype = DTYPES[int(torch.randint(len(DTYPES), (1,), generator=gen))]
        t = torch.randn(shape, generator=gen).to(dtype)
        if rank == 4 and int(torch.randint(2, (1,), generator=gen)):
            t = t.contiguous(memory_format=torch.channels_last)
        elif rank >= 2 and int(torch.randint(2, (1,), generator=gen)):
            t = t.transpose(0, 1)  # a non-contiguous layout
        out.append(torch.nn.Parameter(t))
    return out + out[: int(torch.randint(0, 3, (1,), generator=gen))]


@pytest.mark.parametrize("case", range(40))
def test_restore_is_bit_exact_for_random_shapes_dtypes_layouts_and_modes(case):
    gen = torch.Generator().manual_seed(case)
    params = random_tensors(gen)
    before = clones(params)
    strides = [p.stride() for p in params]
    mode = ("all", "layer", "none")[case % 3]
    order = ("cyclic", "random")[(case // 3) % 2]
    injector = NoiseInjector(params, sigma=0.7, mode=mode, order=order, seed=case)
    for step in range(7):
        with pytest.raises(KeyError) if step == 3 else contextlib.nullcontext():
            with injector.perturb(step) as groups:
                for i in groups:
                    p = injector.params[i]
                    clean = before[[id(q) for q in params].index(id(p))]
                    assert p.dtype == clean.dtype and not torch.equal(p, clean)
                if step == 3:
                    raise KeyError("the body fails")
        assert_bit_equal(params, before)
        assert [p.stride() for p in params] == strides

