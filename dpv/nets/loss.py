"""Weighted deep supervision (thesis 6.2.2): every exit is trained on the self-play targets of
the deepest exit, with a larger weight on the deepest head. A network with KataGo's auxiliary
heads (NetConfig.ownership_head / score_head) adds their terms inside each exit's weight.
"""
from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import torch
from torch import Tensor, nn

from dpv.nets.config import LossConfig
from dpv.nets.model import ExitOutput


@dataclass
class LossTerms:
    """The total loss and its parts (detached floats per head, for logging)."""

    total: Tensor
    policy: list[float]
    value: list[float]
    l2: float
    ownership: list[float] = field(default_factory=list)
    """Ownership squared error per exit; empty without an ownership head."""
    score: list[float] = field(default_factory=list)
    """Score squared error per exit; empty without a score head."""


def policy_loss(logits: Tensor, pi: Tensor, mask: Tensor | None = None) -> Tensor:
    """Cross-entropy -sum_a pi_a log p_a (eq. 6.1), averaged over the batch; with `mask` [B]
    (bool, the positions that are policy targets under playout cap randomization) averaged over
    the masked-in positions only (0 when there is none), so a cheap search's position adds
    nothing to the policy term and the term keeps the scale it has without the cap.

    Departure from KataGo, which records only the full searches' positions: dpv keeps the cheap
    ones as value targets (eq. 6.2 uses every position). Dividing the masked sum by the batch
    size B instead, as dpv did before, shrank the policy gradient to the cap's full-search share
    (1/4 at p = 0.25) and left the policy untrained (results/ablation/README.md)."""
    return _masked_mean(-(pi * logits.log_softmax(dim=1)).sum(dim=1), mask)


def value_loss(value: Tensor, z: Tensor) -> Tensor:
    """Squared error (v - z)^2 (eq. 6.2), averaged over the batch."""
    return (value - z).pow(2).mean()


def ownership_loss(ownership: Tensor, target: Tensor, mask: Tensor | None = None) -> Tensor:
    """Squared error between predicted and final ownership [B, N*N] in [-1, 1] (mover's view),
    averaged over the points and the batch (KataGo's per-point loss over b^2, here an MSE, so
    the term is 0 when the prediction is exact; a BCE on (o+1)/2 never is at a neutral point).
    With `mask` [B] (bool) the mean over the masked-in positions only."""
    return _masked_mean((ownership - target).pow(2).mean(dim=1), mask)


def score_loss(score: Tensor, target_points: Tensor, points: int, mask: Tensor | None = None) -> Tensor:
    """Squared error between the score head [B] (score / points) and the final score difference
    `target_points` [B] from the mover's view, scaled by the board's `points`; `mask` as in
    ownership_loss."""
    return _masked_mean((score - target_points / points).pow(2), mask)


def _masked_mean(per_sample: Tensor, mask: Tensor | None) -> Tensor:
    """The batch mean of `per_sample` [B], or its mean over the masked-in positions of `mask` [B]
    (0 when there is none)."""
    if mask is None:
        return per_sample.mean()
    weights = mask.to(per_sample.dtype)
    return (per_sample * weights).sum() / weights.sum().clamp(min=1.0)


def l2_penalty(model: nn.Module) -> Tensor:
    """||theta||^2 over the weights of convolutions and linear layers (not BN or biases)."""
    return sum(p.pow(2).sum() for p in model.parameters() if p.ndim > 1)


def deep_supervision_loss(
    outputs: Sequence[tuple[Tensor, Tensor]] | Sequence[ExitOutput],
    pi: Tensor,
    z: Tensor,
    cfg: LossConfig,
    model: nn.Module | None = None,
    ownership: Tensor | None = None,
    score: Tensor | None = None,
    policy_target: Tensor | None = None,
    aux_target: Tensor | None = None,
) -> LossTerms:
    """L = sum_k w_k (L_policy^(k) + L_value^(k)) (eq. 6.3, with eq. 6.1 and 6.2), plus
    cfg.l2 * ||theta||^2 of `model` when given.

    `outputs` are the (logits [B, A], value [B]) pairs of the exits, shallowest first (the
    result of `DPVNet.forward`, or any subset of heads); `pi` [B, A] are the search's visit
    distributions and `z` [B] the game outcomes from the view of the player to move.
    `policy_target` [B] (bool; None: all) masks the policy term of eq. 6.1 to the positions
    whose search is a policy target (playout cap randomization: the cheap searches' positions
    give a value target only); the value term (eq. 6.2) uses all. `aux_target` [B] (bool;
    None: all) masks the auxiliary terms to the positions of played-out games (a resigned
    game's final board is not area scoring).

    Exits that are ExitOutputs with an ownership or score head add, inside the same w_k,
    cfg.ownership_weight * ownership_loss against `ownership` [B, N*N] (the final board's
    owners from the mover's view) and cfg.score_weight * score_loss against `score` [B] (the
    final score difference in points, from the mover's view); a head without its target is a
    ValueError.

    A single head (a one-exit network, AlphaZero's baseline) has w = 1: `deepest_weight` weighs the
    deepest head against the shallow ones, so without shallow heads the loss is plain AlphaZero's.
    """
    weights = cfg.exit_weights(len(outputs))
    policies = [policy_loss(out[0], pi, policy_target) for out in outputs]
    values = [value_loss(out[1], z) for out in outputs]
    owned = _aux_terms(outputs, "ownership", ownership, lambda p, t: ownership_loss(p, t, aux_target))
    points = pi.shape[1] - 1
    scored = _aux_terms(outputs, "score", score, lambda p, t: score_loss(p, t, points, aux_target))
    total = sum(w * (p + v) for w, p, v in zip(weights, policies, values))
    if owned:
        total = total + cfg.ownership_weight * sum(w * o for w, o in zip(weights, owned))
    if scored:
        total = total + cfg.score_weight * sum(w * s for w, s in zip(weights, scored))
    l2 = l2_penalty(model) if model is not None and cfg.l2 > 0 else torch.zeros((), device=pi.device)
    total = total + cfg.l2 * l2
    return LossTerms(
        total=total,
        policy=torch.stack(policies).detach().tolist(),
        value=torch.stack(values).detach().tolist(),
        l2=float(l2.detach()),
        ownership=torch.stack(owned).detach().tolist() if owned else [],
        score=torch.stack(scored).detach().tolist() if scored else [],
    )


def _aux_terms(outputs: Sequence[tuple[Tensor, Tensor]] | Sequence[ExitOutput], name: str,
               target: Tensor | None, term: Callable[[Tensor, Tensor], Tensor]) -> list[Tensor]:
    """The per-exit `term` of auxiliary head `name` against `target`; [] when the exits lack it."""
    predictions = [getattr(out, name) for out in outputs if isinstance(out, ExitOutput)]
    if not predictions or predictions[0] is None:
        return []
    if target is None:
        raise ValueError(f"the network has a {name} head but no {name} target was given")
    return [term(p, target) for p in predictions]
