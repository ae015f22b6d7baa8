"""Hutchinson estimate of the trace of the training-loss Hessian, whole net and per tensor.

For the loss R(w) (mean over the given examples) and Rademacher probes v (entries +-1,
independent), E[v^T H v] = tr H. Split v = (v_1, ..., v_M) by parameter tensor: the same
Hessian-vector product gives E[v_i^T (H v)_i] = tr H_ii, the trace of tensor i's diagonal
block, and the whole-net estimate is the sum of the per-tensor ones. Hessian-vector products
use double backward (H v = gradient of <grad R, v>). The model is put in eval mode (BatchNorm
uses its running statistics, no dropout) and its previous mode is restored afterwards;
parameters' ``.grad`` is untouched.
"""

from __future__ import annotations

import torch


def _rademacher(shape, generator: torch.Generator, device) -> torch.Tensor:
    return torch.randint(0, 2, shape, generator=generator, device=device, dtype=torch.int8) * 2 - 1


def hutchinson_trace(model: torch.nn.Module, loss_fn, x: torch.Tensor, y: torch.Tensor,
                     n_probes: int, generator: torch.Generator,
                     batch_size: int | None = None) -> tuple[float, list[float]]:
    """Hutchinson estimate of tr Hess R(w), R = ``loss_fn(model(x), y)`` (a mean over the
    examples), w = all parameters that require grad.

    Args:
        n_probes: number of Rademacher probe vectors, drawn from ``generator`` (which must
            live on the parameters' device).
        batch_size: evaluate the loss in chunks of this many examples (memory), combined with
            weights chunk_size / N so that the Hessian is that of the mean over all of ``x``;
            None: one chunk. The probes are the same for all chunks.

    Returns:
        (trace estimate, [estimate of tr H_ii for each parameter tensor i]), both averaged
        over the probes; the first is the sum of the second.
    """
    if n_probes < 1:
        raise ValueError(f"n_probes must be >= 1, got {n_probes}")
    params = [p for p in model.parameters() if p.requires_grad]
    probes = [[_rademacher(p.shape, generator, p.device) for p in params]
              for _ in range(n_probes)]
    n = len(x)
    chunk = n if batch_size is None else int(batch_size)
    device = params[0].device
    per_tensor = torch.zeros(len(params), dtype=torch.float64, device=device)
    was_training = model.training
    model.eval()
    try:
        for start in range(0, n, chunk):
            xb, yb = x[start:start + chunk], y[start:start + chunk]
            weight = len(xb) / n
            grads = torch.autograd.grad(loss_fn(model(xb), yb), params, create_graph=True)
            # a gradient without a graph is constant in w: its Hessian rows are zero
            rows = [i for i, g in enumerate(grads) if g.requires_grad]
            if not rows:
                continue
            for k, probe in enumerate(probes):
                # H v as the gradient of the scalar <grad R, v> (v constant); the same numbers
                # as grad_outputs=v, without torch importing its symbolic-shape machinery
                # (sympy, ~0.9 s per process) to check grad_outputs' shapes
                grad_dot_probe = sum(torch.sum(grads[i] * probe[i]) for i in rows)
                hvs = torch.autograd.grad(
                    grad_dot_probe, params, retain_graph=k + 1 < n_probes, allow_unused=True,
                    materialize_grads=True)
                per_tensor += weight * torch.stack(
                    [torch.sum(v * hv, dtype=torch.float64) for v, hv in zip(probe, hvs)])
    finally:
        model.train(was_training)
    per_tensor = per_tensor.cpu()
    per_tensor /= n_probes
    return float(per_tensor.sum()), per_tensor.tolist()
