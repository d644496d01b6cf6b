"""The one match loop: games between two search players A and B through the batched search,
colours alternating (A is black in the even-numbered games), both players' leaves evaluated in
the same steps, every game played to its end. Gating (dpv.selfplay.gating) and the arena
(dpv.arena.match) both play their games here.

The two players may use any two networks (different blocks, channels and number of exits):
each `go_engine.Player` carries its own FLOPs table, so each is budgeted `simulations x
FLOPs(its deepest exit)` per move and charged the FLOPs of its own exits. When both players
share one evaluator, one search holds all the games and every step is one batch; otherwise
the games are split by A's colour into two searches, each routing a leaf to the network of the
player to move through the `(black_evaluator, white_evaluator)` pair. The search runs in the
`match` role of `SearchSettings.engine_config`: no noise, no resignation, no tree reuse.

With a clock (`seconds_per_move`, the arena's `--budget equal-time`) every move searches for
that long on the clock (`timed_move`) instead of to its FLOPs budget, and the games are always
split by A's colour, so that each step evaluates the leaves of one player only and each player
pays for its own exits' time. The games of one search move together: `seconds_per_move` is
the time of one batched move of all of them, the same for both players.
"""
from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

import numpy as np

from dpv.play.settings import SearchSettings

if TYPE_CHECKING:
    from go_engine import BatchedSearch, MoveResult, Player


def a_colour_of(index: int) -> int:
    """A's colour in game `index`: black (+1) in even games, white (-1) in odd ones."""
    return 1 if index % 2 == 0 else -1


@dataclass(frozen=True)
class MatchPlayer:
    """One side of a match."""

    evaluator: Any
    """The search's evaluator of this side's network (go_engine.search's calling convention);
    the same object on both sides means one network and one batch."""
    player: Player
    """Its go_engine.Player: budget, exit policy and `exit_flops` (the network's FLOPs per exit,
    required: each side is charged its own)."""

    def __post_init__(self) -> None:
        if self.player.exit_flops is None:
            raise ValueError("a match player's go_engine.Player needs the exit_flops of its network")


@dataclass(frozen=True)
class MoveSearch:
    """What the search of one move spent."""

    side: int
    """0: A moved, 1: B moved."""
    root_value: float
    """Mean backed-up value at the root, from the mover's view."""
    flops: float
    """FLOPs charged to the move (the mover's own exits)."""
    simulations: int
    """Simulations below the root."""
    evals_per_exit: tuple[int, ...]
    """Evaluations per exit of the mover's network."""
    seconds: float = 0.0
    """Seconds the move's (batched) search took on the clock; 0 where the search ran to its
    FLOPs budget untimed."""


@dataclass(frozen=True)
class PlayedGame:
    """One finished game of a match."""

    index: int
    """The game's number in the match (its parity gives the colours, see `a_colour_of`)."""
    a_colour: int
    """+1: A played black, -1: white."""
    winner: int
    """+1 black, -1 white, 0 draw."""
    score: float
    """Black minus white minus komi (Tromp-Taylor) of the final board."""
    moves: tuple[int, ...]
    """The actions played, black first."""
    searches: tuple[MoveSearch, ...]
    """One per move, in the order of `moves`."""

    @property
    def a_result(self) -> int:
        """+1 when A won, -1 when B won, 0 for a draw."""
        return self.winner * self.a_colour


