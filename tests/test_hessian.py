"""Hutchinson trace against exact Hessians: a quadratic model (exact with one probe when the
Hessian is diagonal, bounded by the off-diagonal mass otherwise) and a small ReLU network
(within Monte-Carlo error computed from its exact Hessian), whole net and per tensor."""

import copy
import math
from pathlib import Path

import pytest
import torch
import yaml
from torch.func import functional_call
from torch.nn import functional as F

from noise_injection.networks.hessian import hutchinson_trace
from noise_injection.networks.nets import build_model
from noise_injection.workflow.config import validate_config

pytestmark = pytest.mark.usefixtures("one_thread")

ROOT = Path(__file__).resolve().parents[1]


def exact_hessian(model, loss_fn, x, y) -> tuple[torch.Tensor, list[slice]]:
    """Full Hessian of the loss w.r.t. the flattened parameters (in the model's current
    mode), and the slice of each parameter tensor in the flat vector."""
    names = [n for n, _ in model.named_parameters()]
    shapes = [p.shape for p in model.parameters()]
    sizes = [p.numel() for p in model.parameters()]
    flat = torch.cat([p.detach().flatten() for p in model.parameters()])

    def loss_of(theta):
        chunks = torch.split(theta, sizes)
        params = {n: c.view(s) for n, c, s in zip(names, chunks, shapes)}
        return loss_fn(functional_call(model, params, (x,)), y)

    hess = torch.autograd.functional.hessian(loss_of, flat)
    offsets = [0, *torch.cumsum(torch.tensor(sizes), 0).tolist()]
    return hess, [slice(a, b) for a, b in zip(offsets[:-1], offsets[1:])]


def generator(seed=0):
    return torch.Generator().manual_seed(seed)


def quadratic_problem(n=64, d=5, coupling=0.0):
    """Linear regression with MSE: Hessian = (2/n) [X 1]^T [X 1], constant in w.
    Columns of X: orthogonal, zero mean, norms sqrt(n) * (1..d) (diagonal Hessian) plus
    ``coupling`` times column 0 added to column 1 (controlled off-diagonal entries)."""
    g = generator(1)
    basis = torch.randn(n, d + 1, generator=g, dtype=torch.float64)
    basis[:, 0] = 1.0
    q, _ = torch.linalg.qr(basis)
    x = q[:, 1:] * math.sqrt(n) * torch.arange(1, d + 1, dtype=torch.float64)
    x[:, 1] += coupling * x[:, 0]
    y = torch.randn(n, 1, generator=g, dtype=torch.float64)
    torch.manual_seed(0)
    model = torch.nn.Linear(d, 1).double()
    return model, x, y


def test_quadratic_with_diagonal_hessian_is_exact_with_one_probe():
    model, x, y = quadratic_problem()
    hess, blocks = exact_hessian(model, F.mse_loss, x, y)
    assert torch.allclose(hess, torch.diag(torch.diagonal(hess)), atol=1e-10)
    total, per_tensor = hutchinson_trace(model, F.mse_loss, x, y, n_probes=1,
                                         generator=generator())
    # weights: (2/n) ||x_j||^2 = 2 j^2, bias: 2
    assert per_tensor == pytest.approx([2 * sum(j * j for j in range(1, 6)), 2.0], rel=1e-12)
    assert total == pytest.approx(float(torch.trace(hess)), rel=1e-12)


def test_quadratic_off_diagonal_error_is_bounded_by_off_diagonal_mass():
    model, x, y = quadratic_problem(coupling=0.5)
    hess, _ = exact_hessian(model, F.mse_loss, x, y)
    off_diagonal = hess - torch.diag(torch.diagonal(hess))
    assert float(off_diagonal.abs().sum()) > 1.0  # the coupling is really there
    for seed in range(5):
        total, _ = hutchinson_trace(model, F.mse_loss, x, y, n_probes=1,
                                    generator=generator(seed))
        # one probe: v^T H v = tr H + sum_{i != j} H_ij v_i v_j
        assert abs(total - float(torch.trace(hess))) <= float(off_diagonal.abs().sum()) + 1e-9
        assert abs(total - float(torch.trace(hess))) > 1e-6  # and the probe does feel it


def small_relu_net():
    torch.manual_seed(3)
    model = build_model("mlp", (1, 2, 3), 3, widths=[5]).double()
    g = generator(4)
    x = torch.randn(40, 1, 2, 3, generator=g, dtype=torch.float64)
    y = torch.randint(0, 3, (40,), generator=g)
    return model, x, y


def hutchinson_standard_errors(hess, blocks, n_probes):
    """Exact standard error of the probe mean, per tensor and whole net. For one probe,
    Var(v^T H v) = 2 sum_{a != b} H_ab^2 and Var(v_i^T (H v)_i)
    = 2 sum_{a != b in i} H_ab^2 + sum_{a in i, b not in i} H_ab^2."""
    off = hess - torch.diag(torch.diagonal(hess))
    total_var = 2 * float((off**2).sum())
    per_var = []
    for s in blocks:
        within = 2 * float((off[s, s] ** 2).sum())
        across = float((hess[s, :] ** 2).sum() - (hess[s, s] ** 2).sum())
        per_var.append(within + across)
    return math.sqrt(total_var / n_probes), [math.sqrt(v / n_probes) for v in per_var]


