"""The paper's architectures: every parameter tensor's shape, M (the number of parameter
tensors, the 'layers' of layer-wise noise), output conventions and the scaled-down variants
of the quick scale. Large MLPs are built on the meta device (shapes only, no memory)."""

import pytest
import torch

from noise_injection.networks.nets import build_model

MNIST = (1, 28, 28)
CIFAR = (3, 32, 32)
DIGITS = (1, 8, 8)


def linear_shapes(sizes):
    out = []
    for a, b in zip(sizes[:-1], sizes[1:]):
        out += [(b, a), (b,)]
    return out


@pytest.mark.parametrize("widths", [[500] * 3, [5000] * 3, [1000] * 5, [5000] * 5],
                         ids=["mlp1", "mlp2", "mlp3", "mlp4"])
def test_paper_mlps(widths):
    with torch.device("meta"):
        model = build_model("mlp", MNIST, 10, widths=widths)
    shapes = [tuple(p.shape) for p in model.parameters()]
    assert shapes == linear_shapes([784, *widths, 10])
    assert len(shapes) == 2 * (len(widths) + 1)  # M = 8 for 3 hidden layers, 12 for 5


def test_toy_cnn_on_cifar():
    model = build_model("toy_cnn", CIFAR, 10)
    shapes = [tuple(p.shape) for p in model.parameters()]
    assert shapes == [(6, 3, 5, 5), (6,), (16, 6, 5, 5), (16,),
                      *linear_shapes([400, 120, 84, 10])]
    assert model(torch.zeros(2, *CIFAR)).shape == (2, 10)


def feature_map_shapes(model, module_list, x):
    shapes = []
    hooks = [m.register_forward_hook(lambda _m, _i, out: shapes.append(tuple(out.shape)))
             for m in module_list]
    model(x)
    for h in hooks:
        h.remove()
    return shapes


def test_fully_convolutional_cnn_on_cifar():
    model = build_model("fcnn", CIFAR, 10)
    shapes = [tuple(p.shape) for p in model.parameters()]
    assert shapes == [(32, 3, 3, 3), (32,), (128, 32, 3, 3), (128,), (128, 128, 3, 3), (128,),
                      (128, 128, 3, 3), (128,), (10, 128), (10,)]
    # conv outputs before pooling: 32, 16, 8, 4 pixels (a max-pool after each of the 4)
    convs = feature_map_shapes(model, model.convs, torch.zeros(2, *CIFAR))
    assert [s[2:] for s in convs] == [(32, 32), (16, 16), (8, 8), (4, 4)]
    assert model.num_pools == 4


def test_resnet18_on_cifar():
    model = build_model("resnet18", CIFAR, 10)
    params = list(model.parameters())
    assert len(params) == 62
    # the well-known size of the CIFAR ResNet-18 (3x3 stem, no max-pool)
    assert sum(p.numel() for p in params) == 11_173_962
    assert tuple(model.conv1.weight.shape) == (64, 3, 3, 3)
    assert tuple(model.linear.weight.shape) == (10, 512)
    assert not any(isinstance(m, torch.nn.MaxPool2d) for m in model.modules())
    blocks = feature_map_shapes(model, model.blocks, torch.zeros(1, *CIFAR))
    assert blocks == [(1, 64, 32, 32)] * 2 + [(1, 128, 16, 16)] * 2 + \
        [(1, 256, 8, 8)] * 2 + [(1, 512, 4, 4)] * 2
    shortcuts = [b for b in model.blocks if len(b.shortcut) > 0]
    assert len(shortcuts) == 3  # 1x1 conv + BN where the width or the stride changes
    bn_affine = [m for m in model.modules() if isinstance(m, torch.nn.BatchNorm2d)]
    assert len(bn_affine) == 20  # 2 x 20 of the 62 tensors are BN weights and biases


def test_outputs_log_probabilities_for_mlp_and_logits_otherwise():
    torch.manual_seed(0)
    x = torch.randn(4, *DIGITS)
    mlp = build_model("mlp", DIGITS, 10, widths=[16])
    assert torch.allclose(mlp(x).exp().sum(dim=1), torch.ones(4), atol=1e-6)
    cnn = build_model("toy_cnn", DIGITS, 10, kernel_size=3, padding=1)
    assert not torch.allclose(cnn(x).exp().sum(dim=1), torch.ones(4), atol=1e-3)


@pytest.mark.parametrize("arch, kwargs, m", [
    ("mlp", {"widths": [256, 256, 256]}, 8),
    ("toy_cnn", {"kernel_size": 3, "padding": 1}, 10),
    ("fcnn", {"channels": [8, 16, 16, 16]}, 10),
    ("resnet18", {"width": 8}, 62),
])
def test_scaled_down_models_run_on_digits_with_the_same_m(arch, kwargs, m):
    model = build_model(arch, DIGITS, 10, **kwargs)
    assert len(list(model.parameters())) == m
    assert model(torch.zeros(3, *DIGITS)).shape == (3, 10)


def test_fcnn_pools_while_the_map_is_at_least_2x2_on_digits():
    model = build_model("fcnn", DIGITS, 10)
    convs = feature_map_shapes(model, model.convs, torch.zeros(1, *DIGITS))
    assert [s[2:] for s in convs] == [(8, 8), (4, 4), (2, 2), (1, 1)]


@pytest.mark.parametrize("arch, kwargs", [
    ("toy_cnn", {}),  # 5x5 kernels without padding do not fit 8x8 twice
    ("fcnn", {"num_pools": 4}),
    ("transformer", {}),
])
def test_impossible_architectures_are_refused(arch, kwargs):
    with pytest.raises(ValueError):
        build_model(arch, DIGITS, 10, **kwargs)