def play_games(a: MatchPlayer, b: MatchPlayer, indices: Sequence[int], settings: SearchSettings,
               board_size: int = 9, komi: float = 7.5, max_moves: int | None = None,
               seed: int = 0, seconds_per_move: float | None = None,
               clock: Callable[[], float] = time.monotonic) -> list[PlayedGame]:
    """Play the games numbered `indices` between A and B to the end; the games in index order.

    `seed` seeds the searches: the search of the games where A is black (or of all games, with
    one shared evaluator) gets `seed`, the one where A is white `seed + 1`. With
    `seconds_per_move` each move searches that long on `clock` (seconds; see `timed_move`)."""
    from go_engine import BatchedSearch

    config = settings.engine_config("match")
    groups: list[tuple[Any, Any, list[int]]] = []  # (search, evaluator or pair, game index of each slot)

    def new_search(slots: list[int], black: Any, white: Any, salt: int) -> Any:
        return BatchedSearch(len(slots), board_size, komi, config=config, exit_flops=a.player.exit_flops,
                             players=(black, white), seed=seed + salt, max_moves=max_moves)

    if a.evaluator is b.evaluator and seconds_per_move is None:
        slots = list(indices)
        search = new_search(slots, a.player, b.player, 0)
        for g, index in enumerate(slots):
            if a_colour_of(index) == -1:
                search.set_players(g, b.player, a.player)
        groups.append((search, a.evaluator, slots))
    else:
        for salt, (colour, black, white) in enumerate(((1, a, b), (-1, b, a))):
            slots = [i for i in indices if a_colour_of(i) == colour]
            if slots:
                search = new_search(slots, black.player, white.player, salt)
                evaluator = black.evaluator if black.evaluator is white.evaluator else (black.evaluator,
                                                                                       white.evaluator)
                groups.append((search, evaluator, slots))

    searches: dict[int, list[MoveSearch]] = {i: [] for i in indices}
    played = []
    while any(search.active_games() for search, _, _ in groups):
        for search, evaluator, slots in groups:
            if not search.active_games():
                continue
            start = clock()
            results = (search.run_move(evaluator) if seconds_per_move is None
                       else timed_move(search, evaluator, seconds_per_move, clock))
            seconds = 0.0 if seconds_per_move is None else clock() - start
            for r in results:
                index = slots[r.game]
                searches[index].append(MoveSearch(
                    side=0 if r.player == a_colour_of(index) else 1, root_value=float(r.root_value),
                    flops=float(r.flops), simulations=int(r.simulations),
                    evals_per_exit=tuple(int(e) for e in r.evals_per_exit), seconds=seconds))
                if r.game_over:
                    board = search.board(r.game)
                    played.append(PlayedGame(index=index, a_colour=a_colour_of(index), winner=search.winner(r.game),
                                             score=float(board.score()), moves=tuple(board.history),
                                             searches=tuple(searches.pop(index))))
    return sorted(played, key=lambda game: game.index)


def timed_move(search: BatchedSearch, evaluator: Any, seconds: float,
               clock: Callable[[], float] = time.monotonic) -> list[MoveResult]:
    """One move of every unfinished game of `search`, searched for `seconds` on `clock`, then
    played. The clock is read once after each step; the next step starts only if the time left
    is at least what the last step took, so a move ends at most one step's time early and past
    its deadline only when a step takes longer than the one before it. Each player's FLOPs
    budget is one round, and a round spent with time left starts another on the same tree
    (every game of the search together, once none searches). The MoveResults' FLOPs,
    simulations and evaluations per exit are summed over the rounds. At least one step runs,
    so that the root is evaluated. The `match` role never resigns, so every move is played."""
    games = search.active_games()
    spent = dict.fromkeys(games, (0.0, 0, 0))  # (FLOPs, simulations, evaluations per exit) of the finished rounds

    def add_round() -> None:
        for g in games:
            flops, sims, evals = spent[g]
            progress = search.search_progress(g)
            spent[g] = (flops + progress["spent"], sims + progress["simulations"],
                        evals + np.asarray(progress["evals_per_exit"]))

    last = clock()
    deadline = last + seconds
    search.start_search()
    while True:
        search.step(evaluator)
        now = clock()
        step_seconds, last = now - last, now
        if now + step_seconds > deadline:  # the next step, as long as this one, would end past the deadline
            break
        if not search.num_searching():
            add_round()
            search.start_search()
    add_round()
    results = []
    for r in search.results():
        flops, sims, evals = spent[r.game]
        r = replace(r, flops=flops, simulations=sims, evals_per_exit=np.asarray(evals, np.int64))
        search.play(r.game, r.action)
        r.game_over = search.is_finished(r.game)
        results.append(r)
    return results
