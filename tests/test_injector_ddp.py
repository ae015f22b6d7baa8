"""The injector under DistributedDataParallel: 2 CPU processes over gloo on 127.0.0.1, two SGD
steps, against a single-process oracle. ``ranks="same"``: every rank draws the noise of the
seed, and the averaged gradient is the gradient of the global batch at that one perturbed point
(the single-process algorithm). ``ranks="per_rank"``: rank r draws from the seed derived from
(seed, r) (SeedSequence, first uint64 word shifted right by one), and the averaged gradient is
the mean over ranks of each shard's gradient at its own perturbed point."""

import math
import socket
import time

import numpy as np
import pytest
import torch
import torch.distributed as dist
import torch.multiprocessing as mp
from torch.func import functional_call, grad
from torch.nn import functional as F

from noise_injection import NoiseInjector

WORLD, SEED, SIGMA, LR, STEPS = 2, 7, 0.4, 0.1, 2
TIMEOUT_S = 180

pytestmark = pytest.mark.skipif(
    not (dist.is_available() and dist.is_gloo_available()),
    reason="torch.distributed with the gloo backend is not available in this build")


def mlp():
    torch.manual_seed(0)
    return torch.nn.Sequential(torch.nn.Linear(4, 6), torch.nn.Tanh(), torch.nn.Linear(6, 3))


def shard(rank):
    gen = torch.Generator().manual_seed(100 + rank)
    return torch.randn(5, 4, generator=gen), torch.randint(0, 3, (5,), generator=gen)


def train(rank, ranks):
    """STEPS steps of DDP on this rank's shard: perturbed weights and gradients per step."""
    net = mlp()
    model = torch.nn.parallel.DistributedDataParallel(net)
    injector = NoiseInjector(model, sigma=SIGMA, mode="all", seed=SEED, ranks=ranks)
    optimizer = torch.optim.SGD(model.parameters(), lr=LR)
    x, y = shard(rank)
    record = []
    for step in range(STEPS):
        optimizer.zero_grad()
        with injector.perturb(step):
            perturbed = [p.detach().clone() for p in net.parameters()]
            F.cross_entropy(model(x), y).backward()
        record.append((perturbed, [p.grad.clone() for p in net.parameters()]))
        optimizer.step()
    return {"record": record, "final": [p.detach() for p in net.parameters()],
            "rank": injector.rank}


def worker(rank, port, out):
    torch.set_num_threads(1)
    dist.init_process_group("gloo", init_method=f"tcp://127.0.0.1:{port}", rank=rank,
                            world_size=WORLD)
    try:
        torch.save({ranks: train(rank, ranks) for ranks in ("same", "per_rank")},
                   f"{out}/rank{rank}.pt")
    finally:
        dist.destroy_process_group()


@pytest.fixture(scope="module")
def ddp_results(tmp_path_factory):
    """Both choices of ``ranks``, run by one pair of processes (each start imports torch)."""
    out = tmp_path_factory.mktemp("ddp")
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    context = mp.start_processes(worker, args=(port, str(out)), nprocs=WORLD, join=False,
                                 start_method="spawn")
    deadline = time.monotonic() + TIMEOUT_S
    try:
        # join returns when one process ends (False while others run); it raises if one failed
        while not context.join(timeout=max(deadline - time.monotonic(), 0)):
            if time.monotonic() >= deadline:
                pytest.fail(f"the {WORLD} DDP processes did not finish in {TIMEOUT_S} s")
    finally:
        for process in context.processes:
            if process.is_alive():
                process.terminate()
    return [torch.load(out / f"rank{r}.pt", weights_only=True) for r in range(WORLD)]


def rank_seed(seed, rank):
    return int(np.random.SeedSequence([seed, rank]).generate_state(1, np.uint64)[0] >> 1)


def oracle(ranks):
    """Per step: each rank's perturbed weights and the averaged gradient, one process."""
    net = mlp()
    names = [n for n, _ in net.named_parameters()]
    weights = [p.detach().clone() for p in net.parameters()]
    gens = [torch.Generator().manual_seed(SEED if ranks == "same" else rank_seed(SEED, r))
            for r in range(WORLD)]
    std = SIGMA / math.sqrt(len(weights))
    steps = []
    for _ in range(STEPS):
        perturbed = [[torch.empty_like(w).normal_(0.0, std, generator=g) + w for w in weights]
                     for g in gens]
        grads = []
        for r in range(WORLD):
            x, y = shard(r)
            g = grad(lambda w: F.cross_entropy(functional_call(net, w, (x,)), y))(
                dict(zip(names, perturbed[r])))
            grads.append([g[n] for n in names])
        mean = [sum(gs) / WORLD for gs in zip(*grads)]
        steps.append((perturbed, mean))
        weights = [w - LR * g for w, g in zip(weights, mean)]
    return steps, weights


@pytest.mark.parametrize("ranks", ["same", "per_rank"])
def test_ddp_noise_per_rank_choice_and_averaged_gradient(ranks, ddp_results):
    results = [result[ranks] for result in ddp_results]
    expected_steps, expected_final = oracle(ranks)
    for step, (perturbed, mean) in enumerate(expected_steps):
        for r, result in enumerate(results):
            got_perturbed, got_grads = result["record"][step]
            for got, exp in zip(got_perturbed, perturbed[r], strict=True):
                if step == 0:  # the clean weights are the seeded init: exact
                    assert torch.equal(got, exp)
                torch.testing.assert_close(got, exp, rtol=1e-6, atol=1e-6)
            for got, exp in zip(got_grads, mean, strict=True):
                torch.testing.assert_close(got, exp, rtol=1e-5, atol=1e-6)
        same_noise = all(torch.equal(a, b) for a, b in zip(
            results[0]["record"][step][0], results[1]["record"][step][0]))
        assert same_noise == (ranks == "same")
    for result in results:
        for got, exp in zip(result["final"], expected_final, strict=True):
            torch.testing.assert_close(got, exp, rtol=1e-5, atol=1e-6)
    assert [r["rank"] for r in results] == ([None, None] if ranks == "same" else [0, 1])


def test_per_rank_noise_needs_an_initialized_process_group():
    with pytest.raises(ValueError, match="needs torch.distributed initialized"):
        NoiseInjector(mlp(), sigma=SIGMA, ranks="per_rank")
