"""Building blocks shared by MSDNet and RANet.

Both networks are made of the same pieces (Huang et al., 2018, sec. 4; Yang et al., 2020,
sec. 3): conv-BN-ReLU units, dense layers that concatenate new features to their input
(optionally through a 1x1 bottleneck), a multi-scale stem, and exit classifiers of two
strided 3x3 convs, global pooling and a linear layer. A classifier can carry the damping
neuron of thesis eq. 4.4 as its (N+1)-th output.
"""
from __future__ import annotations

from collections.abc import Iterator

import torch
from torch import nn
from torch.nn import functional as F


def conv_bn_relu(c_in: int, c_out: int, kernel: int = 3, stride: int = 1) -> nn.Sequential:
    """Conv (no bias, 'same' padding) -> BatchNorm -> ReLU."""
    return nn.Sequential(
        nn.Conv2d(c_in, c_out, kernel, stride=stride, padding=kernel // 2, bias=False),
        nn.BatchNorm2d(c_out),
        nn.ReLU(inplace=True),
    )


def bottleneck_conv(c_in: int, c_out: int, stride: int, width: int | None) -> nn.Sequential:
    """A 3x3 conv-BN-ReLU, preceded by a 1x1 bottleneck to min(c_in, width * c_out) channels
    when `width` is given (the bottleneck factor of both papers)."""
    if width is None:
        return conv_bn_relu(c_in, c_out, 3, stride)
    inner = min(c_in, width * c_out)
    return nn.Sequential(*conv_bn_relu(c_in, inner, 1), *conv_bn_relu(inner, c_out, 3, stride))


class DenseLayer(nn.Module):
    """x -> [x, conv(x)]: a dense layer on one scale (the 'normal' connection)."""

    def __init__(self, c_in: int, growth: int, bn_width: int | None) -> None:
        super().__init__()
        self.conv = bottleneck_conv(c_in, growth, 1, bn_width)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.cat([x, self.conv(x)], dim=1)


class CrossScaleDenseLayer(nn.Module):
    """(x, other) -> [x, conv_other(other), conv_own(x)], all resized (bilinear) to the size of
    conv_own(x): a dense layer that also draws on a neighbouring scale. MSDNet's layers take
    `other` from the next finer scale through a stride-2 conv (Huang et al., 2018, Fig. 2);
    RANet's fusion layers take it from the coarser sub-network and upsample it, and may stride
    their own conv to move to a coarser resolution (Yang et al., 2020, Fig. 3)."""

    def __init__(self, c_own: int, c_other: int, growth_own: int, growth_other: int,
                 stride_own: int, stride_other: int, bn_own: int | None,
                 bn_other: int | None) -> None:
        super().__init__()
        self.conv_own = bottleneck_conv(c_own, growth_own, stride_own, bn_own)
        self.conv_other = bottleneck_conv(c_other, growth_other, stride_other, bn_other)

    def forward(self, x: torch.Tensor, other: torch.Tensor) -> torch.Tensor:
        new = self.conv_own(x)
        size = new.shape[-2:]
        return torch.cat([resize(x, size), resize(self.conv_other(other), size), new], dim=1)


def resize(x: torch.Tensor, size: torch.Size) -> torch.Tensor:
    """Bilinear resize (corners aligned) of a feature map to `size`; identity if it fits."""
    if x.shape[-2:] == size:
        return x
    return F.interpolate(x, size=size, mode="bilinear", align_corners=True)


class Stem(nn.Module):
    """The first layer: features at several scales, finest first. `channels[i]` is the width
    of scale i and `strides[i]` the stride that makes scale i from scale i-1. The CIFAR stem
    starts with a 3x3 conv at full resolution; the ImageNet one with a stride-2 7x7 conv and a
    stride-2 max pool."""

    def __init__(self, kind: str, channels: list[int], strides: list[int]) -> None:
        super().__init__()
        if kind == "cifar":
            first = conv_bn_relu(3, channels[0], 3)
        else:
            first = nn.Sequential(*conv_bn_relu(3, channels[0], 7, 2), nn.MaxPool2d(3, 2, 1))
        self.scales = nn.ModuleList([first])
        for i in range(1, len(channels)):
            self.scales.append(conv_bn_relu(channels[i - 1], channels[i], 3, strides[i]))

    def forward(self, x: torch.Tensor) -> list[torch.Tensor]:
        features = []
        for scale in self.scales:
            x = scale(x)
            features.append(x)
        return features


class ExitClassifier(nn.Module):
    """Two stride-2 3x3 conv-BN-ReLU units, global average pooling and a linear layer with
    `num_classes` outputs, plus one for the damping neuron (eq. 4.4) when `damping`."""

    def __init__(self, c_in: int, num_classes: int, damping: bool, hidden: int | None) -> None:
        super().__init__()
        hidden = hidden or c_in
        self.features = nn.Sequential(
            conv_bn_relu(c_in, hidden, 3, 2),
            conv_bn_relu(hidden, hidden, 3, 2),
            nn.AdaptiveAvgPool2d(1),
            nn.Flatten(),
        )
        self.linear = nn.Linear(hidden, num_classes + int(damping))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.linear(self.features(x))


class MultiExitNet(nn.Module):
    """A network with several exits. Subclasses implement `iter_exits`, which yields each
    exit's logits as soon as it is computed (so callers can stop early or measure the cost
    of each exit); `forward` returns the list of all exits' logits."""

    num_exits: int

    def iter_exits(self, x: torch.Tensor) -> Iterator[torch.Tensor]:
        """Yield the logits of exit 1, 2, ... in order, each of shape [B, N] or [B, N+1]."""
        raise NotImplementedError

    def forward(self, x: torch.Tensor) -> list[torch.Tensor]:
        """Logits of every exit, shallowest first."""
        return list(self.iter_exits(x))


def init_weights(model: nn.Module) -> None:
    """He-normal convs, unit BN, zero biases (the papers' initialisation)."""
    for m in model.modules():
        if isinstance(m, nn.Conv2d):
            nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
        elif isinstance(m, nn.BatchNorm2d):
            nn.init.ones_(m.weight)
            nn.init.zeros_(m.bias)
        elif isinstance(m, nn.Linear):
            nn.init.zeros_(m.bias)
