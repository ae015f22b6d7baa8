"""The trainer against an oracle: the authors' published loop written out again here, from
``torch.optim.SGD`` and ``CosineAnnealingLR``, with its own perturb-then-restore around the
backward pass, and its own evaluation. Run side by side with :class:`Trainer` from the same
initial weights and the same random streams, the two must end with the same weights, buffers
and recorded history up to float rounding; a different noise seed must move the weights by
orders of magnitude more. This pins the trainer's wiring: metrics and splits, eval mode, the
schedule's epoch, the noise cut-off, the layer order, minibatches and augmentation.

The streams the oracle shares with the trainer (its documented seeding, see train.py and
perturb.py): the noise is drawn tensor by tensor, in parameter order, with ``normal_(0, std)``
from a generator seeded with the run's seed; the random layer choice from a CPU generator with
the same seed; data order, augmentation, Hessian subset and probes from ``stream_seed``.
Sigma convention: layer-wise std sigma; all-weights noise sigma/sqrt(M) on every tensor.
"""

import copy
import math

import numpy as np
import pytest
import torch
from torch.nn import functional as F

from noise_injection.networks.data import ArrayDataset, random_crop_flip
from noise_injection.networks.hessian import hutchinson_trace
from noise_injection.networks.nets import build_model
from noise_injection.networks.train import Protocol, Trainer, stream_seed

pytestmark = pytest.mark.usefixtures("one_thread")

#: Agreement "to float rounding": float32 weights of order 1 after ~12 steps.
ROUNDING = 1e-5
#: A different noise seed must move the final weights by at least this factor more.
SEPARATION = 1e3


def raw_data(n_train=40, n_test=20, seed=0) -> ArrayDataset:
    """uint8 images 1 x 6 x 6 (pixels 0..16), 3 classes, normalized per batch."""
    g = torch.Generator().manual_seed(seed)
    return ArrayDataset(
        "tiny", 3, torch.randint(0, 17, (n_train, 1, 6, 6), generator=g, dtype=torch.uint8),
        torch.randint(0, 3, (n_train,), generator=g),
        torch.randint(0, 17, (n_test, 1, 6, 6), generator=g, dtype=torch.uint8),
        torch.randint(0, 3, (n_test,), generator=g), (0.5,), (0.3,), raw_pixels=True,
        pixel_max=16.0)


def conv_bn_net() -> torch.nn.Module:
    torch.manual_seed(11)
    return torch.nn.Sequential(
        torch.nn.Conv2d(1, 3, 3, padding=1), torch.nn.BatchNorm2d(3), torch.nn.ReLU(),
        torch.nn.Flatten(), torch.nn.Linear(3 * 36, 3))


def mlp() -> torch.nn.Module:
    torch.manual_seed(12)
    return build_model("mlp", (1, 6, 6), 3, widths=[10, 10])


NETS = {"mlp": mlp, "conv_bn": conv_bn_net}


def oracle_noise(params, chosen, std, generator):
    """The injector's noise stream: for each chosen tensor in order, N(0, std^2) entries."""
    return {i: torch.empty_like(params[i]).normal_(0.0, std, generator=generator)
            for i in chosen}


def oracle_measure(model, data, epoch, lr, probes, hessian_rows) -> dict:
    """Loss and accuracy (%) of the clean weights in eval mode on the un-augmented training and
    test sets, and the Hutchinson trace on the fixed training subset."""
    model.eval()
    out = {"epoch": epoch, "lr": lr}
    with torch.no_grad():
        for split, x, y in (("train", data.x_train, data.y_train),
                            ("test", data.x_test, data.y_test)):
            logits = model(data.normalize(x))
            out[f"{split}_loss"] = float(F.cross_entropy(logits, y))
            out[f"{split}_acc"] = 100.0 * float((logits.argmax(1) == y).double().mean())
    model.train()
    out["hessian_trace"] = math.nan
    if probes:
        x_h, y_h, gen = hessian_rows
        out["hessian_trace"] = hutchinson_trace(model, F.cross_entropy, x_h, y_h, probes, gen)[0]
    return out


