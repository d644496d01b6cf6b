"""Per-exit cost of a DPV network: parameters and FLOPs for one position.

FLOPs convention (reproduces thesis Table 6.1 for the paper preset): the FLOPs of exit k are
those of the forward pass that produces exit k's output alone, for one position: stem, every
residual block up to the exit, and that exit's own policy and value heads (not the heads of
earlier exits), and its ownership and score heads where the network has them.
`torch.utils.flop_counter.FlopCounterMode` counts convolutions and matrix multiplies at 2 FLOPs
per multiply-add; BN, ReLU, additions and tanh count 0.
"""
from __future__ import annotations

import torch
from torch.utils.flop_counter import FlopCounterMode

from dpv.nets.model import DPVNet


def _one_position(model: DPVNet) -> torch.Tensor:
    cfg = model.config
    param = next(model.parameters())
    return torch.zeros(1, cfg.input_planes, cfg.board_size, cfg.board_size,
                       device=param.device, dtype=param.dtype)


def count_flops(fn, *args) -> int:
    """FLOPs that `fn(*args)` performs, as counted by FlopCounterMode (2 per multiply-add)."""
    with torch.no_grad(), FlopCounterMode(display=False) as counter:
        fn(*args)
    return int(counter.get_total_flops())


def exit_flops(model: DPVNet) -> list[int]:
    """FLOPs of each exit for one position (see the module docstring for the convention)."""
    x = _one_position(model)
    was_training = model.training
    model.eval()
    try:
        forward = model.exit_outputs if model.config.has_aux_heads else model.forward_exit
        return [count_flops(forward, x, k) for k in range(model.num_exits)]
    finally:
        model.train(was_training)


def dynamic_exit_flops(model: DPVNet) -> list[int]:
    """FLOPs for one position that leaves at exit k in `DPVNet.forward_dynamic`: exit k's own
    cost plus the policy heads of the earlier exits it passed (their confidences, eq. 6.4)."""
    cfg = model.config
    features = torch.zeros(1, cfg.channels, cfg.board_size, cfg.board_size,
                           device=next(model.parameters()).device)
    was_training = model.training
    model.eval()
    try:
        passed = [count_flops(head.policy, features) for head in model.heads]
    finally:
        model.train(was_training)
    return [f + sum(passed[:k]) for k, f in enumerate(exit_flops(model))]


def exit_params(model: DPVNet) -> list[int]:
    """Parameters each exit uses: stem, the stages up to it, and its own heads."""
    def size(module: torch.nn.Module) -> int:
        return sum(p.numel() for p in module.parameters())

    trunk, counts = size(model.stem), []
    for stage, head in zip(model.stages, model.heads):
        trunk += size(stage)
        counts.append(trunk + size(head))
    return counts
