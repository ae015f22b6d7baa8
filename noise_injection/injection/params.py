"""What a :class:`~noise_injection.perturb.NoiseInjector` perturbs.

Accepted, in this order of recognition:

- a ``torch.nn.Module``: its ``named_parameters()`` (a tied weight counts once);
- a tensor;
- a ``torch.optim.Optimizer``: its ``param_groups``, read again at every check (they are
  replaced by ``load_state_dict``);
- optimizer-style param groups, an iterable of dicts such as ``optimizer.param_groups``: each
  has ``"params"`` (a tensor, tensors or ``(name, tensor)`` pairs) and optionally ``"sigma"``
  (that group's sigma: a number or a schedule ``step -> sigma``; its tensors get std sigma_g
  in layer mode, sigma_g / sqrt(M) in all mode, M counting the tensors of all groups) and
  ``"param_names"`` (as torch optimizers built from named parameters store them); other keys
  (``lr``, ...) are ignored;
- an iterable of tensors or of ``(name, tensor)`` pairs (``model.named_parameters()``).

Every distinct tensor is taken once, at its first occurrence (merged by identity), in the order
given; one tensor in two different groups is an error (as in ``torch.optim``). Frozen tensors
(``requires_grad=False``) are left out unless ``include_frozen``. The source is kept, so that
:func:`perturbed_ids` can tell later whether the set has changed: a module, an optimizer and a
list of param groups are read again (a module added, an ``optimizer.add_param_group``), other
inputs only for their ``requires_grad`` flags.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import torch


@dataclass
class Selection:
    """The perturbed tensors in order, their names ('' when not given), the index of each one's
    group, each group's own sigma (None: the injector's sigma) and the source to read again."""

    tensors: list[torch.Tensor]
    names: list[str]
    group_of: list[int]
    group_sigmas: list
    source: object


def _is_named(item) -> bool:
    return isinstance(item, tuple) and len(item) == 2 and isinstance(item[0], str)


def _groups(params) -> tuple[list[dict], object]:
    """(param groups as dicts, source to read again) for every accepted input."""
    if isinstance(params, torch.nn.Module):
        return [{"params": params.named_parameters()}], params
    if isinstance(params, torch.Tensor):
        return [{"params": [params]}], (params,)
    if isinstance(params, torch.optim.Optimizer):
        return params.param_groups, params
    given = params if isinstance(params, list) else list(params)
    if given and all(isinstance(g, dict) for g in given):
        for k, group in enumerate(given):
            if "params" not in group:
                raise TypeError(f"param group {k} has no 'params' entry")
        if not all(isinstance(g["params"], (torch.Tensor, list, tuple)) for g in given):
            given = [dict(g, params=list(g["params"])) for g in given]  # iterators: read once
        return given, given
    if any(isinstance(g, dict) for g in given):
        raise TypeError("param groups (dicts) and tensors cannot be mixed in one list")
    return [{"params": given}], tuple(given)


def _walk(params) -> Iterator[tuple[int, str, object]]:
    """(group index, name, tensor) of every entry, duplicates included, nothing checked."""
    groups, _ = _groups(params)
    for k, group in enumerate(groups):
        entries = group["params"]
        entries = [entries] if isinstance(entries, torch.Tensor) else entries
        names = group.get("param_names")
        for j, entry in enumerate(entries):
            if _is_named(entry):
                yield k, entry[0], entry[1]
            else:
                yield k, names[j] if names else "", entry


def select(params, include_frozen: bool = False) -> Selection:
    """The tensors a NoiseInjector built on ``params`` perturbs (see the module docstring).

    Raises:
        TypeError: an entry is not a floating-point tensor.
        ValueError: a tensor in two groups; nothing left to perturb.
    """
    groups, source = _groups(params)
    selection = Selection([], [], [], [g.get("sigma") for g in groups], source)
    group_of_id: dict[int, int] = {}
    for k, name, t in _walk(groups):
        if not isinstance(t, torch.Tensor):
            raise TypeError("NoiseInjector takes a module, tensors, (name, tensor) pairs or "
                            f"param groups (dicts with 'params'), got {type(t).__name__}")
        if not t.is_floating_point():
            raise TypeError(f"cannot perturb a tensor of dtype {t.dtype}: floating point only")
        if id(t) in group_of_id:
            if group_of_id[id(t)] != k:
                raise ValueError(f"tensor {name or ''} is in param groups {group_of_id[id(t)]} "
                                 f"and {k}: a tensor belongs to one group")
            continue
        group_of_id[id(t)] = k
        if include_frozen or t.requires_grad:
            selection.tensors.append(t)
            selection.names.append(name)
            selection.group_of.append(k)
    if not selection.tensors:
        frozen = f" ({len(group_of_id)} frozen, requires_grad=False: pass include_frozen=True " \
                 "to perturb them)" if group_of_id else ""
        raise ValueError(f"NoiseInjector needs at least one parameter tensor, got none{frozen}")
    return selection


def perturbed_ids(source, include_frozen: bool = False) -> tuple[int, ...]:
    """ids of the tensors that a NoiseInjector built on ``source`` now would perturb, in order:
    compared with the injector's own, this tells whether the set has changed since."""
    seen: set[int] = set()
    ids = []
    for _, _, t in _walk(source):
        if id(t) not in seen:
            seen.add(id(t))
            if include_frozen or t.requires_grad:
                ids.append(id(t))
    return tuple(ids)


def named(source) -> dict[int, str]:
    """id -> name of every tensor of ``source`` (for messages)."""
    return {id(t): name for _, name, t in _walk(source)}
