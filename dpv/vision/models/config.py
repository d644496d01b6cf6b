"""Typed configs of the multi-exit vision models (thesis 4.3, Tables 4.1-4.4), no torch import.

`MSDNetConfig` (Huang et al., 2018) and `RANetConfig` (Yang et al., 2020) use the names of the
papers' public reference setups, in snake case. Their defaults are the CIFAR presets the thesis
reports; `PRESETS` names every preset the thesis uses, and `preset(name, ...)` copies one with
the number of classes and the damping neuron (eq. 4.4) set for a data set and a loss.
"""
from __future__ import annotations

import copy
import dataclasses
from dataclasses import dataclass, field
from typing import Literal

Stem = Literal["cifar", "imagenet"]


def _check_positive(config: object, names: tuple[str, ...]) -> None:
    for name in names:
        if getattr(config, name) < 1:
            raise ValueError(f"'{name}' must be >= 1, got {getattr(config, name)}")


def _check_factors(config: object, names: tuple[str, ...], scales: int) -> None:
    for name in names:
        values = getattr(config, name)
        if len(values) != scales or any(v < 1 for v in values):
            raise ValueError(f"'{name}' must list {scales} positive integers, got {values}")


@dataclass
class MSDNetConfig:
    """MSDNet: a 2-D grid of densely connected layers over `len(gr_factor)` scales, one exit
    after each of `blocks` blocks, on the coarsest scale (Huang et al., 2018, sec. 4).

    Block 1 has `base` layers; later blocks have `step` layers (`even`) or `step * i + 1`
    layers for block i = 1.. (`lin_grow`). Scales are pruned the `max` way: the finest scale
    is dropped evenly along depth, each drop followed by a transition that keeps
    `reduction` of the channels. `head_channels` is the width of the two strided convs of
    each classifier (None: the width of the features it reads, the ImageNet head).
    Defaults: the 7-exit CIFAR preset of thesis Tables 4.1, 4.2.
    """

    num_classes: int = 100
    damping: bool = False
    stem: Stem = "cifar"
    blocks: int = 7
    step_mode: Literal["even", "lin_grow"] = "lin_grow"
    step: int = 1
    base: int = 1
    channels: int = 16
    growth_rate: int = 6
    gr_factor: list[int] = field(default_factory=lambda: [1, 2, 4])
    bn_factor: list[int] = field(default_factory=lambda: [1, 2, 4])
    reduction: float = 0.5
    bottleneck: bool = True
    head_channels: int | None = 128

    def __post_init__(self) -> None:
        _check_positive(self, ("num_classes", "blocks", "step", "base", "channels", "growth_rate"))
        _check_factors(self, ("gr_factor", "bn_factor"), len(self.gr_factor))
        if not 0 <= self.reduction <= 1:
            raise ValueError(f"'reduction' must lie in [0, 1], got {self.reduction}")

    def block_layers(self) -> list[int]:
        """Number of layers of each block."""
        later = [self.step if self.step_mode == "even" else self.step * i + 1
                 for i in range(1, self.blocks)]
        return [self.base, *later]


@dataclass
class RANetConfig:
    """RANet: one dense sub-network per input resolution, coarsest first; finer sub-networks
    fuse the coarser one's features and take over the exits (Yang et al., 2020, sec. 3).

    `scale_list` gives each sub-network's resolution (1 = coarsest; finer ones are each one
    stride-2 step apart), `gr_factor` / `bn_factor` its width and bottleneck factors. Sub-network
    s has `blocks + block_step * s` blocks: those that line up with the coarser sub-network's
    blocks fuse its features; the rest are plain dense blocks, each followed by an exit. Block
    j has `step * j` layers (`lg`) or `step` layers (`even`). `compress_factor` is the share of a
    fusion layer's growth taken from the coarser features. Defaults: the 6-exit CIFAR preset
    of thesis Table 4.3.
    """

    num_classes: int = 100
    damping: bool = False
    stem: Stem = "cifar"
    blocks: int = 2
    block_step: int = 2
    step_mode: Literal["even", "lg"] = "lg"
    step: int = 2
    channels: int = 16
    growth_rate: int = 6
    scale_list: list[int] = field(default_factory=lambda: [1, 2, 3])
    gr_factor: list[int] = field(default_factory=lambda: [4, 2, 1])
    bn_factor: list[int] = field(default_factory=lambda: [4, 2, 1])
    compress_factor: float = 0.25
    reduction: float = 0.5
    head_channels: int | None = 128

    def __post_init__(self) -> None:
        _check_positive(self, ("num_classes", "blocks", "step", "channels", "growth_rate"))
        if self.block_step < 1:
            raise ValueError(f"'block_step' must be >= 1 (each finer sub-network adds exits), "
                             f"got {self.block_step}")
        _check_factors(self, ("scale_list", "gr_factor", "bn_factor"), len(self.scale_list))
        if any(b < a for a, b in zip(self.scale_list, self.scale_list[1:])):
            raise ValueError(f"'scale_list' must be non-decreasing, got {self.scale_list}")
        for name in ("compress_factor", "reduction"):
            if not 0 <= getattr(self, name) <= 1:
                raise ValueError(f"'{name}' must lie in [0, 1], got {getattr(self, name)}")
        if int(self.growth_rate * min(self.gr_factor) * self.compress_factor) < 1:
            raise ValueError("'growth_rate' * min('gr_factor') * 'compress_factor' must be >= 1 "
                             "(fusion layers draw at least one channel from the coarser features)")

    def flow_blocks(self) -> list[int]:
        """Number of blocks of each sub-network, coarsest first."""
        return [self.blocks + self.block_step * s for s in range(len(self.scale_list))]

    def block_layers(self, j: int) -> int:
        """Number of layers of block j (1-based) in any sub-network."""
        return self.step * j if self.step_mode == "lg" else self.step


ModelConfig = MSDNetConfig | RANetConfig

PRESETS: dict[str, ModelConfig] = {
    "msdnet-cifar": MSDNetConfig(),
    "msdnet-imagenet": MSDNetConfig(
        num_classes=1000, stem="imagenet", blocks=5, step_mode="even", step=4, base=4,
        channels=32, growth_rate=16, gr_factor=[1, 2, 4, 4], bn_factor=[1, 2, 4, 4],
        head_channels=None),
    "ranet-cifar": RANetConfig(),
    # Not in the thesis: a 4-exit MSDNet small enough to train on 32x32 digits on a CPU in
    # seconds per epoch (tests, laptop runs).
    "msdnet-tiny": MSDNetConfig(num_classes=10, blocks=4, channels=8, growth_rate=4,
                                gr_factor=[1, 2], bn_factor=[1, 2], head_channels=32),
}

INPUT_SHAPES: dict[Stem, tuple[int, int, int]] = {"cifar": (3, 32, 32), "imagenet": (3, 224, 224)}


def preset(name: str, num_classes: int | None = None, damping: bool = False) -> ModelConfig:
    """A copy of preset `name` with `num_classes` (default: the preset's) and the damping
    neuron on or off."""
    if name not in PRESETS:
        raise ValueError(f"unknown model preset '{name}' (known: {', '.join(sorted(PRESETS))})")
    base = copy.deepcopy(PRESETS[name])
    return dataclasses.replace(base, num_classes=num_classes or base.num_classes, damping=damping)
