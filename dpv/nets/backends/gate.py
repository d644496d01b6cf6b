"""The correctness gate: an inference backend against torch fp32 on the same positions.

On every position (planes and legal masks written by go_engine), for each fixed exit and for
the dynamic forward, the candidate's priors and values are compared with the fp32 reference's:
the mean policy KL(p_fp32 || p_backend) and the largest value error |v - v_fp32| must stay within
`GateBounds`; in the dynamic forward (thresholds at the median exit-0 confidence, so rows leave at
every exit) the same exit must be taken on most positions, and the rows that agree are compared
as above. Optionally a short search (fixed deepest exit, no noise, most visited move) on the
first positions must choose the same move on most of them (or one the fp32 search visited as
often as its own choice): the gate fails when the searches show, by a one-sided binomial test at
level `GateBounds.same_move_level`, that the share is below `GateBounds.min_same_move` (at 95 %:
it fails at 3 disagreements of 16 searches, 7 of 64). A bare share would fail a backend for one
flipped near-tie: the regate after each promotion searches 16 positions, and a backend that agrees
on 97 % of them shows a disagreement 39 % of the time (measured: folded-bf16, policy KL 4.9e-7 and
|dv| 9.5e-3, far inside their bounds, fell back to torch fp32, 4.7x slower, on 15 of 16 searches).
"""
from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from dpv.nets.evaluator import Evaluator
from go_engine import BatchedSearch, Board, ExitPolicy, Player, SearchConfig

GATE_RULE = "same-move binomial test"
"""Names the rule that decides a verdict; a choice cached under another rule is measured again."""
CHUNK = 256
"""Rows per evaluator call (a server-sized batch)."""
PLANES = 17
"""Input planes go_engine writes (`Board.write_planes`: the AlphaGo Zero features)."""


@dataclass(frozen=True)
class GateBounds:
    """What a backend must meet to be used."""

    max_kl: float = 1e-3
    """Largest mean KL(p_fp32 || p_backend) of the priors, over the fixed exits and the dynamic forward."""
    max_value_error: float = 0.02
    """Largest |v_backend - v_fp32| over all positions and modes."""
    min_same_exit: float = 0.95
    """Smallest share of positions on which the dynamic forward leaves at fp32's exit."""
    min_same_move: float = 0.95
    """Share of searched positions on which the search must choose fp32's move: the gate fails when
    the searches show the share below it (`same_move_level`)."""
    same_move_level: float = 0.05
    """Level of the one-sided binomial test of "same-move share >= min_same_move": the gate fails
    when as many disagreements as seen, or more, would have had less than this probability."""

    def same_move_ok(self, agreed: int, searched: int) -> bool:
        """Whether `agreed` same moves in `searched` searches are consistent with a share of at
        least `min_same_move` (see `same_move_level`); True when nothing was searched."""
        return binomial_tail(searched - agreed, searched, 1.0 - self.min_same_move) >= self.same_move_level


BOUNDS = GateBounds()
"""The bounds every backend but an int8 one is gated with."""
INT8_BOUNDS = GateBounds(max_value_error=0.05)
"""The bounds of an int8 backend (openvino-int8): |dv| up to 0.05, 2.5 % of the value range (int8
activations round every stage's output to 1/255 of its calibrated range, and the errors add up
over the stages: 0.020 measured on the untrained tiny preset); KL, same exit and same move as for
the others, so the search must still not be shown to choose fp32's move on fewer than 95 % of the
positions."""


def binomial_tail(k: int, n: int, p: float) -> float:
    """P(X >= k) for X ~ Binomial(n, p)."""
    return sum(math.comb(n, i) * p**i * (1.0 - p) ** (n - i) for i in range(max(k, 0), n + 1))


def bounds_for(backend: str) -> GateBounds:
    """The bounds the backend called `backend` is gated with."""
    return INT8_BOUNDS if backend.endswith("-int8") else BOUNDS


@dataclass(frozen=True)
class GateResult:
    """A backend's gate measurements and verdict."""

    backend: str
    """The backend's name."""
    positions: int
    """Positions compared."""
    source: str
    """Where they came from (stored games or random-policy games)."""
    kl: float
    """The largest mean policy KL over the modes (each fixed exit, dynamic)."""
    value_error: float
    """The largest |dv| over all positions and modes."""
    same_exit: float
    """Share of positions leaving the dynamic forward at fp32's exit."""
    same_move: float | None
    """Share of searched positions where the search chose fp32's move (None: no search)."""
    searched: int
    """Positions searched (0: no search)."""
    passed: bool
    """Whether every measurement is within the bounds."""

    def summary(self) -> str:
        """One line: the measurements and the verdict."""
        move = "" if self.same_move is None else f", same move {self.same_move:.1%} of {self.searched} searches"
        return (f"{self.backend}: {'passed' if self.passed else 'FAILED'} the gate on {self.positions} positions "
                f"({self.source}): policy KL {self.kl:.1e}, |dv| {self.value_error:.1e}, "
                f"dynamic same exit {self.same_exit:.1%}{move}")


