"""MSDNet (Huang et al., 2018, "Multi-Scale Dense Networks for Resource Efficient Image
Classification"), the backbone of thesis Tables 4.1, 4.2, 4.4-4.8.

Each layer adds `growth_rate * gr_factor[s]` channels to every scale s it keeps: on the
finest kept scale from a dense 3x3 conv, on coarser scales half from a stride-2 conv of the
next finer scale and half from a conv of the scale itself. With `max` pruning the finest scale
is dropped every ceil(L / S) layers (L layers, S scales), each drop followed by a 1x1
transition to `reduction` of the channels. Every block ends in an exit on the coarsest scale.
"""
from __future__ import annotations

import math
from collections.abc import Iterator

import torch
from torch import nn

from dpv.vision.models.config import MSDNetConfig
from dpv.vision.models.layers import (
    CrossScaleDenseLayer,
    DenseLayer,
    ExitClassifier,
    MultiExitNet,
    Stem,
    conv_bn_relu,
    init_weights,
)


class MSDLayer(nn.Module):
    """One layer of the grid: input scales first_in.., output scales first_out.. (absolute
    scale indices; first_out is first_in or first_in + 1 when the finest scale is dropped)."""

    def __init__(self, cfg: MSDNetConfig, c_in: int, first_in: int, first_out: int) -> None:
        super().__init__()
        gr, g = cfg.gr_factor, cfg.growth_rate
        width = (lambda s: cfg.bn_factor[s]) if cfg.bottleneck else (lambda s: None)
        self.first_in, self.first_out = first_in, first_out
        self.ops = nn.ModuleList()
        for s in range(first_out, len(gr)):
            if s == first_in:
                self.ops.append(DenseLayer(c_in * gr[s], g * gr[s], width(s)))
            else:
                from_finer = g * gr[s] // 2
                self.ops.append(CrossScaleDenseLayer(
                    c_in * gr[s], c_in * gr[s - 1], g * gr[s] - from_finer, from_finer,
                    stride_own=1, stride_other=2, bn_own=width(s), bn_other=width(s - 1)))

    def forward(self, features: list[torch.Tensor]) -> list[torch.Tensor]:
        at = lambda s: features[s - self.first_in]  # noqa: E731
        out = []
        for s, op in enumerate(self.ops, start=self.first_out):
            out.append(op(at(s)) if s == self.first_in else op(at(s), at(s - 1)))
        return out


class ScaleWise(nn.ModuleList):
    """Applies its i-th module to the i-th scale's features."""

    def forward(self, features: list[torch.Tensor]) -> list[torch.Tensor]:
        return [m(x) for m, x in zip(self, features)]


class MSDNet(MultiExitNet):
    """MSDNet with `cfg.blocks` exits. `forward(x)` returns the list of exit logits."""

    def __init__(self, cfg: MSDNetConfig) -> None:
        super().__init__()
        self.config = cfg
        gr, scales = cfg.gr_factor, len(cfg.gr_factor)
        self.stem = Stem(cfg.stem, [cfg.channels * f for f in gr], [1] + [2] * (scales - 1))
        layers_per_block = cfg.block_layers()
        interval = math.ceil(sum(layers_per_block) / scales)
        self.blocks, self.heads = nn.ModuleList(), nn.ModuleList()
        c, first, index = cfg.channels, 0, 0
        for n_layers in layers_per_block:
            modules: list[nn.Module] = []
            for _ in range(n_layers):
                index += 1
                first_out = (index - 1) // interval
                modules.append(MSDLayer(cfg, c, first, first_out))
                c += cfg.growth_rate
                if first_out > first and cfg.reduction > 0:
                    reduced = math.floor(cfg.reduction * c)
                    modules.append(ScaleWise(conv_bn_relu(c * gr[s], reduced * gr[s], 1)
                                             for s in range(first_out, scales)))
                    c = reduced
                first = first_out
            self.blocks.append(nn.Sequential(*modules))
            self.heads.append(ExitClassifier(c * gr[-1], cfg.num_classes, cfg.damping,
                                             cfg.head_channels))
        self.num_exits = cfg.blocks
        init_weights(self)

    def iter_exits(self, x: torch.Tensor) -> Iterator[torch.Tensor]:
        """Yield each block's exit logits, reading the coarsest scale."""
        features = self.stem(x)
        for block, head in zip(self.blocks, self.heads):
            features = block(features)
            yield head(features[-1])
