"""Typed configs of the DPV network and its training loss (no torch import).

`NetConfig` is the `net:` section that self-play configs embed; `configs/net-*.yaml` are
presets written as a bare NetConfig mapping.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from dpv.config import from_dict, read_config_file


@dataclass
class NetConfig:
    """Architecture of a DPV policy-value network (thesis 6.2.1, Figure 6.1).

    `exits` lists 1-based block indices: an exit at k has its heads after residual block k.
    The last exit must sit after the last block (blocks beyond it would never run). The
    defaults are the paper preset: 15 blocks x 128 channels, exits after 6, 9, 12, 15.

    `ownership_head` and `score_head` (KataGo's auxiliary targets, beyond the thesis; off by
    default) add to every exit a head predicting the owner of each point at the game's end and
    the final score difference, both from the mover's view (see `dpv.nets.model.ExitHead`).
    """

    board_size: int = 9
    input_planes: int = 17
    blocks: int = 15
    channels: int = 128
    exits: list[int] = field(default_factory=lambda: [6, 9, 12, 15])
    policy_head_channels: int = 2
    value_head_channels: int = 1
    value_hidden: int = 256
    ownership_head: bool = False
    score_head: bool = False

    def __post_init__(self) -> None:
        for name in ("board_size", "input_planes", "blocks", "channels",
                     "policy_head_channels", "value_head_channels", "value_hidden"):
            if getattr(self, name) < 1:
                raise ValueError(f"'{name}' must be >= 1, got {getattr(self, name)}")
        if not self.exits:
            raise ValueError("'exits' must list at least one block index")
        if any(b <= a for a, b in zip(self.exits, self.exits[1:])):
            raise ValueError(f"'exits' must be strictly increasing, got {self.exits}")
        if self.exits[0] < 1 or self.exits[-1] != self.blocks:
            raise ValueError(
                f"'exits' must lie in 1..{self.blocks} and end at the last block "
                f"({self.blocks}), got {self.exits}"
            )

    @property
    def num_actions(self) -> int:
        """Board points plus pass (82 on 9x9)."""
        return self.board_size * self.board_size + 1

    @property
    def num_exits(self) -> int:
        """Number of exits (policy + value head pairs)."""
        return len(self.exits)

    @property
    def has_aux_heads(self) -> bool:
        """Whether the exits carry an ownership or a score head."""
        return self.ownership_head or self.score_head


@dataclass
class LossConfig:
    """Weighted deep supervision (eq. 6.3) and L2 regularisation.

    `weighted` (the thesis's method, default): w_k = 1 for shallow heads and `deepest_weight`
    for the deepest head. `no-weight`: all w_k = 1. The thesis does not state the deepest
    weight; 2.0 is our default. `l2` is AlphaZero's c in c * ||theta||^2.

    `ownership_weight` and `score_weight` weigh the auxiliary terms of a network with those heads
    (NetConfig.ownership_head / score_head; ignored without them), inside each exit's w_k.
    Ownership 1.5 is KataGo's w_o (Wu 2019, sec. 4: 1.5 on the per-point loss averaged over the
    board's points). KataGo's score is a distribution (pdf and cdf terms, 0.02 each); our score
    head is one scalar, so its weight is our choice: 0.15, which puts the score's squared error
    of the scaled score (points / board points) at a tenth of the ownership term, and the two at
    1.65 together (the paper's 1.65x is the learning speed-up it measured for these targets).
    """

    variant: Literal["weighted", "no-weight"] = "weighted"
    deepest_weight: float = 2.0
    l2: float = 1e-4
    ownership_weight: float = 1.5
    score_weight: float = 0.15

    def __post_init__(self) -> None:
        if self.deepest_weight <= 0:
            raise ValueError(f"'deepest_weight' must be > 0, got {self.deepest_weight}")
        for name in ("ownership_weight", "score_weight"):
            if getattr(self, name) < 0:
                raise ValueError(f"'{name}' must be >= 0, got {getattr(self, name)}")
        if self.l2 < 0:
            raise ValueError(f"'l2' must be >= 0, got {self.l2}")

    def exit_weights(self, num_exits: int) -> list[float]:
        """The w_k of eq. 6.3 for a network with `num_exits` heads, shallowest first. The deepest head's
        weight is relative to the shallow heads: with one head there is nothing to weigh it against, and
        the loss is plain AlphaZero's (weight 1)."""
        deepest = self.deepest_weight if self.variant == "weighted" and num_exits > 1 else 1.0
        return [1.0] * (num_exits - 1) + [deepest]


def load_net_config(path: str | Path) -> NetConfig:
    """Read a NetConfig from YAML (a path or a preset name, see `dpv.config.resolve_config_path`):
    either a bare NetConfig mapping (`configs/net-*.yaml`) or any config with a `net:` section
    (self-play configs)."""
    path, data = read_config_file(path)
    if isinstance(data, dict) and "net" in data:
        return from_dict(NetConfig, data["net"], source=str(path), prefix="net.")
    return from_dict(NetConfig, data, source=str(path))