def test_small_relu_net_matches_exact_trace_within_monte_carlo_error():
    model, x, y = small_relu_net()
    hess, blocks = exact_hessian(model, F.cross_entropy, x, y)
    exact_blocks = [float(torch.trace(hess[s, s])) for s in blocks]
    n_probes = 2000
    total, per_tensor = hutchinson_trace(model, F.cross_entropy, x, y, n_probes,
                                         generator=generator(5))
    se_total, se_blocks = hutchinson_standard_errors(hess, blocks, n_probes)
    assert len(per_tensor) == 4
    assert total == pytest.approx(sum(per_tensor), rel=1e-12)
    assert abs(total - float(torch.trace(hess))) < 4 * se_total
    for estimate, exact, se in zip(per_tensor, exact_blocks, se_blocks):
        assert abs(estimate - exact) < 4 * se
    # the test has power: the error bars are much smaller than the traces themselves
    assert se_total < 0.05 * abs(float(torch.trace(hess)))


def config_probe_counts() -> list[int]:
    """The probe counts the three scales' experiments use (schema defaults filled in)."""
    counts = set()
    for scale in ("smoke", "config", "paper"):
        config = validate_config(yaml.safe_load((ROOT / "config" / f"{scale}.yaml").read_text()),
                                 ROOT / "config" / "schema.yaml")
        counts |= {e["hessian"]["probes"] for e in config["networks"]["experiments"].values()}
    return sorted(counts - {0})


def softmax_regression():
    """A one-layer net (the mlp family without hidden layers) with cross-entropy: 20 x 3
    weights and 3 biases on 200 Gaussian points; its single-probe standard deviation is
    about 15% of the trace, so a handful of estimates resolves a 1/(n-1) bias."""
    torch.manual_seed(3)
    model = build_model("mlp", (1, 1, 20), 3, widths=[]).double()
    g = generator(4)
    x = torch.randn(200, 1, 1, 20, generator=g, dtype=torch.float64)
    return model, x, torch.randint(0, 3, (200,), generator=g)


@pytest.mark.parametrize("n_probes", config_probe_counts())
def test_average_over_the_configs_probe_counts_is_unbiased(n_probes):
    """The mean of R = 50 estimates with n_probes probes each is within 4 standard errors
    (exact, from the Hessian) of the exact trace, whole net and per tensor; averaging with
    n - 1 instead of n (bias tr H / (n - 1)) would be more than 8 standard errors off."""
    model, x, y = softmax_regression()
    hess, blocks = exact_hessian(model, F.cross_entropy, x, y)
    exact = float(torch.trace(hess))
    exact_blocks = [float(torch.trace(hess[s, s])) for s in blocks]
    repetitions = 50
    gen = generator(10)
    estimates = [hutchinson_trace(model, F.cross_entropy, x, y, n_probes, gen)
                 for _ in range(repetitions)]
    total = sum(e[0] for e in estimates) / repetitions
    per_tensor = [sum(e[1][i] for e in estimates) / repetitions for i in range(len(blocks))]
    se_total, se_blocks = hutchinson_standard_errors(hess, blocks, n_probes * repetitions)
    assert abs(total - exact) < 4 * se_total, (total, exact, se_total)
    for estimate, block, se in zip(per_tensor, exact_blocks, se_blocks):
        assert abs(estimate - block) < 4 * se, (estimate, block, se)
    if n_probes > 1:
        assert exact / (n_probes - 1) > 8 * se_total  # power against the n - 1 divisor


def test_chunked_evaluation_equals_one_chunk():
    model, x, y = small_relu_net()
    whole = hutchinson_trace(model, F.cross_entropy, x, y, 7, generator=generator(6))
    chunked = hutchinson_trace(model, F.cross_entropy, x, y, 7, generator=generator(6),
                               batch_size=15)  # chunks of 15, 15, 10
    assert chunked[0] == pytest.approx(whole[0], rel=1e-12)
    assert chunked[1] == pytest.approx(whole[1], rel=1e-12)


def test_eval_mode_is_used_and_the_training_mode_restored():
    torch.manual_seed(7)
    model = torch.nn.Sequential(torch.nn.Linear(3, 4), torch.nn.BatchNorm1d(4),
                                torch.nn.Tanh(), torch.nn.Linear(4, 2)).double()
    g = generator(8)
    x = torch.randn(30, 3, generator=g, dtype=torch.float64)
    y = torch.randint(0, 2, (30,), generator=g)
    with torch.no_grad():  # non-trivial running statistics, so train and eval mode differ
        model[1].running_mean.uniform_(-1, 1, generator=g)
        model[1].running_var.uniform_(0.5, 2, generator=g)
    twin = copy.deepcopy(model).eval()
    hess_eval, _ = exact_hessian(twin, F.cross_entropy, x, y)
    hess_train, _ = exact_hessian(copy.deepcopy(model).train(), F.cross_entropy, x, y)
    assert abs(float(torch.trace(hess_train) - torch.trace(hess_eval))) > 0.1
    running = [b.clone() for b in model.buffers()]

    model.train()
    in_train_mode = hutchinson_trace(model, F.cross_entropy, x, y, 5, generator=generator(9))
    in_eval_mode = hutchinson_trace(twin, F.cross_entropy, x, y, 5, generator=generator(9))
    assert in_train_mode == in_eval_mode  # same probes, so bit for bit
    assert model.training and not twin.training
    assert all(torch.equal(b, r) for b, r in zip(model.buffers(), running))
    assert all(p.grad is None for p in model.parameters())
