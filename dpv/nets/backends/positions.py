"""Positions for the correctness gate: replays of stored games, or short random-policy games.

Both return go_engine Boards, so the gate can write their input planes and legal masks and
search them. No torch import.
"""
from __future__ import annotations

from collections.abc import Iterable, Sequence

import numpy as np

from go_engine import Board


def random_game_boards(n: int, size: int = 9, komi: float = 7.5, seed: int = 0) -> list[Board]:
    """`n` positions of games played by the random policy over sensible moves (never filling
    an own eye, `Board.sensible_actions`), every position of each game from the empty board on,
    as many games as needed."""
    rng = np.random.default_rng(seed)
    boards: list[Board] = []
    while len(boards) < n:
        board = Board(size, komi)
        while not board.is_over() and len(boards) < n:
            boards.append(board.copy())
            board.play(int(rng.choice(np.flatnonzero(board.sensible_actions()))))
    return boards


def replay_boards(games: Iterable[Sequence[int]], n: int, size: int = 9, komi: float = 7.5) -> list[Board]:
    """Up to `n` positions of stored games, each given as its actions, replayed from the empty
    board (every position of a game before its last move, game after game)."""
    boards: list[Board] = []
    for actions in games:
        board = Board(size, komi)
        for action in actions:
            if len(boards) == n:
                return boards
            boards.append(board.copy())
            board.play(int(action))
    return boards
