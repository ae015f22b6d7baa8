"""The noise stream, pinned against the documented recipe written out here (never against the
injector itself), and the state that resumes it.

Today's stream (the one the shipped results were trained with; stream="sequential"): a
``torch.Generator`` seeded with ``seed`` draws, at every block, ``normal_(0, std)`` into a
tensor of each perturbed parameter's shape, tensor by tensor in parameter order; the perturbed
value is that draw plus the clean weight. Layer mode perturbs tensor ``step % M`` (cyclic) or
``randint(M)`` drawn from a second, CPU generator seeded with the same seed (random); std is
sigma (layer) or sigma / sqrt(M) (all). stream="per_step" re-seeds both generators at each
block with SeedSequence((seed, step))'s first uint64 word shifted right by one.
"""

import io
import math

import numpy as np
import pytest
import torch

from noise_injection import InjectorWarning, NoiseInjector

pytestmark = pytest.mark.usefixtures("one_thread")

SIGMA = 0.3


def tiny_net():
    torch.manual_seed(5)
    return torch.nn.Sequential(torch.nn.Linear(3, 4), torch.nn.Tanh(), torch.nn.Linear(4, 2))


class Recipe:
    """The documented stream: a noise generator and an index generator, seeded by hand."""

    def __init__(self, clean, sigma, mode, order, seed):
        self.clean, self.sigma, self.mode, self.order = clean, sigma, mode, order
        self.noise = torch.Generator().manual_seed(seed)
        self.index = torch.Generator().manual_seed(seed)

    def reseed(self, seed):
        self.noise.manual_seed(seed)
        self.index.manual_seed(seed)

    def tensors(self, step):
        m = len(self.clean)
        if self.mode == "all":
            return list(range(m))
        if self.order == "cyclic":
            return [step % m]
        return [int(torch.randint(m, (1,), generator=self.index))]

    def perturbed(self, step, sigma=None):
        """The weights of the block at ``step``: clean + noise on the tensors it perturbs."""
        sigma = self.sigma if sigma is None else sigma
        std = sigma / math.sqrt(len(self.clean)) if self.mode == "all" else sigma
        out = [c.clone() for c in self.clean]
        for i in self.tensors(step):
            out[i] = torch.empty_like(self.clean[i]).normal_(0.0, std, generator=self.noise) \
                + self.clean[i]
        return out


def blocks(injector, net, steps):
    """The weights seen inside the blocks at ``steps`` (None: the injector's counter)."""
    seen = []
    for step in steps:
        with injector.perturb(step) if step is not None else injector.perturb():
            seen.append([p.detach().clone() for p in net.parameters()])
    return seen


def assert_bit_equal(got, expected):
    for g, e in zip(got, expected, strict=True):
        assert torch.equal(g, e)


@pytest.mark.parametrize("mode,order", [("layer", "cyclic"), ("layer", "random"),
                                        ("all", "cyclic"), ("none", "cyclic")])
def test_the_explicit_step_stream_is_the_documented_one_bit_for_bit(mode, order):
    net = tiny_net()
    clean = [p.detach().clone() for p in net.parameters()]
    injector = NoiseInjector(net, sigma=SIGMA, mode=mode, order=order, seed=11)
    steps = [0, 1, 2, 3, 4, 5, 17, 18]  # the trainer's usage: one block per step
    recipe = Recipe(clean, 0.0 if mode == "none" else SIGMA,
                    "all" if mode == "none" else mode, order, 11)
    for got, step in zip(blocks(injector, net, steps), steps):
        assert_bit_equal(got, recipe.perturbed(step) if mode != "none" else clean)
    assert_bit_equal(net.parameters(), clean)


def test_a_state_written_by_the_previous_injector_still_loads_and_resumes():
    """The state format of the shipped checkpoints: three entries, no configuration."""
    net = tiny_net()
    clean = [p.detach().clone() for p in net.parameters()]
    recipe = Recipe(clean, SIGMA, "layer", "random", 4)
    for step in range(6):  # the run so far, by the recipe
        recipe.perturbed(step)
    old_state = {"noise_generator": recipe.noise.get_state(),
                 "index_generator": recipe.index.get_state(), "last_group": 2}
    buffer = io.BytesIO()
    torch.save({"injector": old_state}, buffer)
    buffer.seek(0)
    loaded = torch.load(buffer, weights_only=True)["injector"]
    injector = NoiseInjector(net, sigma=SIGMA, mode="layer", order="random", seed=0)
    injector.load_state_dict(loaded)
    assert injector.last_group == 2
    for got, step in zip(blocks(injector, net, range(6, 12)), range(6, 12)):
        assert_bit_equal(got, recipe.perturbed(step))


def test_the_counter_stands_in_for_an_omitted_step():
    net = tiny_net()
    clean = [p.detach().clone() for p in net.parameters()]
    injector = NoiseInjector(net, sigma=SIGMA, mode="layer", order="cyclic", seed=1)
    recipe = Recipe(clean, SIGMA, "layer", "cyclic", 1)
    got = blocks(injector, net, [None, None, 7, None, None])
    for g, step in zip(got, [0, 1, 7, 8, 9]):
        assert_bit_equal(g, recipe.perturbed(step))
    assert injector.next_step == 10