def oracle_run(model, data, p: Protocol, *, scheme, sigma, order, seed, noise_seed) -> dict:
    """The authors' loop: SGD(momentum, weight_decay) + CosineAnnealingLR(T_max=epochs) stepped
    once per epoch; per minibatch, perturb (layer: tensor step % M or a random one, std sigma;
    all: every tensor, std sigma/sqrt(M)) -> forward/backward -> restore -> optimizer step on
    the clean weights; no noise from epoch noise_off_epoch on."""
    params = list(model.parameters())
    m = len(params)
    optimizer = torch.optim.SGD(params, lr=p.lr, momentum=p.momentum,
                                weight_decay=p.weight_decay)
    scheduler = (torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=p.epochs)
                 if p.schedule == "cosine" else None)
    noise_gen = torch.Generator().manual_seed(noise_seed)
    layer_gen = torch.Generator().manual_seed(noise_seed)
    order_gen = torch.Generator().manual_seed(stream_seed(seed, "order"))
    augment_gen = torch.Generator().manual_seed(stream_seed(seed, "augment"))
    n = len(data.x_train)
    rows = torch.randperm(n, generator=torch.Generator().manual_seed(
        stream_seed(seed, "hessian_subset")))[:min(p.hessian_subset, n)]
    hessian_rows = (data.normalize(data.x_train[rows]), data.y_train[rows],
                    torch.Generator().manual_seed(stream_seed(seed, "probes")))
    eval_at = set(range(p.epochs + 1))  # the tests ask for every epoch (linear spacing)
    history = [oracle_measure(model, data, 0, p.lr, p.hessian_probes, hessian_rows)]
    step = 0
    model.train()
    for epoch in range(p.epochs):
        lr = optimizer.param_groups[0]["lr"]
        noisy = scheme != "none" and (p.noise_off_epoch is None or epoch < p.noise_off_epoch)
        batches = ([torch.arange(n)] if p.batch_size is None
                   else torch.randperm(n, generator=order_gen).split(p.batch_size))
        for idx in batches:
            x, y = data.x_train[idx], data.y_train[idx]
            if p.augment_padding:
                x = random_crop_flip(x, padding=p.augment_padding, generator=augment_gen)
            x = data.normalize(x)
            chosen, std = [], 0.0
            if noisy and scheme == "all":
                chosen, std = list(range(m)), sigma / math.sqrt(m)
            elif noisy and order == "cyclic":
                chosen, std = [step % m], sigma
            elif noisy:
                chosen, std = [int(torch.randint(m, (1,), generator=layer_gen))], sigma
            clean = {i: params[i].detach().clone() for i in chosen}
            with torch.no_grad():
                for i, eps in oracle_noise(params, chosen, std, noise_gen).items():
                    params[i].add_(eps)
            optimizer.zero_grad()
            F.cross_entropy(model(x), y).backward()
            with torch.no_grad():
                for i, w in clean.items():
                    params[i].copy_(w)
            optimizer.step()
            step += 1
        if scheduler is not None:
            scheduler.step()
        if epoch + 1 in eval_at:
            history.append(oracle_measure(model, data, epoch + 1, lr, p.hessian_probes,
                                          hessian_rows))
    return {"history": {k: [h[k] for h in history] for k in history[0]}, "steps": step}


def run_both(net, protocol, *, scheme, sigma, order, seed=3):
    """Trainer and oracle from the same initial model; plus the oracle with another noise
    seed. Returns the two final state dicts, the other one and both histories."""
    init = NETS[net]()
    data = raw_data()
    trainer = Trainer(copy.deepcopy(init), data, protocol, scheme=scheme, sigma=sigma,
                      seed=seed, order=order, device="cpu")
    trainer.run(progress=False)
    onednn, torch.backends.mkldnn.enabled = torch.backends.mkldnn.enabled, False  # as Trainer
    try:
        oracle_model = copy.deepcopy(init)
        oracle = oracle_run(oracle_model, data, protocol, scheme=scheme, sigma=sigma,
                            order=order, seed=seed, noise_seed=seed)
        other_model = copy.deepcopy(init)
        oracle_run(other_model, data, protocol, scheme=scheme, sigma=sigma, order=order,
                   seed=seed, noise_seed=seed + 1)
    finally:
        torch.backends.mkldnn.enabled = onednn
    return (trainer, oracle, trainer.model.state_dict(), oracle_model.state_dict(),
            other_model.state_dict())


def max_difference(a: dict, b: dict) -> float:
    return max(float((a[k].double() - b[k].double()).abs().max()) for k in a
               if a[k].is_floating_point())


def protocol(**changes) -> Protocol:
    """Minibatches (3 per epoch, the last smaller), momentum and weight decay, cosine
    schedule, noise switched off before the end, augmentation on, Hessian traces at every
    evaluation."""
    base = dict(lr=0.05, epochs=4, batch_size=16, momentum=0.9, weight_decay=5e-3,
                schedule="cosine", noise_off_epoch=3, augment_padding=1, eval_spacing="linear",
                eval_points=5, hessian_probes=2, hessian_subset=12)
    return Protocol(**{**base, **changes})


CASES = [(net, scheme, order) for net in NETS
         for scheme, order in (("none", "cyclic"), ("layer", "cyclic"), ("layer", "random"),
                               ("all", "cyclic"))]


@pytest.mark.parametrize("net, scheme, order", CASES)
def test_trainer_equals_the_authors_loop(net, scheme, order):
    p = protocol()
    trainer, oracle, ours, theirs, other = run_both(net, p, scheme=scheme, sigma=0.2,
                                                    order=order)
    assert trainer.history["epoch"] == oracle["history"]["epoch"] == list(range(p.epochs + 1))
    assert trainer.step == oracle["steps"] == 4 * 3
    assert ours.keys() == theirs.keys()
    agreement = max_difference(ours, theirs)  # weights and BatchNorm buffers
    assert agreement <= ROUNDING, agreement
    for key, values in oracle["history"].items():
        np.testing.assert_allclose(trainer.history[key], values, rtol=1e-5, atol=ROUNDING,
                                   err_msg=key)
    if scheme != "none":
        assert max_difference(ours, other) >= SEPARATION * max(agreement, ROUNDING)


@pytest.mark.parametrize("changes", [
    dict(batch_size=None, augment_padding=0, noise_off_epoch=None, momentum=0.0,
         schedule="constant"),
    dict(noise_off_epoch=1, weight_decay=0.0, eval_batch_size=7),
], ids=["full-batch-constant-lr", "early-cutoff-chunked-eval"])
@pytest.mark.parametrize("scheme", ["layer", "all"])
def test_trainer_equals_the_authors_loop_in_other_settings(changes, scheme):
    p = protocol(**changes)
    trainer, oracle, ours, theirs, other = run_both("conv_bn", p, scheme=scheme, sigma=0.2,
                                                    order="cyclic")
    agreement = max_difference(ours, theirs)
    assert agreement <= ROUNDING, agreement
    for key, values in oracle["history"].items():
        np.testing.assert_allclose(trainer.history[key], values, rtol=1e-5, atol=ROUNDING,
                                   err_msg=key)
    assert max_difference(ours, other) >= SEPARATION * max(agreement, ROUNDING)
