"""Players that choose moves for the GTP engine. Any object with `name` and
`genmove(board) -> action` plugs in; MCTS players join later through the same interface."""
from __future__ import annotations

from typing import Protocol

import numpy as np

from go_engine import Board

RESIGN = -1  # what `genmove` returns to resign


class Player(Protocol):
    """Chooses a move for the side to play on `board`."""

    name: str

    def genmove(self, board: Board) -> int:
        """An action legal on `board` (`board.size ** 2` is pass), or RESIGN."""
        ...


class RandomPlayer:
    """Plays uniformly among legal moves that do not fill one of its own single-point eyes;
    passes when nothing else is left."""

    name = "random"

    def __init__(self, seed: int | None = None) -> None:
        self._rng = np.random.default_rng(seed)

    def genmove(self, board: Board) -> int:
        pass_action = board.size * board.size
        legal = np.flatnonzero(board.legal_actions()[:pass_action])
        candidates = [a for a in legal if not board.is_own_eye(int(a))]
        if not candidates:
            return pass_action
        return int(self._rng.choice(candidates))
