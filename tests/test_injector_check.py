"""The injector check (the workflow's demo chain) measures what happened to the weights, not
what the injector says it did: per scheme, how often each of the demo net's M = 6 tensors was
seen perturbed, the noise std it carried (layer-wise sigma; all-weights sigma/sqrt(M)) and the
restore error."""

import math

import numpy as np
import pytest

from noise_injection.injector.check import injector_statistics

pytestmark = pytest.mark.usefixtures("one_thread")

SIGMA, STEPS, WIDTH = 0.1, 120, 8


@pytest.fixture(scope="module")
def stats():
    return injector_statistics(WIDTH, SIGMA, STEPS, seed=0)


def test_counts_follow_each_scheme(stats):
    assert stats["all"]["counts"] == [STEPS] * 6
    assert stats["layer-cyclic"]["counts"] == [STEPS // 6] * 6
    random = stats["layer-random"]["counts"]
    assert sum(random) == STEPS  # exactly one tensor per step
    assert len(set(random)) > 1  # not the cyclic sweep
    assert min(random) > 0


@pytest.mark.parametrize("label, std", [("all", SIGMA / math.sqrt(6)), ("layer-cyclic", SIGMA),
                                        ("layer-random", SIGMA)])
def test_measured_noise_std_is_the_schemes_std(stats, label, std):
    """Sample std of n Gaussian entries: relative standard error 1/sqrt(2n); 5 of them."""
    record = stats[label]
    assert record["nominal_std"] == pytest.approx(std, rel=1e-12)
    n = np.asarray(record["counts"]) * np.asarray(record["tensor_sizes"])
    measured = np.asarray(record["std_ratio"]) * record["nominal_std"]
    assert np.all(np.abs(measured / std - 1) < 5 / np.sqrt(2 * n)), measured
    assert record["max_restore_error"] == 0.0
    assert record["tensor_sizes"] == [16 * WIDTH, WIDTH, WIDTH, WIDTH, 10 * WIDTH, 10]