def board_inputs(boards: Sequence[Board]) -> tuple[np.ndarray, np.ndarray]:
    """Input planes float32 [n, 17, N, N] and legal masks bool [n, A] of `boards`."""
    size = boards[0].size
    planes = np.zeros((len(boards), PLANES, size, size), np.float32)
    for board, out in zip(boards, planes):
        board.write_planes(out)
    return planes, np.stack([board.legal_actions() for board in boards])


def _chunked(evaluator: Evaluator, planes: np.ndarray, legal: np.ndarray, thresholds: np.ndarray,
             fixed: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    parts = [evaluator(planes[i:i + CHUNK], thresholds[i:i + CHUNK], legal[i:i + CHUNK], fixed[i:i + CHUNK])
             for i in range(0, len(planes), CHUNK)]
    return tuple(np.concatenate(p) for p in zip(*parts))


def _kl(p: np.ndarray, q: np.ndarray) -> np.ndarray:
    p, q = p.astype(np.float64), np.maximum(q.astype(np.float64), 1e-30)
    return np.maximum(np.sum(p * (np.log(np.maximum(p, 1e-30)) - np.log(q)), axis=1), 0.0)  # >= 0 up to rounding


def search_moves(evaluator: Evaluator, boards: Sequence[Board], simulations: float) -> tuple[np.ndarray, np.ndarray]:
    """The move a short search (deepest exit, no noise, most visited move) chooses on each
    board (-1 where the game is over), and its root visit distributions [n, A]."""
    config = SearchConfig(leaves_per_tree=4, reuse_tree=False, temperature_moves=0)
    player = Player(simulations, ExitPolicy.fixed(-1))
    search = BatchedSearch(len(boards), boards[0].size, boards[0].komi, config=config,
                           exit_flops=tuple(evaluator.exit_flops), players=player)
    for g, board in enumerate(boards):
        search.set_board(g, board)
    moves = np.full(len(boards), -1, np.int64)
    visits = np.zeros((len(boards), boards[0].num_actions), np.float32)
    for result in search.search(evaluator):
        moves[result.game], visits[result.game] = result.action, result.pi
    return moves, visits


def same_moves(reference: Evaluator, candidate: Evaluator, boards: Sequence[Board], simulations: float) -> int:
    """How many of `boards` the candidate's search chooses a move on that the reference's search
    visited most (a move tied with the reference's choice counts: the reference breaks ties by
    action order, an untrained network's searches tie often)."""
    moves, visits = search_moves(reference, boards, simulations)
    chosen, _ = search_moves(candidate, boards, simulations)
    rows = np.arange(len(boards))
    best = visits.max(1)
    same = (chosen == moves) | ((chosen >= 0) & (visits[rows, np.maximum(chosen, 0)] >= best - 1e-6))
    return int(same.sum())


def gate(reference: Evaluator, candidate: Evaluator, boards: Sequence[Board], source: str,
         bounds: GateBounds = BOUNDS, searches: int = 64, simulations: float = 32.0) -> GateResult:
    """`candidate` against the fp32 `reference` on `boards` (see the module docstring); the
    first `searches` boards are also searched with `simulations` simulations per move."""
    planes, legal = board_inputs(boards)
    n = len(boards)
    ones, kls, errors = np.ones(n, np.float32), [], []
    for k in range(reference.num_exits):
        fixed = np.full(n, k, np.int64)
        p, v, _ = _chunked(reference, planes, legal, ones, fixed)
        q, w, _ = _chunked(candidate, planes, legal, ones, fixed)
        kls.append(float(_kl(p, q).mean()))
        errors.append(float(np.abs(v - w).max()))
        if k == 0:
            masked = np.where(legal, p, 0.0)
            thresholds = np.full(n, np.median(masked.max(1) / masked.sum(1)), np.float32)
    dynamic = np.full(n, -1, np.int64)
    p, v, e = _chunked(reference, planes, legal, thresholds, dynamic)
    q, w, f = _chunked(candidate, planes, legal, thresholds, dynamic)
    same = e == f
    if same.any():
        kls.append(float(_kl(p[same], q[same]).mean()))
        errors.append(float(np.abs(v[same] - w[same]).max()))
    searched = min(searches, n)
    agreed = same_moves(reference, candidate, boards[:searched], simulations) if searched else 0
    same_move = agreed / searched if searched else None
    kl, error, same_exit = max(kls), max(errors), float(same.mean())
    passed = (kl <= bounds.max_kl and error <= bounds.max_value_error and same_exit >= bounds.min_same_exit
              and bounds.same_move_ok(agreed, searched))
    return GateResult(candidate.backend.name, n, source, kl, error, same_exit, same_move, searched, passed)
