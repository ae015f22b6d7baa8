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

The user's guide, with the pitfalls and a complete loop for each form (this context manager,
the optimizer wrapper :class:`noise_injection.NoisyOptimizer`, DDP), is docs/injector.md.

Sigma convention (the experiments' one; the theory sections scale both schemes by sqrt(M)):

- ``mode="layer"``: one parameter tensor ("layer") per step gets i.i.d. N(0, sigma^2) noise;
  the tensor is ``step % M`` (``order="cyclic"``, the authors' experiments) or uniform at
  random (``order="random"``, the theory).
- ``mode="all"``: every parameter tensor gets i.i.d. N(0, sigma^2 / M) noise, so that both
  schemes inject the same expected squared norm per coordinate-sweep (equal regularization).
- ``mode="none"``: nothing is perturbed (plain (S)GD).

M is the number of parameter tensors that can be perturbed (weights, biases and normalization
affine parameters each count), over all param groups together. With param groups, sigma is the
group's own (its ``"sigma"`` entry, else the injector's): a tensor of group g gets std sigma_g
in layer mode, sigma_g / sqrt(M) in all mode, M still counting every group's tensors. Buffers
such as BatchNorm running statistics are never touched.

What is perturbed (:mod:`noise_injection.injection.params`): every distinct tensor given,
once; frozen tensors (``requires_grad=False``) are left out, and not counted in M, unless
``include_frozen=True`` (the paper perturbs the weights that gradient descent trains). The set
is fixed when the injector is built; if it changes later (a tensor frozen or unfrozen, a module
or a param group added), ``perturb`` warns (:class:`InjectorWarning`) and keeps its set.

The noise stream (``stream="sequential"``, the default and the experiments' stream): one seeded
generator on the parameters' device; each block draws ``normal_(0, std)`` tensor by tensor, in
parameter order, into the perturbed tensors' spares; the random layer choice comes from a CPU
generator seeded with the same seed. The noise depends on how many blocks came before, not on
``step``: an extra perturbed evaluation shifts all later noise. ``stream="per_step"`` re-seeds
both generators at each block from (seed, step), so a step's noise depends on the seed and the
step only. ``ranks="per_rank"`` derives the seed from (seed, rank) under torch.distributed; by
default every rank draws the same noise. docs/injector.md gives the details.

Safety: the block cannot be re-entered while a perturbation of the same tensors is active
(from this or another injector): the inner block would perturb the perturbed weights and its
restore would hand back the outer noise, so it raises ``RuntimeError``. An optimizer step
inside the block would update the perturbed copy, which the restore then throws away; an
in-place update of a perturbed parameter (``p.add_``, ``torch.optim`` steps with the default
or ``foreach`` implementation) is detected through the parameter's version counter and raises
``RuntimeError`` after the restore. Writes that bypass the version counter (``p.data.add_``,
``fused=True`` optimizers) cannot be seen; take the optimizer step after the block.

Autograd: on entry and after the restore the perturbed parameters' version counters are
advanced, so a backward through a graph that saved them across the block boundary (a loss
computed inside the block and backpropagated after it, or the reverse) raises autograd's
"modified by an inplace operation" error instead of mixing perturbed and clean weights into a
gradient taken at neither point; and autocast's cache of cast weights is cleared on entry and
exit, so an autocast region spanning the block does not hand back the clean weights' casts.

Exactness and cost: each perturbed tensor gets a spare of the same shape, dtype, device and
memory format (reallocated when the parameter changes them, e.g. ``model.double()`` or
``.to(memory_format=torch.channels_last)``). The perturbed weights w + std * N(0, I) are drawn
into the spare (one pass beyond the Gaussian draw itself; the adds of all perturbed tensors are
one ``torch._foreach_add_``) and the parameter's ``.data`` is swapped with it; on exit the
original tensor is swapped back, untouched, so the restore is bit-exact (undoing by subtraction
is not). The ``nn.Parameter`` objects stay the same, so optimizers, their state and gradients
are unaffected; only the storage behind them changes while the ``with`` block runs, so code
that caches parameter storage addresses (CUDA graphs) must not span the block.
"""

from __future__ import annotations

import contextlib
import math
import warnings
from collections.abc import Callable, Iterable, Iterator

import torch

from noise_injection.injection.params import named, perturbed_ids, select
from noise_injection.injection.seeds import current_rank, derive_seed

MODES = ("none", "all", "layer")
ORDERS = ("cyclic", "random")
STREAMS = ("sequential", "per_step")
RANKS = ("same", "per_rank")

#: ids of the tensors under an active perturbation (any injector), to refuse re-entry.
_ACTIVE: set[int] = set()


class InjectorWarning(UserWarning):
    """A NoiseInjector use that is most likely not what was meant (the message says why)."""


def check_sigma(value, what: str = "sigma"):
    """A schedule (callable) as is, or the value as a float if it is finite and >= 0."""
    if callable(value):
        return value
    sigma = float(value)
    if not math.isfinite(sigma) or sigma < 0:
        raise ValueError(f"{what} must be a finite number >= 0, got {sigma}")
    return sigma


def _invalidate(tensors: list[torch.Tensor]) -> None:
    """Make autograd refuse graphs that saved ``tensors`` before now (their version counters
    advance) and drop autocast's cached casts (they may be casts of other weights)."""
    if tensors:
        torch.autograd.graph.increment_version(tensors)
    torch.clear_autocast_cache()


class NoiseInjector:
    """Gaussian weight perturbation with an exact restore, for any training loop.

    Args:
        params: a module, a tensor, an iterable of tensors or of ``(name, tensor)`` pairs, or
            optimizer-style param groups (dicts with ``"params"`` and optionally ``"sigma"``),
            e.g. ``optimizer.param_groups`` (:mod:`noise_injection.injection.params`).
        sigma: layer-wise standard deviation: a number >= 0, or a schedule, a callable
            ``step -> sigma`` (a pure function of the step, checked when set, at the next
            step, and at every step). ``mode="layer"``: std sigma on the one perturbed tensor;
            ``mode="all"``: std sigma / sqrt(M) on every tensor, M = number of perturbed
            tensors over all groups. A group's own ``"sigma"`` replaces it for that group.
        mode: "none", "all" or "layer".
        order: in layer mode, "cyclic" (tensor ``step % M``) or "random" (uniform).
        seed: seeds the noise stream, on the parameters' device.
        generator: alternatively, a ``torch.Generator`` to draw from (on the parameters'
            device); ``seed`` must then be None (not with per-step or per-rank streams).
        include_frozen: also perturb (and count in M) tensors with ``requires_grad=False``.
        stream: "sequential" (one stream, consumed by every block) or "per_step" (noise keyed
            by (seed, step): the same step gives the same noise, extra blocks shift nothing).
        ranks: under ``torch.distributed``, "same" (every rank draws the same noise) or
            "per_rank" (the seed is derived from (seed, rank): independent noise per rank).

    Attributes:
        num_groups: M, the number of distinct parameter tensors perturbed (the name predates
            param groups: it counts tensors).
        names: each perturbed tensor's name ('' where none was given).
        last_group: index of the tensor perturbed at the last step (layer mode), -1 for all
            tensors (all mode), None before the first step and in mode "none".
        next_step: the step that ``perturb()`` without a step uses: one more than the last
            step seen, 0 at first.
        rank: this process's rank with ``ranks="per_rank"``, else None.
    """

    def __init__(
        self,
        params,
        sigma: float | Callable[[int], float],
        mode: str = "layer",
        order: str = "cyclic",
        seed: int | None = 0,
        generator: torch.Generator | None = None,
        include_frozen: bool = False,
        *,
        stream: str = "sequential",
        ranks: str = "same",
    ):
        for name, value, allowed in (("mode", mode, MODES), ("order", order, ORDERS),
                                     ("stream", stream, STREAMS), ("ranks", ranks, RANKS)):
            if value not in allowed:
                raise ValueError(f"{name} must be one of {allowed}, got {value!r}")
        if generator is not None and seed is not None:
            raise ValueError("give either seed or generator, not both")
        if generator is not None and (stream, ranks) != ("sequential", "same"):
            raise ValueError(f"stream={stream!r}, ranks={ranks!r} derive seeds from seed: "
                             "give seed, not generator")
        selection = select(params, include_frozen)
        self.params = selection.tensors
        self.names = selection.names
        self.num_groups = len(self.params)
        self.mode, self.order, self.stream, self.ranks = mode, order, stream, ranks
        self._group_of = selection.group_of
        self._group_sigmas = [None if s is None else check_sigma(s, f"sigma of param group {k}")
                              for k, s in enumerate(selection.group_sigmas)]
        self._source, self._include_frozen = selection.source, include_frozen
        self._seen_ids = tuple(map(id, self.params))  # the source's set at the last check
        self.last_group: int | None = None
        self.next_step = 0
        self._repeats = (None, 0)  # (last step, consecutive blocks at it)
        self.rank = current_rank() if ranks == "per_rank" else None
        self._seed = 0 if seed is None else int(seed)
        device = self.params[0].device
        if generator is None:
            generator = torch.Generator(device=device)
            generator.manual_seed(self._seed if self.rank is None
                                  else derive_seed(self._seed, self.rank))
        elif generator.device.type != device.type:
            raise ValueError(
                f"generator is on {generator.device}, parameters on {device}: they must match"
            )
        self.generator = generator
        self._stream_seed = generator.initial_seed()
        # The random layer choice is drawn on the host (no device sync per step) from a CPU
        # stream seeded with the same seed as the noise stream.
        self._index_generator = torch.Generator().manual_seed(generator.initial_seed())
        self._spares: list[torch.Tensor | None] = [None] * self.num_groups
        self.sigma = sigma

    # -- sigma ---------------------------------------------------------------------------------
    @property
    def sigma(self):
        """The injector's sigma (a number or a schedule ``step -> sigma``); setting it checks
        the value at once (a schedule at ``next_step``)."""
        return self._sigma

    @sigma.setter
    def sigma(self, value) -> None:
        value = check_sigma(value)
        values = self._values(self._sigmas(value), self.next_step)  # a schedule checked now
        self._sigma = value
        scheduled = any(callable(s) for s in self._sigmas(value))
        self._fixed_stds = None if scheduled else self._stds_of(values)

    def _sigmas(self, sigma) -> list:
        """Each group's sigma (number or schedule): its own, else ``sigma``."""
        return [sigma if s is None else s for s in self._group_sigmas]

    @staticmethod
    def _values(sigmas: list, step: int) -> list[float]:
        """The sigmas at ``step``, schedules evaluated and checked."""
        return [check_sigma(s(step), f"sigma schedule at step {step}") if callable(s) else s
                for s in sigmas]

    def _stds_of(self, sigmas: list[float]) -> list[float]:
        """Per-tensor stds from per-group sigmas (the sigma convention)."""
        if self.mode == "none":
            return [0.0] * self.num_groups
        if self.mode == "all":
            sigmas = [s / math.sqrt(self.num_groups) for s in sigmas]
        return [sigmas[k] for k in self._group_of]

    def stds(self, step: int | None = None) -> list[float]:
        """The per-coordinate noise std of each perturbed tensor at ``step`` (``next_step``
        when omitted): sigma_g in layer mode, sigma_g / sqrt(M) in all mode, 0 in none."""
        if self._fixed_stds is not None:
            return self._fixed_stds
        step = self.next_step if step is None else int(step)
        return self._stds_of(self._values(self._sigmas(self._sigma), step))

    @property
    def std_per_tensor(self) -> float:
        """The noise std of every perturbed tensor, for an injector whose tensors all have the
        same constant one (else ``ValueError``: see :meth:`stds`)."""
        if self._fixed_stds is None or len(set(self._fixed_stds)) > 1:
            raise ValueError("the noise std differs between param groups or steps: use stds()")
        return self._fixed_stds[0]

    # -- which tensors, which step -------------------------------------------------------------
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

    def _begin_step(self, step: int) -> None:
        """Count a new block at ``step``; warn on a cyclic layer order stuck at one step and on
        a changed trainable set; re-seed a per-step stream."""
        if self.stream == "per_step" and step < 0:
            raise ValueError(f"stream='per_step' needs a step >= 0, got {step}")
        self.next_step = step + 1
        last, count = self._repeats
        self._repeats = (step, count + 1 if step == last else 1)
        if (self._repeats[1] == self.num_groups > 1 and self.mode == "layer"
                and self.order == "cyclic"):
            warnings.warn(f"perturb({step}) called for {self.num_groups} consecutive blocks in "
                          f"cyclic layer order: only tensor {step % self.num_groups} is ever "
                          "perturbed; pass the training step, or no step to use the "
                          "injector's counter", InjectorWarning, stacklevel=4)
        now = perturbed_ids(self._source, self._include_frozen)
        if now != self._seen_ids:
            self._seen_ids = now
            if now != tuple(map(id, self.params)):
                self._warn_changed_set(now)
        if self.stream == "per_step":
            seed = derive_seed(self._stream_seed, step)
            self.generator.manual_seed(seed)
            self._index_generator.manual_seed(seed)

    def _warn_changed_set(self, now: tuple[int, ...]) -> None:
        names, now_set, mine = named(self._source), set(now), set(map(id, self.params))
        added = [names.get(i) or "?" for i in now if i not in mine]
        dropped = [name or str(k) for k, (p, name) in enumerate(zip(self.params, self.names))
                   if id(p) not in now_set]
        warnings.warn(
            f"the trainable tensors changed since this NoiseInjector was built (now trainable "
            f"and not perturbed: {added or 'none'}; perturbed but no longer trainable or "
            f"present: {dropped or 'none'}); it keeps perturbing its {self.num_groups} tensors "
            "with this M: build a new NoiseInjector to follow the change",
            InjectorWarning, stacklevel=5)

    def _spare(self, i: int) -> torch.Tensor:
        """Tensor i's spare, reallocated when the parameter's dtype, device, shape or layout
        has changed since (``model.double()``, ``.to(memory_format=...)``)."""
        p, spare = self.params[i], self._spares[i]
        if (spare is None or spare.dtype != p.dtype or spare.device != p.device
                or spare.shape != p.shape or spare.stride() != p.stride()):
            if p.device.type != self.generator.device.type:
                raise RuntimeError(f"parameter {self.names[i] or i} is on {p.device}, the "
                                   f"injector's generator on {self.generator.device}: build "
                                   "the injector after moving the model")
            spare = self._spares[i] = torch.empty_like(p)
        return spare

    # -- the block -----------------------------------------------------------------------------
    @contextlib.contextmanager
    def perturb(self, step: int | None = None) -> Iterator[list[int]]:
        """Perturb the weights in place for the body of the ``with`` block, then restore them
        bit for bit, in reverse order (also when the body raises). Yields the perturbed tensor
        indices. Layer mode: tensor ``step % M`` (cyclic) or a uniform one (random) gets std
        sigma; all mode: every tensor gets std sigma / sqrt(M); a group's own sigma replaces
        sigma for its tensors. Take the backward pass inside the block: a graph built inside
        and backpropagated after it (or the reverse) raises autograd's in-place error.

        Args:
            step: the training step (cyclic order: tensor ``step % M``; per-step stream: the
                noise's key); omitted, the injector's counter ``next_step``.

        Raises:
            RuntimeError: on entry, when any of these tensors is already perturbed by an active
                block; on exit (after the restore), when a perturbed parameter was updated in
                place inside the block (an optimizer step there would be lost).
        """
        if any(id(p) in _ACTIVE for p in self.params):
            raise RuntimeError("NoiseInjector.perturb re-entered: some of its tensors are "
                               "already perturbed by an active perturb() block; leave that "
                               "block first")
        step = self.next_step if step is None else int(step)
        stds = self.stds(step)  # a schedule is checked before anything changes
        self._begin_step(step)
        groups = self.groups_for_step(step)
        if self.mode == "none":
            self.last_group = None
        else:
            self.last_group = groups[0] if self.mode == "layer" else -1
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
                for i, spare in zip(groups, spares):
                    spare.normal_(0.0, stds[i], generator=self.generator)
                if spares:
                    torch._foreach_add_(spares, [self.params[i].data for i in groups])
                for i, spare in zip(groups, spares):
                    p = self.params[i]
                    originals[i] = p.data
                    p.data = spare
                    _ACTIVE.add(id(p))
                _invalidate([self.params[i] for i in originals])
                versions = {i: self.params[i]._version for i in originals}
            yield groups
            updated = [i for i, v in versions.items() if self.params[i]._version != v]
        finally:
            for i in reversed(originals):
                p = self.params[i]
                self._spares[i] = p.data
                p.data = originals[i]
                _ACTIVE.discard(id(p))
            _invalidate([self.params[i] for i in originals])
        if updated:
            raise RuntimeError(
                f"parameter tensor(s) {updated} were updated in place inside perturb(): the "
                "update was applied to the perturbed copy and is lost with the restore; call "
                "optimizer.step() after the with block")

    # -- checkpoints ---------------------------------------------------------------------------
    def _config(self) -> dict:
        """What a saved state must agree on to be loaded here (None: not compared)."""
        return {
            "mode": self.mode, "order": self.order, "num_tensors": self.num_groups,
            "shapes": [list(p.shape) for p in self.params],
            "sigmas": [None if callable(s) else s for s in self._sigmas(self._sigma)],
            "stream": self.stream, "ranks": self.ranks,
            # a per-step stream is its seed; a per-rank sequential one is this rank's
            "seed": self._seed if self.stream == "per_step" else None,
            "rank": self.rank if self.stream == "sequential" else None,
        }

    def state_dict(self) -> dict:
        """Generator states, step counter and configuration, for bit-exact resume."""
        return {
            "noise_generator": self.generator.get_state(),
            "index_generator": self._index_generator.get_state(),
            "last_group": self.last_group,
            "next_step": self.next_step,
            "config": self._config(),
        }

    def load_state_dict(self, state: dict) -> None:
        """Load a :meth:`state_dict`. Refused (``ValueError``, nothing loaded) when it was
        saved with another configuration: mode, order, M, tensor shapes, sigmas (numbers
        only: schedules cannot be compared), stream, ranks, and the seed of a per-step stream
        or the rank of a per-rank sequential one. A state without configuration (written
        before it was recorded) is loaded unchecked; ``next_step`` is then left as it is."""
        if "config" in state:
            mismatch = [f"{key}: saved {state['config'].get(key)!r}, here {mine!r}"
                        for key, mine in self._config().items()
                        if not _agrees(key, state["config"].get(key), mine)]
            if mismatch:
                raise ValueError("injector state saved with another configuration ("
                                 + "; ".join(mismatch) + ")")
            self.next_step = state["next_step"]
        self.generator.set_state(state["noise_generator"])
        self._index_generator.set_state(state["index_generator"])
        self.last_group = state["last_group"]

    def __repr__(self) -> str:
        groups = (f", group sigmas={self._group_sigmas}"
                  if any(s is not None for s in self._group_sigmas) else "")
        return (f"NoiseInjector(M={self.num_groups}, sigma={self._sigma!r}, mode={self.mode!r}, "
                f"order={self.order!r}{groups}, stream={self.stream!r}, ranks={self.ranks!r}, "
                f"next_step={self.next_step})")


def _agrees(key: str, saved, mine) -> bool:
    if key == "sigmas" and isinstance(saved, list) and len(saved) == len(mine):
        return all(a is None or b is None or a == b for a, b in zip(saved, mine))
    return saved == mine


def count_parameter_tensors(params: Iterable[torch.Tensor] | torch.nn.Module,
                            include_frozen: bool = False) -> int:
    """M, the number of distinct parameter tensors (the 'layers' of layer-wise noise), frozen
    ones only with ``include_frozen``."""
    return len(select(params, include_frozen).tensors)
