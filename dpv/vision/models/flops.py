"""Per-exit parameters and FLOPs of a multi-exit vision model, as the thesis reports them
(Tables 4.1-4.4, 4.8, 5.x).

Convention: one multiply-add is one FLOP (the thesis's and MSDNet's convention), counted by
`torch.utils.flop_counter.FlopCounterMode` on a forward pass of one image; FlopCounterMode
counts 2 FLOPs per multiply-add of convolutions and linear layers, so we halve its count.
BN, ReLU, pooling and resizing count 0 (the MSDNet counter adds ReLU and pooling ops too, a
difference of about 1 %). Exit k's figures are cumulative: everything the forward pass has
run when exit k's logits come out, the earlier exits' classifiers included. Parameters are
those of the modules that have run by then.
"""
from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn
from torch.utils.flop_counter import FlopCounterMode

from dpv.vision.models.layers import MultiExitNet


@dataclass(frozen=True)
class ExitCost:
    """Cumulative cost of reaching exit `exit` (1-based) for one image."""

    exit: int
    params: int
    flops: int


def describe(model: MultiExitNet, input_shape: tuple[int, int, int]) -> list[ExitCost]:
    """Per-exit cumulative parameters and FLOPs (multiply-adds) of `model` for one image of
    shape `input_shape` (C, H, W). The model's train/eval mode is restored afterwards."""
    used: set[nn.Module] = set()
    hooks = [m.register_forward_hook(lambda module, args, out: used.add(module))
             for m in model.modules()]
    param = next(model.parameters())
    x = torch.zeros(1, *input_shape, device=param.device, dtype=param.dtype)
    was_training = model.training
    model.eval()
    rows = []
    try:
        with torch.no_grad(), FlopCounterMode(display=False) as counter:
            for k, _ in enumerate(model.iter_exits(x), start=1):
                params = {id(p): p.numel() for m in used for p in m.parameters(recurse=False)}
                rows.append(ExitCost(k, sum(params.values()), counter.get_total_flops() // 2))
    finally:
        for hook in hooks:
            hook.remove()
        model.train(was_training)
    return rows


def format_table(rows: list[ExitCost],
                 reference: list[tuple[float, float]] | None = None) -> str:
    """The rows as a Markdown table in the thesis's units (params and FLOPs x 1e6), with
    `reference` (params, FLOPs) per exit in the same units beside them when given."""
    head = "| exit | params (M) | FLOPs (M) |"
    rule = "|---:|---:|---:|"
    if reference:
        head += " thesis params (M) | thesis FLOPs (M) |"
        rule += "---:|---:|"
    lines = [head, rule]
    for i, r in enumerate(rows):
        line = f"| {r.exit} | {r.params / 1e6:.2f} | {r.flops / 1e6:.2f} |"
        if reference:
            line += f" {reference[i][0]:.2f} | {reference[i][1]:.2f} |"
        lines.append(line)
    return "\n".join(lines)
