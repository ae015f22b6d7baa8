"""The networks of the paper's section 4, built for any input shape.

``build_model(arch, in_shape, num_classes, **kwargs)`` with ``in_shape = (C, H, W)``:

- ``"mlp"``: flatten, ``Linear -> ReLU`` for each width in ``widths``, ``Linear`` to the
  classes, then ``log_softmax`` (as the authors' code). MLP 1-4 of docs/paper.md are widths
  [500]*3, [5000]*3, [1000]*5, [5000]*5 on 1 x 28 x 28 inputs. Returns LOG-PROBABILITIES.
- ``"toy_cnn"``: ``Conv(C,6,5)-ReLU-MaxPool2-Conv(6,16,5)-ReLU-MaxPool2-Lin(.,120)-ReLU-
  Lin(120,84)-ReLU-Lin(84,classes)`` (Lin(400,120) on 32x32 CIFAR). Returns LOGITS.
- ``"fcnn"``: for each c in ``channels`` (default [32, 128, 128, 128]) ``Conv(.,c,3,pad 1)-
  ReLU`` followed by ``MaxPool2`` in the first ``num_pools`` blocks, global average pool,
  ``Lin(channels[-1], classes)``. Returns LOGITS.
- ``"resnet18"``: the usual CIFAR ResNet-18 (3x3 stem conv, no max-pool, BasicBlocks
  [2, 2, 2, 2] of widths w, 2w, 4w, 8w with strides 1, 2, 2, 2, global average pool, linear);
  ``width`` = w = 64 in the paper. 62 parameter tensors. Returns LOGITS.

Cross-entropy (``F.cross_entropy``) is the right loss for every model: log_softmax is
idempotent, so cross-entropy of log-probabilities equals the negative log-likelihood of the
logits. All weights use PyTorch's default initialization from the global RNG: call
``torch.manual_seed`` before ``build_model`` for a seeded init. M, the number of parameter
tensors (the "layers" of layer-wise noise), is ``len(list(model.parameters()))``.
"""

from __future__ import annotations

import math

import torch
from torch import nn
from torch.nn import functional as F


class MLP(nn.Module):
    """Fully connected ReLU network returning log-probabilities."""

    def __init__(self, in_features: int, num_classes: int, widths):
        super().__init__()
        sizes = [in_features, *widths]
        self.hidden = nn.ModuleList(nn.Linear(a, b) for a, b in zip(sizes[:-1], sizes[1:]))
        self.out = nn.Linear(sizes[-1], num_classes)

    def forward(self, x):
        x = x.flatten(1)
        for layer in self.hidden:
            x = F.relu(layer(x))
        return F.log_softmax(self.out(x), dim=1)


def _conv_size(size: int, kernel: int, padding: int) -> int:
    return size + 2 * padding - kernel + 1


class ToyCNN(nn.Module):
    """LeNet-style CNN of docs/paper.md (two conv + pool stages, three linear layers); logits."""

    def __init__(self, in_shape, num_classes: int, channels=(6, 16), hidden=(120, 84),
                 kernel_size: int = 5, padding: int = 0):
        super().__init__()
        c, h, w = in_shape
        convs = []
        for out_channels in channels:
            convs.append(nn.Conv2d(c, out_channels, kernel_size, padding=padding))
            c = out_channels
            h = _conv_size(h, kernel_size, padding) // 2
            w = _conv_size(w, kernel_size, padding) // 2
            if min(h, w) < 1:
                raise ValueError(f"toy_cnn: input {tuple(in_shape)} is too small for "
                                 f"kernel_size={kernel_size}, padding={padding}")
        self.convs = nn.ModuleList(convs)
        sizes = [c * h * w, *hidden]
        self.hidden = nn.ModuleList(nn.Linear(a, b) for a, b in zip(sizes[:-1], sizes[1:]))
        self.out = nn.Linear(sizes[-1], num_classes)

    def forward(self, x):
        for conv in self.convs:
            x = F.max_pool2d(F.relu(conv(x)), 2)
        x = x.flatten(1)
        for layer in self.hidden:
            x = F.relu(layer(x))
        return self.out(x)


