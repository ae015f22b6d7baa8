"""The noise injector: perturb the weights, take the gradient there, restore them exactly.

One step of perturbed gradient descent (docs/paper.md section 1) is

    w_{k+1} = w_k - lr * grad R(w_k + eps_k)

with the gradient taken at the perturbed weights and the optimizer step applied to the clean
ones. :class:`NoiseInjector` does the "perturb ... restore" part around any backward pass::

    injector = NoiseInjector(model, sigma=0.05, mode="layer", order="cyclic", seed=0)
    for step, (x, y) in enumerate(loader):
        optimizer.zero_grad()
        with injector.perturb(step):
            loss_fn(model(x), y).backward()
        optimizer.step()

Sigma convention (the experiments' one; the theory sections scale both schemes by sqrt(M)):

- ``mode="layer"``: one parameter tensor ("layer") per step gets i.i.d. N(0, sigma^2) noise;
  the tensor is ``step % M`` (``order="cyclic"``, the authors' experiments) or uniform at
  random (``order="random"``, the theory).
- ``mode="all"``: every parameter tensor gets i.i.d. N(0, sigma^2 / M) noise, so that both
  schemes inject the same expected squared norm per coordinate-sweep (equal regularization).
- ``mode="none"``: nothing is perturbed (plain (S)GD).

M is the number of parameter tensors that can be perturbed (weights, biases and normalization
affine parameters each count). Buffers such as BatchNorm running statistics are never touched.

What is perturbed: every distinct tensor given, each once. A tensor listed twice counts once
(merged by identity), so M is the number of distinct tensors. Frozen tensors
(``requires_grad=False``) are left out by default: the paper perturbs the weights that gradient
descent trains, so they are neither perturbed nor counted in M. ``include_frozen=True``
perturbs and counts them too.

Safety: the block cannot be re-entered while a perturbation of the same tensors is active
(from this or another injector): the inner block would perturb the perturbed weights and its
restore would hand back the outer noise, so it raises ``RuntimeError``. An optimizer step
inside the block would update the perturbed copy, which the restore then throws away; an
in-place update of a perturbed parameter (``p.add_``, ``torch.optim`` steps with the default
or ``foreach`` implementation) is detected through the parameter's version counter and raises
``RuntimeError`` after the restore. Writes that bypass the version counter (``p.data.add_``,
``fused=True`` optimizers) cannot be seen; take the optimizer step after the block.

Exactness and cost: each perturbed tensor gets a preallocated spare of the same shape, dtype,
device and memory format. The perturbed weights w + std * N(0, I) are drawn into the spare
(one pass beyond the Gaussian draw itself; the adds of all perturbed tensors are one
``torch._foreach_add_``) and the parameter's ``.data`` is swapped with it;
on exit the original tensor is swapped back, untouched, so the restore is bit-exact (undoing by
subtraction is not). The ``nn.Parameter`` objects stay the same, so optimizers, their state and
gradients are unaffected; only the storage behind them changes while the ``with`` block runs,
so code that caches parameter storage addresses (CUDA graphs) must not span the block.
"""

from __future__ import annotations

import contextlib
import math
from collections.abc import Iterable, Iterator

import torch

MODES = ("none", "all", "layer")
ORDERS = ("cyclic", "random")


#: ids of the tensors under an active perturbation (any injector), to refuse re-entry.
_ACTIVE: set[int] = set()


def _as_tensor_list(params, include_frozen: bool = False) -> list[torch.Tensor]:
    """Materialize a module, a generator of parameters or an iterable of tensors: distinct
    tensors (by identity, first occurrence kept), frozen ones left out unless
    ``include_frozen``."""
    if isinstance(params, torch.nn.Module):
        given = list(params.parameters())
    elif isinstance(params, torch.Tensor):
        given = [params]
    else:
        given = list(params)
    for t in given:
        if not isinstance(t, torch.Tensor):
            raise TypeError(f"NoiseInjector takes tensors or a module, got {type(t).__name__}")
        if not t.is_floating_point():
            raise TypeError(f"cannot perturb a tensor of dtype {t.dtype}: floating point only")
    distinct = list({id(t): t for t in given}.values())
    tensors = [t for t in distinct if include_frozen or t.requires_grad]
    if not tensors:
        frozen = f" ({len(distinct)} frozen, requires_grad=False: pass include_frozen=True " \
                 "to perturb them)" if distinct else ""
        raise ValueError(f"NoiseInjector needs at least one parameter tensor, got none{frozen}")
    return tensors


