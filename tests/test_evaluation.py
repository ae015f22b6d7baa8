"""Evaluation against numbers computed by hand: a fixed BatchNorm + linear model on a few
points whose eval-mode logits are round numbers, so the cross-entropies are log(1 + e^{-d})
(d = logit of the label minus the other logit) and the accuracies are counts."""

import math

import pytest
import torch

from noise_injection.networks.data import ArrayDataset
from noise_injection.networks.train import Protocol, evaluate, train_network

pytestmark = pytest.mark.usefixtures("one_thread")

RUNNING_MEAN, RUNNING_VAR = (1.0, -1.0), (4.0, 0.25)
#: points (x1, x2), labels; eval-mode logits ((x1 - 1) / 2, (x2 + 1) / 0.5).
TRAIN = ([(3, -1), (1, -0.5), (1, -0.75), (5, -1)], [0, 0, 1, 0])
TEST = ([(3, -1), (1, 0), (-1, -1)], [1, 1, 0])
# logits (1, 0) y=0, (0, 1) y=0, (0, 0.5) y=1, (2, 0) y=0: margins 1, -1, 0.5, 2
TRAIN_LOSS = (math.log1p(math.exp(-1)) + math.log1p(math.exp(1)) + math.log1p(math.exp(-0.5))
              + math.log1p(math.exp(-2))) / 4
TRAIN_ACC = 75.0
# logits (1, 0) y=1, (0, 2) y=1, (-1, 0) y=0: margins -1, 2, -1
TEST_LOSS = (2 * math.log1p(math.exp(1)) + math.log1p(math.exp(-2))) / 3
TEST_ACC = 100.0 / 3


def fixed_model() -> torch.nn.Module:
    """BatchNorm (eps ~ 0, identity affine, the running statistics above) then the identity
    linear map: in eval mode the logits are (x - running_mean) / sqrt(running_var)."""
    bn = torch.nn.BatchNorm1d(2, eps=1e-12)  # below float32 resolution of the variances
    linear = torch.nn.Linear(2, 2)
    with torch.no_grad():
        bn.running_mean.copy_(torch.tensor(RUNNING_MEAN))
        bn.running_var.copy_(torch.tensor(RUNNING_VAR))
        linear.weight.copy_(torch.eye(2))
        linear.bias.zero_()
    return torch.nn.Sequential(torch.nn.Flatten(), bn, linear)


def tensors(split):
    points, labels = split
    return torch.tensor(points, dtype=torch.float32).view(-1, 1, 1, 2), torch.tensor(labels)


def dataset() -> ArrayDataset:
    return ArrayDataset("hand", 2, *tensors(TRAIN), *tensors(TEST), (0.0,), (1.0,))


@pytest.mark.parametrize("batch_size", [4, 3, 1])
def test_evaluate_gives_the_hand_computed_loss_and_accuracy(batch_size):
    model = fixed_model().train()
    x, y = tensors(TRAIN)
    loss, acc = evaluate(model, x, y, batch_size, prepare=lambda batch: batch)
    assert loss == pytest.approx(TRAIN_LOSS, rel=1e-6)
    assert acc == pytest.approx(TRAIN_ACC, rel=1e-12)
    assert model.training  # the mode is restored
    bn = model[1]
    assert bn.running_mean.tolist() == list(RUNNING_MEAN)  # statistics untouched
    assert bn.running_var.tolist() == list(RUNNING_VAR)
    assert int(bn.num_batches_tracked) == 0


def test_evaluate_differs_from_train_mode_batch_statistics():
    """The check above has power: with batch statistics the training loss is another number."""
    model = fixed_model().train()
    x, y = tensors(TRAIN)
    with torch.no_grad():
        batch_stats_loss = float(torch.nn.functional.cross_entropy(model(x), y))
    assert abs(batch_stats_loss - TRAIN_LOSS) > 0.1


def test_recorded_metrics_are_the_train_and_test_sets_at_the_clean_weights():
    """The first record of a run (epoch 0, before any step) holds the hand-computed numbers,
    each under its own split's name, also with noise injected during training."""
    out = train_network(fixed_model(), dataset(), Protocol(lr=0.1, epochs=1, eval_points=2,
                                                           eval_batch_size=3),
                        scheme="all", sigma=0.5, seed=0, device="cpu", progress=False)
    first = {key: values[0] for key, values in out["history"].items()}
    assert first["epoch"] == 0 and first["lr"] == 0.1
    assert first["train_loss"] == pytest.approx(TRAIN_LOSS, rel=1e-6)
    assert first["test_loss"] == pytest.approx(TEST_LOSS, rel=1e-6)
    assert first["train_acc"] == pytest.approx(TRAIN_ACC, rel=1e-12)
    assert first["test_acc"] == pytest.approx(TEST_ACC, rel=1e-12)
    assert math.isnan(first["hessian_trace"])  # hessian_probes 0: none measured
