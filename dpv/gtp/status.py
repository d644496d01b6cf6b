"""`final_status_list dead|alive|seki`: which stones are dead at the end of a game.

The ownership of each point (+1 black's, -1 white's) is the network's ownership head on the
board when the player's network has one (`head_ownership`: Evaluator.position_estimates, the
deepest exit), else (no head, random playouts as the network, another board size) estimated
from the board alone by random playouts to the game's end (go_engine's, filling no own eye),
averaged over `PLAYOUTS` games under area scoring. A chain is dead when its points, on
average, go to the opponent by more than `DEAD_THRESHOLD` (KataGo's rule for its ownership
head, |o| > 0.5).
A living chain is in seki when, with the dead stones taken off, it touches an empty region
that borders both colours and no empty region that borders only its own colour (seki
without eyes, the common case on 9x9).
"""
from __future__ import annotations

from typing import Any

import numpy as np

from go_engine import Board

PLAYOUTS = 64
DEAD_THRESHOLD = 0.5
PLAYOUT_MOVES_PER_POINT = 4  # a playout's move cap, per board point
STATUSES = ("dead", "alive", "seki")


def board_ownership(board: Board, evaluator: Any = None) -> np.ndarray:
    """float [size*size]: the owner of each point of `board` (+1 black, -1 white), from the
    ownership head of `evaluator`'s network where it has one (`head_ownership`), else from
    random playouts (`playout_ownership`)."""
    ownership = head_ownership(board, evaluator)
    return playout_ownership(board) if ownership is None else ownership


def head_ownership(board: Board, evaluator: Any) -> np.ndarray | None:
    """float [size*size]: the ownership head's map of `board` turned to black's view (the
    head speaks for the side to move), or None where `evaluator` has no `position_estimates`
    (random playouts, no network), its network no ownership head, or another board size."""
    estimate = getattr(evaluator, "position_estimates", None)
    shape = getattr(evaluator, "input_shape", None)
    if estimate is None or (shape is not None and shape[-1] != board.size):
        return None
    ownership = estimate(board.planes()[None]).ownership
    return None if ownership is None else ownership[0].astype(np.float64) * board.to_play


def playout_ownership(board: Board, playouts: int = PLAYOUTS, seed: int = 0) -> np.ndarray:
    """float [size*size]: the mean area owner of each point (+1 black, -1 white) at the end of
    `playouts` random games from `board`, which stays as it is."""
    start = _resumed(board)
    total = np.zeros(board.size * board.size)
    for game in range(playouts):
        scratch = start.copy()
        scratch.random_playout(seed + game, fill_own_eyes=False)
        total += scratch.ownership()
    return total / playouts


def _resumed(board: Board) -> Board:
    """`board`'s game without its closing passes and with room for a playout past the move cap:
    a finished game's board takes no more moves."""
    history = list(board.history)
    pass_action = board.size * board.size
    while history and history[-1] == pass_action:
        history.pop()
    resumed = Board(size=board.size, komi=board.komi, max_moves=len(history) + PLAYOUT_MOVES_PER_POINT * pass_action)
    for action in history:
        resumed.play(action)
    return resumed


def final_status(board: Board, ownership: np.ndarray) -> dict[str, list[list[int]]]:
    """The chains of `board` (each a sorted list of actions) that are dead, alive and in seki
    under `ownership` (float [size*size], +1 black's), in action order."""
    size = board.size
    stones = board.stones().reshape(-1).astype(int)
    chains = _regions(stones, size, lambda point: stones[point] != 0)
    dead = [chain for chain in chains if stones[chain[0]] * ownership[chain].mean() < -DEAD_THRESHOLD]
    living = stones.copy()
    for chain in dead:
        living[chain] = 0
    seki = [chain for chain in chains if chain not in dead and _is_seki(chain, living, size)]
    alive = [chain for chain in chains if chain not in dead and chain not in seki]
    return dict(zip(STATUSES, (dead, alive, seki)))


def _is_seki(chain: list[int], living: np.ndarray, size: int) -> bool:
    """Whether `chain` (stones of `living`) touches a shared empty region and no eye of its own."""
    colour = living[chain[0]]
    touches_shared = False
    for region in _regions(living, size, lambda point: living[point] == 0):
        borders = {int(living[q]) for p in region for q in _neighbours(p, size) if living[q] != 0}
        if not any(q in chain for p in region for q in _neighbours(p, size)):
            continue
        if borders == {colour}:
            return False
        touches_shared = touches_shared or len(borders) == 2
    return touches_shared


def _regions(points: np.ndarray, size: int, member) -> list[list[int]]:
    """The connected groups of points where `member(point)` holds, of one value of `points` each."""
    seen: set[int] = set()
    regions = []
    for start in range(size * size):
        if start in seen or not member(start):
            continue
        region, stack = [], [start]
        seen.add(start)
        while stack:
            point = stack.pop()
            region.append(point)
            for q in _neighbours(point, size):
                if q not in seen and member(q) and points[q] == points[start]:
                    seen.add(q)
                    stack.append(q)
        regions.append(sorted(region))
    return regions


def _neighbours(point: int, size: int) -> list[int]:
    row, column = divmod(point, size)
    return [r * size + c for r, c in ((row - 1, column), (row + 1, column), (row, column - 1), (row, column + 1))
            if 0 <= r < size and 0 <= c < size]