class NoiseInjector:
    """Gaussian weight perturbation with an exact restore, for any training loop.

    Args:
        params: a module, or an iterable of parameters / tensors (generators are materialized;
            a tensor given twice counts once).
        sigma: layer-wise standard deviation; ``mode="all"`` uses sigma / sqrt(M) per tensor.
        mode: "none", "all" or "layer".
        order: in layer mode, "cyclic" (tensor ``step % M``) or "random" (uniform).
        seed: seeds the run's single noise stream, on the parameters' device.
        generator: alternatively, a ``torch.Generator`` to draw from (on the parameters'
            device); ``seed`` must then be None.
        include_frozen: also perturb (and count in M) tensors with ``requires_grad=False``.

    Attributes:
        num_groups: M, the number of distinct parameter tensors perturbed (frozen ones only
            with ``include_frozen``).
        last_group: index of the tensor perturbed at the last step (layer mode), -1 for all
            tensors (all mode), None before the first step and in mode "none".
    """

    def __init__(
        self,
        params,
        sigma: float,
        mode: str = "layer",
        order: str = "cyclic",
        seed: int | None = 0,
        generator: torch.Generator | None = None,
        include_frozen: bool = False,
    ):
        if mode not in MODES:
            raise ValueError(f"mode must be one of {MODES}, got {mode!r}")
        if order not in ORDERS:
            raise ValueError(f"order must be one of {ORDERS}, got {order!r}")
        sigma = float(sigma)
        if not math.isfinite(sigma) or sigma < 0:
            raise ValueError(f"sigma must be a finite number >= 0, got {sigma}")
        if generator is not None and seed is not None:
            raise ValueError("give either seed or generator, not both")
        self.params = _as_tensor_list(params, include_frozen)
        self.sigma = sigma
        self.mode = mode
        self.order = order
        self.num_groups = len(self.params)
        self.last_group: int | None = None
        device = self.params[0].device
        if generator is None:
            generator = torch.Generator(device=device)
            generator.manual_seed(0 if seed is None else int(seed))
        elif generator.device.type != device.type:
            raise ValueError(
                f"generator is on {generator.device}, parameters on {device}: they must match"
            )
        self.generator = generator
        # The random layer choice is drawn on the host (no device sync per step) from a CPU
        # stream seeded with the same seed as the noise stream.
        self._index_generator = torch.Generator().manual_seed(generator.initial_seed())
        self._spares: list[torch.Tensor | None] = [None] * self.num_groups

    @property
    def std_per_tensor(self) -> float:
        """Per-coordinate noise std of each perturbed tensor in the current mode."""
        if self.mode == "all":
            return self.sigma / math.sqrt(self.num_groups)
        return self.sigma if self.mode == "layer" else 0.0

    def groups_for_step(self, step: int) -> list[int]:
        """Indices of the tensors perturbed at ``step`` (draws from the index stream in
        random order, so call it once per step)."""
        if self.mode == "none":
            return []
        if self.mode == "all":
            return list(range(self.num_groups))
        if self.order == "cyclic":
            return [int(step) % self.num_groups]
        return [int(torch.randint(self.num_groups, (1,), generator=self._index_generator))]

    def _spare(self, i: int) -> torch.Tensor:
        if self._spares[i] is None:
            self._spares[i] = torch.empty_like(self.params[i])
        return self._spares[i]

    @contextlib.contextmanager
    def perturb(self, step: int) -> Iterator[list[int]]:
        """Perturb the weights in place for the body of the ``with`` block, then restore them
        bit for bit, in reverse order (also when the body raises). Yields the perturbed tensor
        indices.

        Raises:
            RuntimeError: on entry, when any of these tensors is already perturbed by an active
                block; on exit (after the restore), when a perturbed parameter was updated in
                place inside the block (an optimizer step there would be lost).
        """
        if any(id(p) in _ACTIVE for p in self.params):
            raise RuntimeError("NoiseInjector.perturb re-entered: some of its tensors are "
                               "already perturbed by an active perturb() block; leave that "
                               "block first")
        groups = self.groups_for_step(step)
        if self.mode == "none":
            self.last_group = None
        else:
            self.last_group = groups[0] if self.mode == "layer" else -1
        std = self.std_per_tensor
        originals: dict[int, torch.Tensor] = {}
        versions: dict[int, int] = {}
        updated: list[int] = []
        try:
            with torch.no_grad():
                spares = [self._spare(i) for i in groups]
                # the draws stay per tensor (torch has no foreach normal_, and one draw into a
                # flat buffer would change the noise stream); the adds are one foreach op.
                # ResNet-18, all-weights mode, torch profiler on a CPU: 62 draws + 1 add
                # instead of 62 + 62 (benchmarks/gpu_resnet18.py --ops-only)
                for spare in spares:
                    spare.normal_(0.0, std, generator=self.generator)
                if spares:
                    torch._foreach_add_(spares, [self.params[i].data for i in groups])
                for i, spare in zip(groups, spares):
                    p = self.params[i]
                    originals[i] = p.data
                    p.data = spare
                    _ACTIVE.add(id(p))
                    versions[i] = p._version
            yield groups
            updated = [i for i, v in versions.items() if self.params[i]._version != v]
        finally:
            for i in reversed(originals):
                p = self.params[i]
                self._spares[i] = p.data
                p.data = originals[i]
                _ACTIVE.discard(id(p))
        if updated:
            raise RuntimeError(
                f"parameter tensor(s) {updated} were updated in place inside perturb(): the "
                "update was applied to the perturbed copy and is lost with the restore; call "
                "optimizer.step() after the with block")

    def state_dict(self) -> dict:
        """Generator states, for bit-exact resume from a checkpoint."""
        return {
            "noise_generator": self.generator.get_state(),
            "index_generator": self._index_generator.get_state(),
            "last_group": self.last_group,
        }

    def load_state_dict(self, state: dict) -> None:
        self.generator.set_state(state["noise_generator"])
        self._index_generator.set_state(state["index_generator"])
        self.last_group = state["last_group"]


def count_parameter_tensors(params: Iterable[torch.Tensor] | torch.nn.Module,
                            include_frozen: bool = False) -> int:
    """M, the number of distinct parameter tensors (the 'layers' of layer-wise noise), frozen
    ones only with ``include_frozen``."""
    return len(_as_tensor_list(params, include_frozen))
