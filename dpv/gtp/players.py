"""Players that choose moves for the GTP engine. Any object with `name` and
`genmove(board, seconds=None, cleanup=False) -> action` plugs in: `RandomPlayer`, and
`MctsPlayer`, the PUCT search over a DPV network with an exit policy (thesis ch. 6.2.3)."""
from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np

from go_engine import Board, action_to_gtp

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


@dataclass
class MoveInfo:
    """One root move of the search, for analysis output (lz-analyze)."""

    action: int
    visits: int
    winrate: float
    """Mean value of the move from the mover's view, mapped to [0, 1]."""
    prior: float


class MctsPlayer:
    """The batched PUCT search with one game (G = 1), kept across moves.

    Every `genmove` first brings the search's game up to `board`: the moves played since the
    last call (ours and the opponent's) are played into it, keeping the subtree of the move
    played; any other change (undo, a new board, loadsgf) starts a fresh tree. The move is the
    most visited root child (sampled by visit count in the first `opening_moves` plies); the search stops at the player's FLOPs budget
    (`simulations x FLOPs(deepest exit)`, eq. 6.5 for dynamic exits) or when `seconds` run out.
    `last` holds the last move's MoveResult (FLOPs, simulations, evaluations per exit).
    """

    def __init__(self, evaluator: Any, exit_flops: list[float], simulations: float = 100.0,
                 exit_policy: Any = None, c_puct: float = 1.5, leaves_per_tree: int = 8, seed: int = 0,
                 opening_moves: int = 0, name: str = "mcts") -> None:
        from go_engine import ExitPolicy, Player as SearchPlayer, SearchConfig

        self.name = name
        self.evaluator = evaluator
        shape = getattr(evaluator, "input_shape", None)
        self.board_size: int | None = shape[-1] if shape else None
        """The board size the network was trained for (None: any, e.g. random playouts)."""
        self.exit_flops = list(exit_flops)
        self.player = SearchPlayer(simulations, exit_policy or ExitPolicy.fixed(-1))
        self.player.exit_policy.resolved_exit(len(self.exit_flops))  # a bad exit fails here
        self.config = SearchConfig(c_puct=c_puct, leaves_per_tree=leaves_per_tree, temperature=1.0,
                                   temperature_moves=opening_moves, reuse_tree=True, root_noise=False)
        self.seed = seed
        self.last = None
        self._search = None
        self._key: tuple = ()
        self._moves: list[int] = []

    def genmove(self, board: Board, seconds: float | None = None, cleanup: bool = False,
                report: Callable[[list[MoveInfo]], None] | None = None, interval: float = 1.0) -> int:
        """Search `board` and return the chosen action (played into the kept tree);
        `report(analysis)` is called every `interval` seconds during the search."""
        result = self.search(board, seconds, report, interval)
        action = result.action
        if cleanup and action == board.size * board.size:
            action = self._cleanup_move(board, action)
        self._search.play(0, action)
        self._moves.append(action)
        return action

    def search(self, board: Board, seconds: float | None = None,
               report: Callable[[list[MoveInfo]], None] | None = None, interval: float = 1.0):
        """Search `board` to the budget (or for `seconds`) without playing; the MoveResult."""
        self._sync(board)
        search = self._search
        deadline = None if seconds is None else time.monotonic() + seconds
        next_report = time.monotonic() + interval
        search.start_search()
        while search.num_searching():
            search.step(self.evaluator)
            now = time.monotonic()
            if deadline is not None and now >= deadline:
                break
            if report is not None and now >= next_report:
                report(self.analysis())
                next_report = now + interval
        self.last = search.results()[0]
        if report is not None:
            report(self.analysis())
        return self.last

    def analysis(self) -> list[MoveInfo]:
        """The visited root moves, most visited first."""
        kids = self._search.root_children(0)
        order = np.lexsort((-kids["prior"], -kids["visits"]))
        return [MoveInfo(int(kids["action"][j]), int(kids["visits"][j]), (float(kids["q"][j]) + 1) / 2,
                         float(kids["prior"][j])) for j in order if kids["visits"][j] > 0]

    def _sync(self, board: Board) -> None:
        from go_engine import BatchedSearch

        key = (board.size, board.komi, board.max_moves)
        history = list(board.history)
        if self._search is None or key != self._key:
            self._search = BatchedSearch(1, board.size, board.komi, config=self.config, exit_flops=self.exit_flops,
                                         players=self.player, seed=self.seed, max_moves=board.max_moves)
            self._key, self._moves = key, []
        if history[:len(self._moves)] == self._moves:
            for action in history[len(self._moves):]:
                self._search.play(0, action)
        else:
            self._search.set_board(0, board)
        self._moves = history

    def _cleanup_move(self, board: Board, pass_action: int) -> int:
        """kgs-genmove_cleanup: instead of passing, the most searched (then most likely) move
        that fills none of our own eyes, if any is left."""
        sensible = board.sensible_actions()
        if sensible[pass_action]:
            return pass_action
        candidates = set(np.flatnonzero(sensible).tolist())
        kids = self._search.root_children(0)
        ranked = sorted((int(v), float(p), int(a)) for a, v, p in zip(kids["action"], kids["visits"], kids["prior"])
                        if int(a) in candidates)
        return ranked[-1][2] if ranked else min(candidates)


def format_analysis(moves: list[MoveInfo], size: int) -> str:
    """Leela Zero's analysis line (`lz-analyze`, read by Sabaki and Lizzie): winrate and prior
    in 1/10000, moves in GTP coordinates."""
    return " ".join(f"info move {action_to_gtp(m.action, size)} visits {m.visits} winrate {round(m.winrate * 10000)} "
                    f"prior {round(m.prior * 10000)} lcb {round(m.winrate * 10000)} order {i} "
                    f"pv {action_to_gtp(m.action, size)}" for i, m in enumerate(moves))


def mcts_player(checkpoint: str | None, exit: str = "-1", simulations: float = 100.0, device: str = "cpu",
                seed: int = 0, runs: str = "runs") -> MctsPlayer:
    """An MctsPlayer on `checkpoint` (default: the newest runs/**/best.pt, else a fresh tiny
    network; which one is said on stderr) with exit policy text `exit` (dpv.arena.spec)."""
    import tempfile

    from dpv.arena.match import load_evaluator
    from dpv.arena.spec import default_network, parse_exit_policy

    policy = parse_exit_policy(exit)
    fresh = f"{tempfile.gettempdir()}/dpv-gtp-fresh-net-{seed}.pt"
    evaluator, flops = load_evaluator(default_network(checkpoint, fresh, runs=runs, seed=seed), device)
    return MctsPlayer(evaluator, flops, simulations, policy, seed=seed, name=f"mcts exit={exit} sims={simulations:g}")
