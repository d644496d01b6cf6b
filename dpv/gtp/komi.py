"""Komi the network was not trained on: the value from the score head's estimate.

dpv's networks have no komi input plane and were trained at TRAINED_KOMI (7.5), so their value
head answers "does the player to move win at komi 7.5", whatever `komi` the controller sets
(Leela Zero has the same limit and ignores komi in its value: leela-zero issue #2384). The score
head answers "by how many points does the player to move lead at komi 7.5", and that shifts
exactly with komi: at komi K the player to move leads by

    lead_K = lead_7.5 + s (7.5 - K),   s = +1 with black to move, -1 with white to move

(input plane 16 says who moves). `KomiEvaluator` turns lead_K into the value the search backs up
with a logistic model of the score head's error (as SAI models the win rate as a sigmoid of the
komi bonus, Morandin et al. 2019):

    P(win) = 1 / (1 + exp(-lead_K / SCORE_SCALE)),   value = 2 P(win) - 1

It replaces the value head rather than blending with it: the value head estimates winning at
7.5, so any weight on it pulls the estimate toward the 7.5 outcome by an amount that grows with
|K - 7.5|, which a blend cannot undo. At K = 7.5 the evaluator is not wrapped at all (the value
head, unchanged). The priors and the exit each leaf takes are the network's own (policy and exit
confidences do not see komi), and the score is that exit's score head, from the same forward
(Evaluator.scoring: the network with each value head answering its exit's score head), so another
komi costs no FLOPs beyond what the search charges. The analysis's scoreLead and ownership are the
deepest exit's (Evaluator.position_estimates), as at komi 7.5.

Terminal positions never reach the evaluator: the search scores them with the board's real komi
(go_engine.BatchedSearch's komi, Tromp-Taylor), so a finished game is judged exactly. Random
playouts (go_engine.RolloutEvaluator) score boards with their real komi too and are not wrapped.
A network without a score head plays other komi with its value head (7.5), said on stderr once.
"""
from __future__ import annotations

import sys
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:  # the engine runs without torch for players that need none
    from dpv.nets.evaluator import PositionEstimates

TRAINED_KOMI = 7.5
"""The komi of the self-play games every dpv network learnt from."""
SCORE_SCALE = 9.0
"""Points of score lead per unit of log-odds of winning in the logistic model (a lead of 9 points
is a 73 % win). Fitted, so that at komi 7.5 the model agrees with the value head it replaces: the
least-squares fit of tanh(score / (2 SCORE_SCALE)) to the value head of the shipped network
(models/dpv-four.pt, deepest exit) on 512 positions of random games
(dpv.nets.backends.positions.random_game_boards, seed 1), over scales 4..12 in steps of 0.5
(`python results/gtp/fit_score_scale.py models/dpv-four.pt`): mean squared error 0.0295 at 9.0
(0.084 at 4, 0.036 at 12). The network shipped before (0.5 CPU-hours) fitted 9.5 (0.0214)."""
TO_MOVE_IS_BLACK_PLANE = 16
"""The input plane that is all ones when black moves (go_engine.Board.write_planes)."""

_warned_no_score_head = False


def score_shift(planes: np.ndarray, komi: float) -> np.ndarray:
    """float32 [n]: the points to add to a komi-7.5 score lead of the player to move in each of
    `planes` [n, 17, N, N] to get its lead at `komi`."""
    mover = np.where(planes[:, TO_MOVE_IS_BLACK_PLANE, 0, 0] > 0.5, 1.0, -1.0)
    return (mover * (TRAINED_KOMI - komi)).astype(np.float32)


def win_value(lead: np.ndarray) -> np.ndarray:
    """float32 [n] in [-1, 1]: the value of leading by `lead` points (the logistic model above);
    2 sigmoid(x) - 1 = tanh(x / 2)."""
    return np.tanh(np.asarray(lead, dtype=np.float64) / (2 * SCORE_SCALE)).astype(np.float32)


class KomiEvaluator:
    """The search's evaluator (dpv.nets.evaluator contract) over `net` at a komi it was not
    trained on: the network's priors and exits, the value from the score lead at `komi`; its
    `position_estimates` give that shifted lead (kata-analyze's scoreLead). Every other
    attribute is the network's."""

    def __init__(self, net: Any, komi: float) -> None:
        self.net = net
        self.komi = komi
        self.scoring = net.scoring()

    def __getattr__(self, name: str) -> Any:
        return getattr(self.__dict__["net"], name)

    def __call__(self, planes: np.ndarray, thresholds: np.ndarray | float, **options: Any):
        priors, scores, exits = self.scoring(planes, thresholds, **options)
        points = self.net.input_shape[-1] ** 2
        return priors, win_value(scores * points + score_shift(np.asarray(planes), self.komi)), exits

    def position_estimates(self, planes: np.ndarray) -> PositionEstimates:
        """The network's estimates with the score lead taken at `komi`."""
        estimates = self.net.position_estimates(planes)
        return estimates._replace(score=estimates.score + score_shift(np.asarray(planes), self.komi))


def komi_evaluator(net: Any, komi: float) -> Any:
    """The evaluator to search with at `komi`: `net` itself at TRAINED_KOMI, for random playouts
    (no `position_estimates`) and for a network without a score head (said on stderr once per
    process); else a KomiEvaluator."""
    global _warned_no_score_head
    if komi == TRAINED_KOMI or not hasattr(net, "position_estimates"):
        return net
    probe = np.zeros((1, *net.input_shape), dtype=np.float32)
    if net.position_estimates(probe).score is None:
        if not _warned_no_score_head:
            print(f"dpv gtp: the network has no score head; at komi {komi:g} it plays with its value head, "
                  f"which was trained at komi {TRAINED_KOMI:g}", file=sys.stderr)
            _warned_no_score_head = True
        return net
    return KomiEvaluator(net, komi)
