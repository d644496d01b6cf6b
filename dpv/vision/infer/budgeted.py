"""Budgeted batch classification (thesis sec. 2.1.3): exit thresholds chosen on the
validation split for a target share of samples leaving at each exit, then accuracy against
mean FLOPs on the test split.

The target shares follow the MSDNet line of work: p_k proportional to q^k (k = 1..E) for
q = 0.05, 0.10, ..., 1.95. For exit k, walk the validation samples that have not exited yet
in falling confidence and put tau_k at the confidence of the floor(n p_k)-th; a sample exits
at the first exit with confidence >= tau_k (eq. 2.4), the last exit takes the rest. A sample
costs the cumulative FLOPs of the exit it takes. The collaborative methods of
`dpv.vision.infer.collab` exit on the confidence of their combined prediction; PABEE exits by its
own rule, one point per patience.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from dpv.vision.infer.collab import pabee_exits

Q_VALUES = tuple(round(0.05 * i, 2) for i in range(1, 40))


@dataclass(frozen=True)
class BudgetPoint:
    """One operating point of a method on the test split."""

    setting: float          # q of the geometric exit share, or PABEE's patience
    mean_flops: float       # mean cumulative FLOPs of the exit taken
    accuracy: float         # top-1 accuracy, in [0, 1]
    exit_share: tuple[float, ...]  # share of test samples leaving at each exit


def geometric_share(q: float, num_exits: int) -> np.ndarray:
    """p_k = q^k / sum_j q^j for k = 1..num_exits."""
    p = np.power(float(q), np.arange(1, num_exits + 1))
    return p / p.sum()


def find_thresholds(confidence: np.ndarray, share: np.ndarray) -> np.ndarray:
    """Thresholds tau[E] from validation confidences [E, n] so that about n share[k]
    samples leave at exit k; tau[-1] = -inf (the last exit takes the rest); an exit that
    should take no sample gets +inf. Samples tied with the threshold all leave, so methods
    with coarse confidences (bayes: one value per observed label) can overshoot a share."""
    e, n = confidence.shape
    tau = np.full(e, np.inf)
    tau[-1] = -np.inf
    left = np.ones(n, dtype=bool)
    for k in range(e - 1):
        count = int(np.floor(n * share[k]))
        candidates = np.sort(confidence[k][left])[::-1]
        if 0 < count <= len(candidates):
            tau[k] = candidates[count - 1]
        left &= confidence[k] < tau[k]
    return tau


def exits_taken(confidence: np.ndarray, thresholds: np.ndarray) -> np.ndarray:
    """The 0-based exit each sample takes: the first k with confidence[k] >= thresholds[k]."""
    passed = confidence >= thresholds[:, None]
    passed[-1] = True
    return passed.argmax(axis=0)


def evaluate_exits(exits: np.ndarray, predictions: np.ndarray, labels: np.ndarray,
                   exit_flops: np.ndarray, setting: float) -> BudgetPoint:
    """Accuracy and mean FLOPs when sample i answers with predictions[exits[i], i]."""
    chosen = np.take_along_axis(predictions, exits[None, :], axis=0)[0]
    share = np.bincount(exits, minlength=predictions.shape[0]) / len(exits)
    return BudgetPoint(setting, float(np.asarray(exit_flops, dtype=np.float64)[exits].mean()),
                       float((chosen == labels).mean()), tuple(float(s) for s in share))


def budgeted_curve(val_confidence: np.ndarray, test_predictions: np.ndarray,
                   test_confidence: np.ndarray, test_labels: np.ndarray,
                   exit_flops: np.ndarray,
                   q_values: tuple[float, ...] = Q_VALUES) -> list[BudgetPoint]:
    """One point per q: thresholds on the validation confidences, evaluated on the test
    split (predictions and confidences [E, n] of one method)."""
    points = []
    for q in q_values:
        tau = find_thresholds(val_confidence, geometric_share(q, val_confidence.shape[0]))
        exits = exits_taken(test_confidence, tau)
        points.append(evaluate_exits(exits, test_predictions, test_labels, exit_flops, q))
    return points


def pabee_curve(test_predictions: np.ndarray, test_labels: np.ndarray,
                exit_flops: np.ndarray) -> list[BudgetPoint]:
    """PABEE's operating points, one per patience 1..E-1 (each exit's own predictions)."""
    return [evaluate_exits(pabee_exits(test_predictions, p), test_predictions, test_labels,
                           exit_flops, p)
            for p in range(1, test_predictions.shape[0])]
