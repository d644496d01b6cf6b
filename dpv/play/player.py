"""`MctsPlayer`: the batched PUCT search over one network for one game at a time (G = 1), its
tree kept across moves (thesis ch. 6.2.3). The player of `dpv gtp` and of the arena's games
against external engines."""
from __future__ import annotations

import math
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np

from dpv.play.settings import SearchSettings, default_settings
from go_engine import Board

LCB_Z = 1.96
"""Normal quantile of MoveInfo.lcb (one-sided 97.5 %)."""
MAX_ANALYSIS_VISITS = 100_000
"""Root visits at which an endless search (`think(endless=True)`, lz-analyze) stops growing its
tree: about 200 MB of nodes on 9x9."""


@dataclass(frozen=True)
class MoveInfo:
    """One root move of the search, for analysis output (lz-analyze); its principal variation
    is `MctsPlayer.variations`."""

    action: int
    """The move."""
    visits: int
    """Visits of the move at the root."""
    winrate: float
    """Mean value of the move from the mover's view, mapped to [0, 1]."""
    prior: float
    """The network's prior of the move (after renormalisation over legal moves)."""

    @property
    def lcb(self) -> float:
        """A lower confidence bound of `winrate`: winrate - z sqrt(w (1 - w) / visits), clipped
        to [0, 1] (the normal approximation of a win rate; the tree keeps no value variance);
        0 for a move without visits."""
        if not self.visits:
            return 0.0
        w = self.winrate
        return min(1.0, max(0.0, w - LCB_Z * math.sqrt(max(0.0, w * (1 - w)) / self.visits)))


@dataclass(frozen=True)
class SearchProgress:
    """Where the search of the position being analysed (or searched last) stands, for the
    analysis output's `dpv` extension (dpv.gtp.analysis): BatchedSearch.search_progress summed
    over the budget rounds of one `think`."""

    flops: float
    """FLOPs spent so far on the position, over every round (an endless analysis passes the
    budget: each spent budget starts another round on the same tree)."""
    budget_flops: float
    """The FLOPs budget of one move (one round)."""
    simulations: int
    """Simulations backed up so far, over every round."""
    evals_per_exit: tuple[int, ...]
    """Network evaluations answered at each exit so far, shallowest first, over every round."""


