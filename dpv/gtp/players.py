"""Players that choose moves for the GTP engine. Any object with `name` and
`genmove(board, seconds=None, cleanup=False) -> action` plugs in: `RandomPlayer`, and
`dpv.play.player.MctsPlayer`, the PUCT search over a DPV network with an exit policy (thesis
ch. 6.2.3), made from a checkpoint by `mcts_player`."""
from __future__ import annotations

from typing import TYPE_CHECKING, Protocol

import numpy as np

from go_engine import Board

if TYPE_CHECKING:
    from dpv.play.player import MctsPlayer

RESIGN = -1  # what `genmove` returns to resign


class Player(Protocol):
    """Chooses a move for the side to play on `board`."""

    name: str

    def genmove(self, board: Board, seconds: float | None = None, cleanup: bool = False) -> int:
        """An action legal on `board` (`board.size ** 2` is pass), or RESIGN; within about
        `seconds` when given; with `cleanup`, no pass while a move that fills none of the
        mover's own eyes remains (kgs-genmove_cleanup: play out dead stones)."""
        ...


class RandomPlayer:
    """Plays uniformly among legal moves that do not fill one of its own single-point eyes;
    passes when nothing else is left."""

    name = "random"

    def __init__(self, seed: int | None = None) -> None:
        self._rng = np.random.default_rng(seed)

    def genmove(self, board: Board, seconds: float | None = None, cleanup: bool = False) -> int:
        return int(self._rng.choice(np.flatnonzero(board.sensible_actions())))


def mcts_player(checkpoint: str | None, exit: str = "-1", simulations: float = 100.0, device: str = "cpu",
                seed: int = 0, runs: str = "runs") -> MctsPlayer:
    """An MctsPlayer on `checkpoint` (default: the newest runs/**/best.pt, else the shipped network, else a fresh
    network, loaded from a private temporary directory; which one is said on stderr) with exit policy text
    `exit` (dpv.play.exits), in the GTP role of dpv.play.settings."""
    import tempfile
    from pathlib import Path

    from dpv.play.exits import parse_exit_policy
    from dpv.play.networks import default_network, load_evaluator
    from dpv.play.player import MctsPlayer

    policy = parse_exit_policy(exit)
    with tempfile.TemporaryDirectory(prefix="dpv-gtp-") as private:  # mode 0700, removed once loaded
        evaluator, flops = load_evaluator(default_network(checkpoint, Path(private) / "fresh-net.pt", runs=runs,
                                                          seed=seed), device)
    return MctsPlayer(evaluator, flops, simulations, policy, seed=seed, name=f"mcts exit={exit} sims={simulations:g}")
