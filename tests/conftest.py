"""Shared fixtures."""

import pytest
import torch


@pytest.fixture
def one_thread():
    """Tiny tensors: intra-op threads only add contention (seconds per test on a busy 2-core
    machine instead of milliseconds). Use with ``pytestmark = pytest.mark.usefixtures(...)``."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)