class FullyConvNet(nn.Module):
    """Conv3x3-ReLU(-MaxPool2) blocks, global average pool, one linear layer; logits.

    ``num_pools`` None: pool after every block while the feature map is at least 2x2
    (4 pools on 32x32 CIFAR as in the paper, 3 on 8x8 digits).
    """

    def __init__(self, in_shape, num_classes: int, channels=(32, 128, 128, 128),
                 num_pools: int | None = None):
        super().__init__()
        c, h, w = in_shape
        if num_pools is None:
            num_pools = min(len(channels), int(math.log2(min(h, w))))
        if not 0 <= num_pools <= len(channels) or min(h, w) < 2**num_pools:
            raise ValueError(f"fcnn: num_pools={num_pools} does not fit {len(channels)} "
                             f"blocks on a {h}x{w} input")
        self.num_pools = num_pools
        convs = []
        for out_channels in channels:
            convs.append(nn.Conv2d(c, out_channels, 3, padding=1))
            c = out_channels
        self.convs = nn.ModuleList(convs)
        self.out = nn.Linear(c, num_classes)

    def forward(self, x):
        for i, conv in enumerate(self.convs):
            x = F.relu(conv(x))
            if i < self.num_pools:
                x = F.max_pool2d(x, 2)
        return self.out(x.mean(dim=(2, 3)))


class BasicBlock(nn.Module):
    """Two 3x3 conv-BN stages with a (1x1 conv-BN when the shape changes) shortcut."""

    def __init__(self, in_channels: int, out_channels: int, stride: int):
        super().__init__()
        self.conv1 = nn.Conv2d(in_channels, out_channels, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(out_channels)
        self.conv2 = nn.Conv2d(out_channels, out_channels, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(out_channels)
        self.shortcut = nn.Sequential()
        if stride != 1 or in_channels != out_channels:
            self.shortcut = nn.Sequential(
                nn.Conv2d(in_channels, out_channels, 1, stride, bias=False),
                nn.BatchNorm2d(out_channels),
            )

    def forward(self, x):
        out = F.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        return F.relu(out + self.shortcut(x))


class ResNet18(nn.Module):
    """CIFAR ResNet-18: 3x3 stem, no max-pool, [2, 2, 2, 2] BasicBlocks; logits."""

    def __init__(self, in_shape, num_classes: int, width: int = 64):
        super().__init__()
        self.conv1 = nn.Conv2d(in_shape[0], width, 3, 1, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(width)
        blocks, c = [], width
        for stage, stride in enumerate((1, 2, 2, 2)):
            out_channels = width * 2**stage
            blocks += [BasicBlock(c, out_channels, stride), BasicBlock(out_channels,
                                                                        out_channels, 1)]
            c = out_channels
        self.blocks = nn.Sequential(*blocks)
        self.linear = nn.Linear(c, num_classes)

    def forward(self, x):
        out = self.blocks(F.relu(self.bn1(self.conv1(x))))
        return self.linear(F.adaptive_avg_pool2d(out, 1).flatten(1))


#: Each architecture's class; its keyword arguments (all but the input shape and the number of
#: classes) are listed, torch-free, in :data:`networks.experiments.ARCH_KWARGS` for the config
#: checks (tests/test_config_checks.py compares the two).
ARCHITECTURES = {"mlp": MLP, "toy_cnn": ToyCNN, "fcnn": FullyConvNet, "resnet18": ResNet18}


def build_model(arch: str, in_shape, num_classes: int, **kwargs) -> nn.Module:
    """One of :data:`ARCHITECTURES` for inputs of shape ``in_shape = (C, H, W)``.

    kwargs: mlp ``widths`` (required); toy_cnn ``channels``, ``hidden``, ``kernel_size``,
    ``padding`` (use kernel_size=3, padding=1 on 8x8 digits); fcnn ``channels``,
    ``num_pools``; resnet18 ``width``. MLPs return log-probabilities, the others logits.
    """
    in_shape = tuple(int(s) for s in in_shape)
    if len(in_shape) != 3:
        raise ValueError(f"in_shape must be (C, H, W), got {in_shape}")
    if arch not in ARCHITECTURES:
        raise ValueError(f"unknown architecture {arch!r}; choose one of {list(ARCHITECTURES)}")
    if arch == "mlp":  # the only one that flattens its input first
        return MLP(math.prod(in_shape), num_classes, **kwargs)
    return ARCHITECTURES[arch](in_shape, num_classes, **kwargs)
