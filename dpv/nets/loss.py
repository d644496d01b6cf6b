"""Weighted deep supervision (thesis 6.2.2): every exit is trained on the self-play targets of
the deepest exit, with a larger weight on the deepest head.
"""
from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor, nn

from dpv.nets.config import LossConfig


@dataclass
class LossTerms:
    """The total loss and its parts (detached floats per head, for logging)."""

    total: Tensor
    policy: list[float]
    value: list[float]
    l2: float


def policy_loss(logits: Tensor, pi: Tensor) -> Tensor:
    """Cross-entropy -sum_a pi_a log p_a (eq. 6.1), averaged over the batch."""
    return -(pi * logits.log_softmax(dim=1)).sum(dim=1).mean()


def value_loss(value: Tensor, z: Tensor) -> Tensor:
    """Squared error (v - z)^2 (eq. 6.2), averaged over the batch."""
    return (value - z).pow(2).mean()


def l2_penalty(model: nn.Module) -> Tensor:
    """||theta||^2 over the weights of convolutions and linear layers (not BN or biases)."""
    return sum(p.pow(2).sum() for p in model.parameters() if p.ndim > 1)


def deep_supervision_loss(
    outputs: list[tuple[Tensor, Tensor]],
    pi: Tensor,
    z: Tensor,
    cfg: LossConfig,
    model: nn.Module | None = None,
) -> LossTerms:
    """L = sum_k w_k (L_policy^(k) + L_value^(k)) (eq. 6.3, with eq. 6.1 and 6.2), plus
    cfg.l2 * ||theta||^2 of `model` when given.

    `outputs` are the (logits [B, A], value [B]) pairs of the exits, shallowest first (the
    result of `DPVNet.forward`, or any subset of heads); `pi` [B, A] are the search's visit
    distributions and `z` [B] the game outcomes from the view of the player to move.
    """
    weights = cfg.exit_weights(len(outputs))
    policies = [policy_loss(logits, pi) for logits, _ in outputs]
    values = [value_loss(value, z) for _, value in outputs]
    total = sum(w * (p + v) for w, p, v in zip(weights, policies, values))
    l2 = l2_penalty(model) if model is not None and cfg.l2 > 0 else torch.zeros((), device=pi.device)
    total = total + cfg.l2 * l2
    return LossTerms(
        total=total,
        policy=torch.stack(policies).detach().tolist(),
        value=torch.stack(values).detach().tolist(),
        l2=float(l2.detach()),
    )
