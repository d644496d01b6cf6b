"""Training losses of multi-exit classifiers (thesis ch. 4).

Every loss takes the list of exit logits (shallowest first) and the targets, and averages
over the batch (the 1/S of eq. 4.2). With a damping neuron (eq. 4.4) the logits have N+1
columns, the last being the damping neuron; F = softmax over all N+1.

- `ce`: summed cross-entropy over exits, eq. 2.1 / 4.2.
- `damping`: eq. 4.5 at every exit, summed (eq. 4.13 with one lambda).
- `power-sqrt`: cross-entropy summed over exits plus lambda * sqrt(sum_k (-log F_k[N+1])^2),
  eq. 4.13 with its second term replaced by eq. 4.14.
- `label-smoothing`: summed cross-entropy with smoothed targets (the Table 4.5 baseline).
- `last-only`, `threshold-last-only`, `damping-last-only`: the last exit alone, with plain
  cross-entropy, with cross-entropy that drops samples whose correct-label softmax reaches
  a threshold (sec. 4.2.2, Fig. 4.3), or with the damping loss (Table 4.6).
- `dynamic=True` (damping and power-sqrt): per-sample, per-exit weights from the damping
  neuron, eq. 4.19-4.21, detached unless `weight_grad=True` (Table 4.8's last row). As eq. 4.21
  says ("L_i^(k) denotes our power-sqrt loss"), a weight multiplies the whole loss of its exit
  and sample, cross-entropy and damping term together, so it scales that exit's gradient and
  leaves the balance between the two terms (Propositions 1 and 2) as it is. (Weighting the
  cross-entropy alone would feed back: a smaller weight lets the damping neuron rise, which
  lowers -log F[N+1] and with it the weight.)
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import partial

import torch
from torch import Tensor
from torch.nn import functional as F

from dpv.vision.train.config import DAMPING_LOSSES, DEFAULT_WEIGHT_NORM, LOSS_NAMES, check_weight_norm

# Lambda of eq. 4.5 per data set (sec. 4.3.1 and the ImageNet results), alpha of sec. 4.2.5.
DEFAULT_LAMBDA = {"cifar100": 0.005, "cifar10": 0.075, "imagenet": 0.01}
DEFAULT_ALPHA = {"cifar100": 0.8, "cifar10": 0.8, "imagenet": 0.3}


def damping_terms(logits: Tensor, targets: Tensor) -> tuple[Tensor, Tensor]:
    """Per-sample -log F[y] and -log F[N+1] (eq. 4.4, 4.5) for logits of shape [B, N+1]."""
    log_f = F.log_softmax(logits, dim=1)
    return -log_f.gather(1, targets[:, None]).squeeze(1), -log_f[:, -1]


def damping_loss(logits: Tensor, targets: Tensor, lam: float) -> Tensor:
    """Eq. 4.5 for one classifier: mean over the batch of -log F[y] - lambda log F[N+1].

    `logits` has shape [B, N+1], the last column the damping neuron. Its gradient on the
    correct-label logit is ((1 + lambda) F[y] - 1) / B (Proposition 1) and on the damping
    logit ((1 + lambda) F[N+1] - lambda) / B (Proposition 2)."""
    ce, damp = damping_terms(logits, targets)
    return (ce + lam * damp).mean()


def power_sqrt_terms(logits: list[Tensor], targets: Tensor, lam: float) -> Tensor:
    """The power-sqrt loss of eq. 4.13 / 4.14 split per classifier, [B, K]: exit k's share is
    -log F_k[y] + lambda * (d_k / ||d||) * d_k, d_k = -log F_k[N+1], the factor d_k / ||d||
    held constant for the gradient.

    The shares add up to the per-sample loss -sum_k log F_k[y] + lambda * ||d|| (sum_k d_k^2 /
    ||d|| = ||d||) and have its gradient: d||d|| = sum_k (d_k / ||d||) dd_k, so exit k's share
    carries exactly eq. 4.18's damping gradient on exit k. The thesis does not say how eq.
    4.21's per-classifier L_i^(k) is cut out of the joint square root; this cut is the one whose
    k-th part is the k-th classifier's gradient, so a weight w_i^(k) scales exit k's gradient
    and nothing else."""
    ce, damp = _stacked_terms(logits, targets)
    share = (damp / damp.norm(dim=1, keepdim=True)).detach()
    return ce + lam * share * damp


def power_sqrt_loss(logits: list[Tensor], targets: Tensor, lam: float,
                    weights: Tensor | None = None) -> Tensor:
    """Eq. 4.13 with eq. 4.14 as its damping term: the exits' cross-entropies plus
    lambda * sqrt(sum_k (-log F_k[N+1])^2) per sample, averaged over the batch.

    The damping term's gradient on exit k's correct-label logit is lambda * F_k[y] scaled by
    d_k / sqrt(sum_j d_j^2), d_k = -log F_k[N+1] (eq. 4.18; the thesis prints the
    denominator with a stray -1). `weights` [B, K], if given, multiply each exit's whole share
    of the loss (`power_sqrt_terms`; dynamic training, eq. 4.21)."""
    return _weighted(power_sqrt_terms(logits, targets, lam), weights).sum(1).mean()


def dynamic_weights(logits: list[Tensor], alpha: float, norm: str = DEFAULT_WEIGHT_NORM,
                    grad: bool = False) -> Tensor:
    """Per-sample, per-exit weights w = 1 + w~ (eq. 4.19) from w~ ~ -log F^(k)(x_i)[N+1]
    (eq. 4.20), shape [B, K].

    Normalisation to [-alpha, alpha], following Han et al. (2022), whose weights are bounded
    by tanh, centred and scaled by alpha: w~ = alpha * tanh(r - mean(r)), r = -log F[N+1].
    The thesis does not say over which axis the mean is taken; `norm` offers Han et al.'s
    three: `exit` (per exit over the batch, their "row"), `sample` (per sample over the exits,
    "col"), `matrix` (the whole batch x exits matrix, "mat").

    The default is `exit`, the one that agrees with Table 4.8, where dynamic training raises
    the mean damping softmax at every exit (0.002 -> 0.004 at exit 1, ..., 0.037 -> 0.044 at
    exit 7). Deeper exits have the larger damping softmax, hence the smaller r, in nearly
    every sample; centred over the matrix or over each sample's exits, the weights therefore
    become mostly per exit (fed Table 4.8's +dynamic damping means, `matrix` gives exit 1 the
    weight 1.71 and exit 7 0.39): the shallow exits get more of the gradient and the deep ones less, so
    the deep exits' training, and their damping softmax with it, would fall, not rise.
    Centred per exit, every exit keeps a mean weight near 1 whatever its damping level (an
    exit-wide shift of r changes nothing) and the weights only move, within each exit, towards
    the samples whose damping neuron is least active, the ones the damping term raises: the
    damping means can rise at every exit at once. The weights are constants for the gradient
    (sec. 4.2.5) unless `grad` (the ablation of Table 4.8's last row)."""
    check_weight_norm(norm)
    r = torch.stack([-F.log_softmax(z, dim=1)[:, -1] for z in logits], dim=1)
    centre = {"exit": lambda: r.mean(0, keepdim=True), "sample": lambda: r.mean(1, keepdim=True),
              "matrix": r.mean}[norm]()
    w = 1 + alpha * torch.tanh(r - centre)
    return w if grad else w.detach()


def _stacked_terms(logits: list[Tensor], targets: Tensor) -> tuple[Tensor, Tensor]:
    """-log F_k[y] and -log F_k[N+1] for every exit, each of shape [B, K]."""
    ce, damp = zip(*(damping_terms(z, targets) for z in logits))
    return torch.stack(ce, dim=1), torch.stack(damp, dim=1)


def _weighted(per_exit: Tensor, weights: Tensor | None) -> Tensor:
    return per_exit if weights is None else per_exit * weights


LossFn = Callable[[list[Tensor], Tensor], Tensor]


def _ce(logits: list[Tensor], targets: Tensor, smoothing: float = 0.0) -> Tensor:
    """Eq. 2.1 / 4.2, with label smoothing when `smoothing` > 0 (Table 4.5)."""
    return sum(F.cross_entropy(z, targets, label_smoothing=smoothing) for z in logits)


def _damping(logits: list[Tensor], targets: Tensor, lam: float,
             weigh: Callable[[list[Tensor]], Tensor | None]) -> Tensor:
    """Eq. 4.13 with one lambda, each exit's whole eq. 4.5 loss weighted by `weigh` (eq. 4.21)."""
    ce, damp = _stacked_terms(logits, targets)
    return _weighted(ce + lam * damp, weigh(logits)).sum(1).mean()


def _power_sqrt(logits: list[Tensor], targets: Tensor, lam: float,
                weigh: Callable[[list[Tensor]], Tensor | None]) -> Tensor:
    return power_sqrt_loss(logits, targets, lam, weigh(logits))


def _last_only(logits: list[Tensor], targets: Tensor) -> Tensor:
    """Cross-entropy of the last exit alone ("MSDNet last only", Table 4.6)."""
    return F.cross_entropy(logits[-1], targets)


def _threshold_last_only(logits: list[Tensor], targets: Tensor, threshold: float) -> Tensor:
    """Cross-entropy of the last exit, without the gradient of samples whose correct-label
    softmax is >= `threshold` (sec. 4.2.2; "Threshold last only", Table 4.6)."""
    per_sample = F.cross_entropy(logits[-1], targets, reduction="none")
    keep = (torch.exp(-per_sample) < threshold).detach()
    return (per_sample * keep).mean()


def _damping_last_only(logits: list[Tensor], targets: Tensor, lam: float) -> Tensor:
    """Eq. 4.5 on the last exit alone ("Damping loss last only", Table 4.6)."""
    return damping_loss(logits[-1], targets, lam)


def _no_weights(logits: list[Tensor]) -> None:
    return None


@dataclass(frozen=True)
class MultiExitLoss:
    """A training loss on (list of exit logits, targets). `damping` says whether the model's
    classifiers must carry the damping neuron (N+1 outputs)."""

    name: str
    damping: bool
    fn: LossFn

    def __call__(self, logits: list[Tensor], targets: Tensor) -> Tensor:
        return self.fn(logits, targets)


def make_loss(name: str, lam: float = 0.005, dynamic: bool = False, alpha: float = 0.8,
              weight_grad: bool = False, smoothing: float = 0.1, threshold: float = 0.9,
              weight_norm: str = DEFAULT_WEIGHT_NORM) -> MultiExitLoss:
    """The loss `name` (one of `LOSS_NAMES`) as a callable on (list_of_logits, targets).

    `lam`: lambda of eq. 4.5 / 4.14 (CIFAR-100 0.005, CIFAR-10 0.075, ImageNet 0.01).
    `dynamic`: weight each exit's per-sample loss by eq. 4.19-4.21 (damping and power-sqrt
    only), with `alpha` (0.8 CIFAR, 0.3 ImageNet), centred along `weight_norm` (see
    `dynamic_weights`) and detached unless `weight_grad`. `smoothing`: label smoothing of
    `label-smoothing` (the thesis does not give it; 0.1 is the usual value). `threshold`: the
    correct-label softmax at which `threshold-last-only` drops a sample's gradient (the x axis
    of Fig. 4.3; not given for Table 4.6, where Fig. 4.3 finds gradients above 0.8-0.95 of
    little use). The result pickles (for Ray workers)."""
    if name not in LOSS_NAMES:
        raise ValueError(f"unknown loss '{name}' (known: {', '.join(LOSS_NAMES)})")
    if dynamic and name not in ("damping", "power-sqrt"):
        raise ValueError(f"dynamic training needs the damping neuron: use it with 'damping' or "
                         f"'power-sqrt', not '{name}'")
    if lam < 0 or not 0 <= alpha < 1 or not 0 <= smoothing < 1 or not 0 < threshold <= 1:
        raise ValueError("need lam >= 0, 0 <= alpha < 1, 0 <= smoothing < 1, 0 < threshold <= 1")
    check_weight_norm(weight_norm)
    weigh = (partial(dynamic_weights, alpha=alpha, norm=weight_norm, grad=weight_grad)
             if dynamic else _no_weights)
    fns: dict[str, LossFn] = {
        "ce": _ce,
        "damping": partial(_damping, lam=lam, weigh=weigh),
        "power-sqrt": partial(_power_sqrt, lam=lam, weigh=weigh),
        "label-smoothing": partial(_ce, smoothing=smoothing),
        "last-only": _last_only,
        "threshold-last-only": partial(_threshold_last_only, threshold=threshold),
        "damping-last-only": partial(_damping_last_only, lam=lam),
    }
    return MultiExitLoss(name, name in DAMPING_LOSSES, fns[name])