def test_a_cyclic_order_stuck_at_one_step_warns(recwarn):
    injector = NoiseInjector(tiny_net(), sigma=SIGMA, mode="layer", order="cyclic")
    m = injector.num_groups
    for _ in range(m - 1):  # a step repeated for fewer blocks than M: accumulation, say
        with injector.perturb(0):
            pass
    assert not [w for w in recwarn if w.category is InjectorWarning]
    with pytest.warns(InjectorWarning, match="only tensor 0 is ever perturbed"):
        with injector.perturb(0):
            pass


def step_seed(seed, step):
    return int(np.random.SeedSequence([seed, step]).generate_state(1, np.uint64)[0] >> 1)


@pytest.mark.parametrize("mode,order", [("all", "cyclic"), ("layer", "random")])
def test_the_per_step_stream_depends_on_the_step_only(mode, order):
    net = tiny_net()
    clean = [p.detach().clone() for p in net.parameters()]
    injector = NoiseInjector(net, sigma=SIGMA, mode=mode, order=order, seed=3,
                             stream="per_step")
    recipe = Recipe(clean, SIGMA, mode, order, 0)
    steps = [0, 1, 99, 2, 2, 3]  # an extra evaluation at 99, step 2 twice
    for got, step in zip(blocks(injector, net, steps), steps):
        recipe.reseed(step_seed(3, step))
        assert_bit_equal(got, recipe.perturbed(step))


def test_a_schedule_sets_sigma_per_step_and_bad_values_are_refused():
    net = tiny_net()
    clean = [p.detach().clone() for p in net.parameters()]
    injector = NoiseInjector(net, sigma=lambda step: 0.1 * (step + 1), mode="all", seed=2)
    recipe = Recipe(clean, None, "all", "cyclic", 2)
    for got, step in zip(blocks(injector, net, [0, 1, 2]), [0, 1, 2]):
        assert_bit_equal(got, recipe.perturbed(step, sigma=0.1 * (step + 1)))
    with pytest.raises(ValueError, match="sigma must be a finite number >= 0, got -1.0"):
        injector.sigma = -1
    with pytest.raises(ValueError, match="schedule at step 3"):  # checked when set
        injector.sigma = lambda step: 1.0 - step / 2
    injector.sigma = lambda step: 1.0 if step < 4 else float("nan")
    with injector.perturb(3):
        pass
    with pytest.raises(ValueError, match="schedule at step 4"):
        with injector.perturb(4):
            pass
    injector.sigma = 0.25  # a number again: in force from the next block
    got = blocks(injector, net, [5])[0]
    recipe.perturbed(3, sigma=1.0)  # the recipe's stream follows the block at step 3
    assert_bit_equal(got, recipe.perturbed(5, sigma=0.25))


def test_state_carries_the_configuration_and_refuses_another():
    net = tiny_net()
    injector = NoiseInjector(net, sigma=SIGMA, mode="layer", order="cyclic", seed=0)
    blocks(injector, net, [None, None])
    buffer = io.BytesIO()
    torch.save(injector.state_dict(), buffer)  # loadable with weights_only, as checkpoints are
    buffer.seek(0)
    state = torch.load(buffer, weights_only=True)
    same = NoiseInjector(net, sigma=SIGMA, mode="layer", order="cyclic", seed=9)
    same.load_state_dict(state)
    assert same.next_step == 2
    others = {"mode": dict(mode="all"), "sigmas": dict(sigma=0.2),
              "order": dict(order="random"), "stream": dict(stream="per_step")}
    for field, change in others.items():
        other = NoiseInjector(net, **(dict(sigma=SIGMA, mode="layer", order="cyclic") | change))
        with pytest.raises(ValueError, match=f"another configuration.*{field}"):
            other.load_state_dict(state)
    fewer = NoiseInjector(list(net.parameters())[:3], sigma=SIGMA, mode="layer")
    with pytest.raises(ValueError, match="num_tensors: saved 4, here 3"):
        fewer.load_state_dict(state)
    scheduled = NoiseInjector(net, sigma=lambda step: SIGMA, mode="layer", order="cyclic")
    scheduled.load_state_dict(state)  # a schedule cannot be compared: not refused


def test_a_per_step_state_refuses_another_seed():
    net = tiny_net()
    state = NoiseInjector(net, sigma=SIGMA, seed=1, stream="per_step").state_dict()
    with pytest.raises(ValueError, match="seed: saved 1, here 2"):
        NoiseInjector(net, sigma=SIGMA, seed=2, stream="per_step").load_state_dict(state)


def test_repr_names_the_configuration():
    net = tiny_net()
    injector = NoiseInjector([{"params": net[0].parameters(), "sigma": 0.5},
                              {"params": net[2].parameters()}], sigma=0.1, mode="all")
    assert repr(injector) == ("NoiseInjector(M=4, sigma=0.1, mode='all', order='cyclic', "
                              "group sigmas=[0.5, None], stream='sequential', ranks='same', "
                              "next_step=0)")
