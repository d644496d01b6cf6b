"""RANet (Yang et al., 2020, "Resolution Adaptive Networks for Efficient Inference"), the
backbone of thesis Table 4.3.

One dense sub-network per input resolution, coarsest first. The coarsest sub-network is made
of plain dense blocks, each followed by an exit. A finer sub-network's first blocks line up
with the coarser sub-network's blocks and fuse their features layer by layer (upsampled), and
stride down to coarser resolutions at the ends of the coarser sub-networks; its remaining
blocks are plain dense blocks with exits. Some blocks end in a 1x1 transition to `reduction`
of the channels.
"""
from __future__ import annotations

import math
from collections.abc import Iterator

import torch
from torch import nn

from dpv.vision.models.config import RANetConfig
from dpv.vision.models.layers import (
    CrossScaleDenseLayer,
    DenseLayer,
    ExitClassifier,
    MultiExitNet,
    Stem,
    conv_bn_relu,
    init_weights,
    resize,
)


def _transition(c: int, reduction: float, enabled: bool) -> tuple[nn.Module, int]:
    """A 1x1 conv to floor(reduction * c) channels if `enabled`, else the identity."""
    if not enabled:
        return nn.Identity(), c
    reduced = math.floor(reduction * c)
    return conv_bn_relu(c, reduced, 1), reduced


class DenseBlock(nn.Module):
    """`n_layers` dense layers and an optional transition. Returns the block's output and the
    features before each layer and after the last (what a finer sub-network fuses)."""

    def __init__(self, c_in: int, n_layers: int, growth: int, bn_width: int,
                 reduction: float, transition: bool) -> None:
        super().__init__()
        self.layers = nn.ModuleList(DenseLayer(c_in + i * growth, growth, bn_width)
                                    for i in range(n_layers))
        self.taps = [c_in + i * growth for i in range(n_layers + 1)]
        self.transition, self.c_out = _transition(self.taps[-1], reduction, transition)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, list[torch.Tensor]]:
        taps = [x]
        for layer in self.layers:
            x = layer(x)
            taps.append(x)
        return self.transition(x), taps


class FusionBlock(nn.Module):
    """`n_layers` dense layers that each also draw `compress_factor` of their growth from the
    coarser sub-network's matching features (`coarse_taps[i]`), a 1x1 conv of the coarser
    block's last features concatenated at the end, and an optional transition. With `down`,
    the last layer strides to the next coarser resolution."""

    def __init__(self, c_in: int, coarse_taps: list[int], growth: int, bn_width: int,
                 bn_width_coarse: int, compress: float, down: bool, reduction: float,
                 transition: bool) -> None:
        super().__init__()
        n_layers = len(coarse_taps) - 1
        from_coarse = math.floor(growth * compress)
        self.layers = nn.ModuleList(
            CrossScaleDenseLayer(c_in + i * growth, coarse_taps[i], growth - from_coarse,
                                 from_coarse, stride_own=2 if down and i == n_layers - 1 else 1,
                                 stride_other=1, bn_own=bn_width, bn_other=bn_width_coarse)
            for i in range(n_layers))
        self.taps = [c_in + i * growth for i in range(n_layers + 1)]
        c_last = math.floor(self.taps[-1] * compress)
        self.last = conv_bn_relu(coarse_taps[-1], c_last, 1)
        self.transition, self.c_out = _transition(self.taps[-1] + c_last, reduction, transition)

    def forward(self, x: torch.Tensor,
                coarse: list[torch.Tensor]) -> tuple[torch.Tensor, list[torch.Tensor]]:
        taps = [x]
        for layer, c in zip(self.layers, coarse):
            x = layer(x, c)
            taps.append(x)
        x = torch.cat([x, resize(self.last(coarse[-1]), x.shape[-2:])], dim=1)
        return self.transition(x), taps


class RANet(MultiExitNet):
    """RANet with one exit after each plain dense block. `forward(x)` returns the list of exit
    logits, coarsest sub-network's first."""

    def __init__(self, cfg: RANetConfig) -> None:
        super().__init__()
        self.config = cfg
        scales, gr, bn = cfg.scale_list, cfg.gr_factor, cfg.bn_factor
        # The stem runs finest first; sub-network s reads stem output len - 1 - s.
        fine_first = scales[::-1]
        self.stem = Stem(cfg.stem, [cfg.channels * f for f in gr[::-1]],
                         [1] + [1 if a == b else 2 for a, b in zip(fine_first, fine_first[1:])])
        flow_blocks = cfg.flow_blocks()
        self.flows, self.heads = nn.ModuleList(), nn.ModuleList()
        coarse_taps: list[list[int]] = []
        for s, n_blocks in enumerate(flow_blocks):
            n_fused = flow_blocks[s - 1] if s > 0 else 0
            transitions = {math.floor(i * n_blocks / scales[s]) for i in range(1, scales[s])}
            # Stride down once per resolution step, at the ends of the coarser sub-networks.
            ends = [0] + flow_blocks[:s]
            downs = set(ends[max(0, len(ends) - (scales[s] - 1)):]) if scales[s] > 1 else set()
            growth, c = cfg.growth_rate * gr[s], cfg.channels * gr[s]
            flow, taps = nn.ModuleList(), []
            for j in range(1, n_blocks + 1):
                if j > n_fused:
                    block = DenseBlock(c, cfg.block_layers(j), growth, bn[s], cfg.reduction,
                                       j in transitions)
                else:
                    block = FusionBlock(c, coarse_taps[j - 1], growth, bn[s], bn[s - 1],
                                        cfg.compress_factor, j in downs, cfg.reduction,
                                        j in transitions)
                flow.append(block)
                taps.append(block.taps)
                c = block.c_out
                if j > n_fused:
                    self.heads.append(ExitClassifier(c, cfg.num_classes, cfg.damping,
                                                     cfg.head_channels))
            self.flows.append(flow)
            coarse_taps = taps
        self.num_exits = len(self.heads)
        init_weights(self)

    def iter_exits(self, x: torch.Tensor) -> Iterator[torch.Tensor]:
        """Yield the exits' logits in order: each sub-network's plain blocks, coarsest first."""
        inputs = self.stem(x)[::-1]
        heads = iter(self.heads)
        coarse: list[list[torch.Tensor]] = []
        for flow, h in zip(self.flows, inputs):
            taps = []
            for j, block in enumerate(flow):
                if isinstance(block, FusionBlock):
                    h, block_taps = block(h, coarse[j])
                else:
                    h, block_taps = block(h)
                    yield next(heads)(h)
                taps.append(block_taps)
            coarse = taps
