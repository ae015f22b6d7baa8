"""Seeds of the opt-in noise streams: per rank under ``torch.distributed``, per step."""

from __future__ import annotations

import numpy as np
import torch


def derive_seed(*key: int) -> int:
    """A 63-bit seed from non-negative integers: numpy ``SeedSequence(key)``, its first uint64
    word shifted right by one. Keys: (seed, rank) for per-rank noise, (seed, step) per step."""
    return int(np.random.SeedSequence([int(k) for k in key]).generate_state(
        1, dtype=np.uint64)[0] >> np.uint64(1))


def current_rank() -> int:
    """This process's rank; ``ValueError`` when ``torch.distributed`` is not initialized."""
    if not (torch.distributed.is_available() and torch.distributed.is_initialized()):
        raise ValueError("ranks='per_rank' needs torch.distributed initialized "
                         "(init_process_group) before the NoiseInjector is built")
    return torch.distributed.get_rank()
