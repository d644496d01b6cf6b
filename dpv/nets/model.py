"""The DPV policy-value network (thesis 6.2.1, Figure 6.1): an AlphaZero ResNet trunk with a
policy head and a value head after several residual blocks.

Forward modes: `forward` (every exit, for training; with NetConfig's ownership or score head on,
each exit's `ExitOutput` with those heads too), `forward_exit` (one exit, running only
the blocks it needs) and `forward_dynamic` (per-sample early exit, eq. 6.4 and 6.6, written once
in `early_exit` over the network's pieces). `fold_batchnorm` makes the inference copy with each
BatchNorm folded into its convolution.
"""
from __future__ import annotations

import copy
from collections.abc import Callable, Sequence
from typing import NamedTuple

import torch
from torch import Tensor, nn
from torch.nn.utils.fusion import fuse_conv_bn_eval

from dpv.nets.config import NetConfig


def _conv_bn(in_channels: int, out_channels: int, kernel: int) -> list[nn.Module]:
    return [
        nn.Conv2d(in_channels, out_channels, kernel, padding=kernel // 2, bias=False),
        nn.BatchNorm2d(out_channels),
    ]


class ResidualBlock(nn.Module):
    """Two 3x3 conv + BN layers with a skip connection, ReLU after each (AlphaGo Zero)."""

    def __init__(self, channels: int) -> None:
        super().__init__()
        self.body = nn.Sequential(
            *_conv_bn(channels, channels, 3), nn.ReLU(inplace=True), *_conv_bn(channels, channels, 3)
        )
        self.relu = nn.ReLU(inplace=True)

    def forward(self, x: Tensor) -> Tensor:
        """Residual update of a [B, C, H, W] feature map."""
        return self.relu(x + self.body(x))


class ExitOutput(NamedTuple):
    """Everything one exit predicts (`DPVNet.forward` of a network with auxiliary heads)."""

    policy: Tensor
    """Policy logits [B, A]."""
    value: Tensor
    """Value [B] in [-1, 1], the expected outcome for the player to move."""
    ownership: Tensor | None
    """Ownership [B, N*N] in [-1, 1] (action order): +1 where the player to move will own the
    point at the game's end under area scoring, -1 the opponent; None without the head."""
    score: Tensor | None
    """Final score difference [B] from the mover's view divided by the board's points (N*N,
    so 9x9's 81); None without the head."""


VALUE_HIDDEN_LAYERS = 6
"""The value head's layers up to its hidden features (conv, BN, ReLU, flatten, FC, ReLU)."""


class ExitHead(nn.Module):
    """AlphaZero policy and value heads of one exit, and the optional auxiliary heads.

    Policy: 1x1 conv, BN, ReLU, FC to board^2 + 1 logits [B, A]. Value: 1x1 conv, BN, ReLU,
    FC, ReLU, FC to 1, tanh, as [B]. Ownership (NetConfig.ownership_head): 1x1 conv with bias,
    tanh per point, as [B, N*N]. Score (NetConfig.score_head): a linear output on the value
    head's hidden features (after its first FC and ReLU), as [B], the score over N*N points.
    """

    def __init__(self, cfg: NetConfig) -> None:
        super().__init__()
        points = cfg.board_size * cfg.board_size
        self.policy = nn.Sequential(
            *_conv_bn(cfg.channels, cfg.policy_head_channels, 1), nn.ReLU(inplace=True),
            nn.Flatten(), nn.Linear(cfg.policy_head_channels * points, cfg.num_actions),
        )
        self.value = nn.Sequential(
            *_conv_bn(cfg.channels, cfg.value_head_channels, 1), nn.ReLU(inplace=True),
            nn.Flatten(), nn.Linear(cfg.value_head_channels * points, cfg.value_hidden),
            nn.ReLU(inplace=True), nn.Linear(cfg.value_hidden, 1), nn.Tanh(), nn.Flatten(0),
        )
        self.ownership = (nn.Sequential(nn.Conv2d(cfg.channels, 1, 1), nn.Flatten(), nn.Tanh())
                          if cfg.ownership_head else None)
        self.score = nn.Sequential(nn.Linear(cfg.value_hidden, 1), nn.Flatten(0)) if cfg.score_head else None

    def forward(self, h: Tensor) -> tuple[Tensor, Tensor]:
        """Policy logits [B, A] and values [B] in [-1, 1] from trunk features."""
        return self.policy(h), self.value(h)

    def outputs(self, h: Tensor) -> ExitOutput:
        """Every head of this exit on trunk features (the value head's hidden layer runs once)."""
        hidden = self.value[:VALUE_HIDDEN_LAYERS](h)
        return ExitOutput(
            policy=self.policy(h), value=self.value[VALUE_HIDDEN_LAYERS:](hidden),
            ownership=None if self.ownership is None else self.ownership(h),
            score=None if self.score is None else self.score(hidden),
        )


def confidence(logits: Tensor, legal: Tensor | None = None) -> Tensor:
    """Exit confidence c = max_j p_j (eq. 6.4): the largest policy softmax probability,
    renormalised over legal moves when a bool `legal` mask [B, A] is given."""
    if legal is not None:
        logits = logits.masked_fill(~legal, float("-inf"))
    return logits.float().softmax(dim=1).amax(dim=1)


class DPVNet(nn.Module):
    """Multi-exit policy-value network. Exit k (0-based) sits after block `cfg.exits[k]`.

    The trunk is split into stages: stage k holds the blocks between exit k-1 and exit k, so
    exit k runs the stem and stages 0..k. A config with a single exit is the plain AlphaZero
    ResNet.
    """

    def __init__(self, cfg: NetConfig) -> None:
        super().__init__()
        self.config = cfg
        self.stem = nn.Sequential(*_conv_bn(cfg.input_planes, cfg.channels, 3), nn.ReLU(inplace=True))
        bounds = [0, *cfg.exits]
        self.stages = nn.ModuleList(
            nn.Sequential(*(ResidualBlock(cfg.channels) for _ in range(end - start)))
            for start, end in zip(bounds, bounds[1:])
        )
        self.heads = nn.ModuleList(ExitHead(cfg) for _ in cfg.exits)

    @property
    def num_exits(self) -> int:
        """Number of exits."""
        return len(self.heads)

    def forward(self, x: Tensor) -> list[tuple[Tensor, Tensor]] | list[ExitOutput]:
        """Every exit's (policy logits [B, A], value [B]), shallowest first (training); with an
        ownership or score head (NetConfig.has_aux_heads), every exit's ExitOutput instead."""
        aux = self.config.has_aux_heads
        outputs = []
        h = self.stem(x)
        for stage, head in zip(self.stages, self.heads):
            h = stage(h)
            outputs.append(head.outputs(h) if aux else head(h))
        return outputs

    def forward_exit(self, x: Tensor, exit: int) -> tuple[Tensor, Tensor]:
        """Policy logits and value of exit `exit` only; later blocks and other heads do not run."""
        h = self._features(x, exit)
        return self.heads[exit](h)

    def exit_outputs(self, x: Tensor, exit: int) -> ExitOutput:
        """Every head of exit `exit` (the auxiliary ones too, where configured), running only
        the blocks that exit needs."""
        h = self._features(x, exit)
        return self.heads[exit].outputs(h)

    def _features(self, x: Tensor, exit: int) -> Tensor:
        if not 0 <= exit < self.num_exits:
            raise ValueError(f"exit must be in 0..{self.num_exits - 1}, got {exit}")
        h = self.stem(x)
        for stage in self.stages[: exit + 1]:
            h = stage(h)
        return h

    def forward_dynamic(
        self, x: Tensor, thresholds: Tensor, legal: Tensor | None = None, vote: Tensor | None = None
    ) -> tuple[Tensor, Tensor, Tensor]:
        """Per-sample early exit (eq. 6.4 and 6.6) over this network's stages and heads: see
        `early_exit`. Returns policy logits [B, A], values [B] and the exit used [B] (int64)."""
        stages = [lambda h: self.stages[0](self.stem(h)), *self.stages[1:]]
        return early_exit(x, thresholds, legal, self.config.num_actions, stages,
                          [head.policy for head in self.heads], [head.value for head in self.heads], vote)


Piece = Callable[[Tensor], Tensor]


def early_exit(x: Tensor, thresholds: Tensor, legal: Tensor | None, num_actions: int, stages: Sequence[Piece],
               policies: Sequence[Piece], values: Sequence[Piece],
               vote: Tensor | None = None) -> tuple[Tensor, Tensor, Tensor]:
    """Per-sample early exit over a network given as pieces: `stages[k]` maps the features at
    exit k-1 (the input planes for k = 0) to those at exit k, `policies[k]` and `values[k]`
    are exit k's heads. Sample i leaves at the first exit whose confidence (eq. 6.4) is
    >= thresholds[i] (eq. 6.6); the others continue and the batch shrinks. The last exit takes
    whatever is left, so a threshold above 1 means the last exit. At each exit the policy head
    runs for every remaining sample, the value head only for those leaving, and one
    host-device sync reads how many leave. Every inference backend (dpv.nets.backends) runs
    its dynamic forward through this one function.

    Collaborative exits (thesis 7.2.3, ch. 5's logit voting applied to search): a sample whose
    bool `vote` [B] is set answers with the mean of the policy logits of every exit it passed
    (0..k, all computed for its exit decisions, so at no extra FLOPs: `dynamic_exit_flops`
    already charges them); its exit decisions and its value (exit k's) are those without voting.

    Returns policy logits [B, A], values [B] and the exit used [B] (int64).
    """
    n = x.shape[0]
    logits_out = x.new_empty(n, num_actions)
    values_out = x.new_empty(n)
    exit_out = torch.empty(n, dtype=torch.int64, device=x.device)

    def emit(k: int, rows: Tensor, h: Tensor, logits: Tensor, summed: Tensor | None, voting: Tensor | None) -> None:
        if summed is not None and voting is not None:
            logits = torch.where(voting[:, None], summed / (k + 1), logits.float())
        logits_out.index_copy_(0, rows, logits.to(logits_out.dtype))
        values_out.index_copy_(0, rows, values[k](h).to(values_out.dtype))
        exit_out.index_fill_(0, rows, k)

    last = len(stages) - 1
    rows = torch.arange(n, device=x.device)
    voting = None if vote is None else vote.to(torch.bool)
    summed = None
    h = x
    for k, stage in enumerate(stages):
        h = stage(h)
        logits = policies[k](h)
        if voting is not None:
            summed = logits.float() if summed is None else summed + logits.float()
        if k == last:
            emit(k, rows, h, logits, summed, voting)
            break
        conf = confidence(logits, None if legal is None else legal.index_select(0, rows))
        leave = conf >= thresholds.index_select(0, rows)
        leaving = int(leave.sum())
        if leaving == rows.numel():
            emit(k, rows, h, logits, summed, voting)
            break
        if leaving:
            order = torch.argsort(~leave, stable=True)  # leaving samples first
            take, order = order[:leaving], order[leaving:]
            emit(k, rows.index_select(0, take), h.index_select(0, take), logits.index_select(0, take),
                 None if summed is None else summed.index_select(0, take),
                 None if voting is None else voting.index_select(0, take))
            rows, h = rows.index_select(0, order), h.index_select(0, order)
            if voting is not None and summed is not None:
                summed, voting = summed.index_select(0, order), voting.index_select(0, order)
    return logits_out, values_out, exit_out


def score_as_value(model: DPVNet) -> DPVNet:
    """A copy of `model` (eval mode) whose every exit answers its score head (the score over
    N*N points, komi 7.5, the mover's view: ExitHead.outputs) where the value would be, so one
    forward of any backend gives each sample the score of the exit it leaves at. The policy
    heads and the exit decisions are the model's own. ValueError without score heads."""
    if not model.config.score_head:
        raise ValueError("the network has no score head")
    scored = copy.deepcopy(model).eval()
    for head in scored.heads:
        head.value = nn.Sequential(*head.value[:VALUE_HIDDEN_LAYERS], head.score)
    return scored


def fold_batchnorm(model: DPVNet) -> DPVNet:
    """An inference copy of `model` (eval mode) with every BatchNorm folded into the convolution
    before it: W' = W * gamma / sqrt(var + eps), b' = beta - mean * gamma / sqrt(var + eps). The
    copy computes the same function with one layer less per conv (BN becomes an Identity)."""
    folded = copy.deepcopy(model).eval()
    for module in folded.modules():
        if not isinstance(module, nn.Sequential):
            continue
        for i in range(len(module) - 1):
            conv, bn = module[i], module[i + 1]
            if isinstance(conv, nn.Conv2d) and isinstance(bn, nn.BatchNorm2d):
                module[i] = fuse_conv_bn_eval(conv, bn)
                module[i + 1] = nn.Identity()
    return folded
