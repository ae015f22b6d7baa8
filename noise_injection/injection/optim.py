"""The optimizer-wrapper form of noise injection, for loops that want one call per step.

:class:`NoisyOptimizer` wraps any ``torch.optim.Optimizer`` and a :class:`NoiseInjector` built
on its param groups (a group's ``"sigma"`` entry is that group's sigma). Three ways to use it,
all taking the gradient at the perturbed weights and the base optimizer's step at the clean
ones::

    # 1. torch's closure form (one call per step; what Lightning's automatic optimization does)
    def closure():
        optimizer.zero_grad()
        loss = loss_fn(model(x), y)
        loss.backward()
        return loss
    optimizer.step(closure)

    # 2. SAM's two calls (several backward passes in between: one perturbation per step)
    optimizer.first_step()                     # weights now w + eps
    loss_fn(model(x), y).backward()
    optimizer.second_step(zero_grad=True)      # restore w, base step

    # 3. one perturbation per micro-batch, then a step without closure
    for xm, ym in micro_batches:
        with optimizer.perturb():
            loss_fn(model(xm), ym).backward()
    optimizer.step()

Sigma as :class:`NoiseInjector`: layer mode, std sigma on one tensor per step; all mode, std
sigma / sqrt(M) on every tensor, M = number of perturbed tensors over all param groups; a
group's ``"sigma"`` replaces sigma for its tensors.

``step()`` without a closure and without a perturbation since the last step raises, rather
than silently taking a plain step. Steps are counted by the injector (``perturb()`` without a
step): in cyclic layer order, form 3 moves to the next tensor at every micro-batch.
"""

from __future__ import annotations

import contextlib

import torch

from noise_injection.perturb import NoiseInjector


class NoisyOptimizer(torch.optim.Optimizer):
    """``base`` with its gradients taken at noise-perturbed weights.

    Args:
        optimizer: the base optimizer; its param groups (the same dicts) are this one's, so
            learning-rate schedulers and ``add_param_group`` act on it.
        sigma, mode, order, seed, **injector_options: as :class:`NoiseInjector` (sigma
            conventions there: layer mode std sigma, all mode sigma / sqrt(M), M = number of
            perturbed tensors over all groups; a group's ``"sigma"`` replaces sigma for it).

    Attributes:
        optimizer: the base optimizer. injector: the :class:`NoiseInjector`.
    """

    def __init__(self, optimizer: torch.optim.Optimizer, sigma, mode: str = "layer",
                 order: str = "cyclic", seed: int | None = 0, **injector_options):
        if not isinstance(optimizer, torch.optim.Optimizer):
            raise TypeError(f"NoisyOptimizer wraps a torch.optim.Optimizer, got "
                            f"{type(optimizer).__name__}")
        self.optimizer = optimizer
        self.injector = NoiseInjector(optimizer, sigma, mode=mode, order=order, seed=seed,
                                      **injector_options)
        super().__init__(optimizer.param_groups, optimizer.defaults)  # hooks, profiling
        self.param_groups, self.state = optimizer.param_groups, optimizer.state
        self._block: contextlib.ExitStack | None = None
        self._perturbed = False  # a perturbation since the last step

    @contextlib.contextmanager
    def perturb(self, step: int | None = None):
        """:meth:`NoiseInjector.perturb`, counted as the perturbation of the next step."""
        with self.injector.perturb(step) as groups:
            self._perturbed = True
            yield groups

    def first_step(self, step: int | None = None) -> None:
        """Perturb the weights (until :meth:`second_step`)."""
        if self._block is not None:
            raise RuntimeError("first_step() called twice without second_step()")
        block = contextlib.ExitStack()
        block.enter_context(self.perturb(step))
        self._block = block

    def second_step(self, zero_grad: bool = False) -> None:
        """Restore the weights and take the base optimizer's step from them."""
        if self._block is None:
            raise RuntimeError("second_step() without first_step()")
        self.step()
        if zero_grad:
            self.zero_grad()

    def step(self, closure=None):
        """With a closure (zero_grad, forward, backward, return the loss): perturb, call it,
        restore, base step; returns its loss. Without: end the :meth:`first_step` block if
        one is open, then the base step; raises ``RuntimeError`` if nothing was perturbed
        since the last step."""
        loss = None
        if closure is not None:
            self.first_step()
            try:
                with torch.enable_grad():
                    loss = closure()
            except BaseException:
                self._end_block()
                raise
        if self._block is not None:
            self._end_block()
        elif not self._perturbed:
            raise RuntimeError("NoisyOptimizer.step() without a perturbation since the last "
                               "step: pass a closure, call first_step() before the backward "
                               "pass, or run it inside optimizer.perturb()")
        self._perturbed = False
        self.optimizer.step()
        return loss

    def _end_block(self) -> None:
        block, self._block = self._block, None
        block.close()

    def zero_grad(self, set_to_none: bool = True) -> None:
        self.optimizer.zero_grad(set_to_none=set_to_none)

    def state_dict(self) -> dict:
        """The base optimizer's state and the injector's."""
        return {"optimizer": self.optimizer.state_dict(), "injector": self.injector.state_dict()}

    def load_state_dict(self, state_dict: dict) -> None:
        self.injector.load_state_dict(state_dict["injector"])  # first: it may refuse
        self.optimizer.load_state_dict(state_dict["optimizer"])
        # the base optimizer has replaced its groups and state: share the new ones
        self.param_groups, self.state = self.optimizer.param_groups, self.optimizer.state

    def __repr__(self) -> str:
        return f"NoisyOptimizer({self.optimizer!r}, {self.injector!r})"