class MctsPlayer:
    """The batched PUCT search with one game (G = 1), kept across moves.

    Every `genmove` first brings the search's game up to `board`: the moves played since the
    last call (ours and the opponent's) are played into it, keeping the subtree of the move
    played; any other change (undo, a new board, loadsgf) starts a fresh tree. The move is the
    most visited root child (sampled by visit count in the first `settings.opening_moves`
    plies); the search stops at the player's FLOPs budget (`simulations x FLOPs(deepest
    exit)`, eq. 6.5 for dynamic exits) or when `seconds` run out. `last` holds the last move's
    MoveResult (FLOPs, simulations, evaluations per exit).
    """

    def __init__(self, evaluator: Any, exit_flops: list[float], simulations: float = 100.0,
                 exit_policy: Any = None, settings: SearchSettings | None = None, seed: int = 0,
                 name: str = "mcts") -> None:
        """`exit_flops`: the network's FLOPs per exit; `settings`: default_settings("gtp")
        when None; the search runs in the `gtp` role (no noise, no resignation, tree reuse)."""
        from go_engine import ExitPolicy, Player as SearchPlayer

        self.name = name
        self.evaluator = evaluator
        shape = getattr(evaluator, "input_shape", None)
        self.board_size: int | None = shape[-1] if shape else None
        """The board size the network was trained for (None: any, e.g. random playouts)."""
        self.exit_flops = list(exit_flops)
        self.player = SearchPlayer(simulations, exit_policy or ExitPolicy.fixed(-1), exit_flops=tuple(self.exit_flops))
        self.player.exit_policy.resolved_exit(len(self.exit_flops))  # a bad exit fails here
        self.settings = settings or default_settings("gtp")
        self.config = self.settings.engine_config("gtp")
        self.seed = seed
        self.last = None
        self._search = None
        self._rounds: list[dict] = []  # the spent rounds of the current think (search_progress)
        self._key: tuple = ()
        self._moves: list[int] = []

    @property
    def budget_flops(self) -> float:
        """The FLOPs budget of one move: simulations x FLOPs of the deepest exit."""
        return self.player.simulations * self.exit_flops[-1]

    def genmove(self, board: Board, seconds: float | None = None, cleanup: bool = False) -> int:
        """Search `board` and return the chosen action (played into the kept tree). With
        `cleanup` (kgs-genmove_cleanup) no pass while a move that fills none of our own eyes
        is left."""
        self.search(board, seconds)
        return self.play_chosen(board, cleanup)

    def play_chosen(self, board: Board, cleanup: bool = False) -> int:
        """The move of the search just run on `board` (`search` or `think` to its end), played
        into the kept tree; `cleanup` as in `genmove`."""
        action = self.last.action
        if cleanup and action == board.size * board.size:
            action = self._cleanup_move(board, action)
        self._search.play(0, action)
        self._moves.append(action)
        return action

    def search(self, board: Board, seconds: float | None = None):
        """Search `board` to the budget (or for `seconds`) without playing; the MoveResult."""
        for _ in self.think(board, seconds):
            pass
        return self.last

    def think(self, board: Board, seconds: float | None = None, clock: Callable[[], float] = time.monotonic,
              endless: bool = False) -> Iterator[None]:
        """Search `board` one batched step at a time, yielding after every step, so that the
        caller can report (`analysis()`) or stop between steps. The search ends at the budget
        or when `seconds` have passed on `clock`, and `last` then holds its MoveResult; with
        `endless` (analysis) each spent budget starts another on the same tree, until the
        caller stops or the root has MAX_ANALYSIS_VISITS visits."""
        self._sync(board)
        search = self._search
        deadline = None if seconds is None else clock() + seconds
        self._rounds = []
        searching = search.start_search()
        while searching:
            search.step(self.evaluator)
            yield
            if deadline is not None and clock() >= deadline:
                break
            if not search.num_searching():
                if not endless:
                    break
                if search.tree_info(0)["root_visits"] >= MAX_ANALYSIS_VISITS:
                    return
                self._rounds.append(search.search_progress(0))
                searching = search.start_search()
        self.last = search.results()[0]

    def analysis(self, min_moves: int = 0, max_moves: int | None = None) -> list[MoveInfo]:
        """The visited root moves, most visited first (then by prior), padded with unvisited
        ones by prior up to `min_moves` and cut at `max_moves`; an unvisited move has the
        root's mean winrate."""
        kids = self._search.root_children(0)
        order = np.lexsort((-kids["prior"], -kids["visits"]))
        visits = kids["visits"]
        count = max(int(np.count_nonzero(visits)), min(min_moves, len(order)))
        if max_moves is not None:
            count = min(count, max_moves)
        root_q = float(np.dot(kids["q"], visits) / visits.sum()) if visits.sum() else 0.0
        return [MoveInfo(int(kids["action"][j]), int(visits[j]),
                         (float(kids["q"][j] if visits[j] else root_q) + 1) / 2, float(kids["prior"][j]))
                for j in order[:count]]

    def search_progress(self) -> SearchProgress:
        """The FLOPs, simulations and evaluations per exit the current (or last) `think` has
        spent so far, over its rounds, and the budget of one round; call it between steps."""
        rounds = [*self._rounds, self._search.search_progress(0)]
        evals = np.sum([r["evals_per_exit"] for r in rounds], axis=0)
        return SearchProgress(flops=sum(r["spent"] for r in rounds), budget_flops=rounds[-1]["budget"],
                              simulations=sum(r["simulations"] for r in rounds),
                              evals_per_exit=tuple(int(n) for n in evals))

    def variations(self, max_length: int = 10) -> dict[int, list[int]]:
        """Each root move's principal variation (BatchedSearch.principal_variation): the move,
        then the most visited reply below it, and so on, `max_length` moves at most."""
        return self._search.principal_variation(0, max_length)

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
