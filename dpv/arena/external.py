"""Matches of a search player against an external GTP engine (GNU Go, another `dpv gtp`,
any GTP v2 program), refereed by dpv.play.referee.

Our player is an `MctsPlayer` (dpv.play.player) in the worker's process, seated as a
`SearchSeat` that times its moves; the opponent is a subprocess per chunk of games behind a `GtpSeat`, reused across
them with `clear_board`. Both sides generate moves the `kgs-genmove_cleanup` way when they
can, so that games are played out until the dead stones are captured and the referee's area
score agrees with the engines' `final_score`. Our player samples its first
`search.opening_moves` moves by visit count (the opponent may be deterministic).

The opponent is checked before any game (it starts, speaks GTP 2, tells its name) and must
answer every command within `timeout` seconds. An opponent that dies, falls silent or refuses
a move ends the match with a one-line error; the games finished before are kept (their SGFs and
match.json are written). A side that generates an illegal move loses that game by forfeit
(dpv.play.referee; SGF result "B+F" / "W+F", the ruling in the last move's comment,
`forfeits` in match.json) and the match goes on.
"""
from __future__ import annotations

import contextlib
import math
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from dpv.arena.match import MatchConfig, chunk_size, chunked, map_chunks, save_report
from dpv.arena.report import GameOutcome, MatchReport, PlayerTotals, collect
from dpv.arena.spec import PlayerSpec
from dpv.play.gtp_client import GtpClient, GtpError
from dpv.play.match import a_colour_of
from dpv.play.networks import load_evaluator, network_flops
from dpv.play.player import MctsPlayer
from dpv.play.referee import GtpSeat, SearchSeat, play_game
from go_engine import Player as SearchPlayer

DEFAULT_TIMEOUT = 60.0
"""Seconds the opponent may take to answer one command (a move included)."""


@dataclass(frozen=True)
class ExternalChunk:
    """What one chunk of games against the external engine sends back."""

    outcomes: list[GameOutcome]
    """The games finished, in order."""
    error: str | None = None
    """Why the chunk stopped early (the opponent died, fell silent, refused or played an
    illegal move), naming the game; None when every game was played."""


def play_external_games(a: PlayerSpec, opponent: str, config: MatchConfig, timeout: float, indices: Sequence[int],
                        threads: int | None = None) -> ExternalChunk:
    """Play the games numbered `indices` between A (our search) and the GTP engine started
    by the command line `opponent` (each answer awaited at most `timeout` seconds); stops at
    the first game the engine fails in."""
    if threads:
        import torch

        torch.set_num_threads(threads)
    evaluator, flops = load_evaluator(a.checkpoint, config.device)
    player = a.search_player(flops, config.budget)
    outcomes: list[GameOutcome] = []
    index = indices[0]
    try:
        with GtpClient(opponent, timeout=timeout) as client:
            theirs = GtpSeat(client)
            for index in indices:
                outcomes.append(_play_one(a, evaluator, flops, player, theirs, config, index))
    except GtpError as err:
        return ExternalChunk(outcomes, f"game {index}: {err}")
    return ExternalChunk(outcomes)


class TimedSearchSeat(SearchSeat):
    """A SearchSeat that also times each of its moves: `seconds` maps the move numbers it played
    to their think time on `clock` (the report's seconds per move)."""

    def __init__(self, player: MctsPlayer, name: str = "dpv", clock: Callable[[], float] = time.perf_counter) -> None:
        super().__init__(player, name)
        self.clock = clock
        self.seconds: dict[int, float] = {}

    def new_game(self, size: int, komi: float) -> None:
        """A fresh board and no move times."""
        super().new_game(size, komi)
        self.seconds = {}

    def genmove(self, colour: int) -> int:
        """The search's move (SearchSeat.genmove), timed."""
        number, start = self.board.move_count, self.clock()
        action = super().genmove(colour)
        self.seconds[number] = self.clock() - start
        return action


def _play_one(a: PlayerSpec, evaluator: Any, flops: list[float], player: SearchPlayer, theirs: GtpSeat,
              config: MatchConfig, index: int) -> GameOutcome:
    """Game `index` of our search (A, as `player` over `evaluator`) against the engine's seat."""
    mcts = MctsPlayer(evaluator, flops, player.simulations, player.exit_policy, settings=config.search,
                      seed=config.seed * 1_000_003 + index, name=a.label)
    ours = TimedSearchSeat(mcts, name="dpv")
    colour = a_colour_of(index)
    black, white = (ours, theirs) if colour == 1 else (theirs, ours)
    result = play_game(black, white, size=config.board_size, komi=config.komi, max_moves=config.max_moves)
    loser = result.resigned or result.forfeited
    score = math.copysign(math.inf, -loser) if loser else result.referee_score
    totals = PlayerTotals(budget_flops=mcts.budget_flops)
    comments: list[str | None] = [None] * len(result.moves)
    for number, search in ours.searches.items():
        totals.add_move(search.flops, search.simulations, search.evals_per_exit.tolist(), ours.seconds[number])
        comments[number] = (f"dpv: value {search.root_value:+.3f}, {search.simulations} simulations, "
                            f"{search.flops:.3g} FLOPs, evaluations per exit {search.evals_per_exit.tolist()}")
    if result.illegal and comments:
        comments[-1] = "; ".join(filter(None, [comments[-1], f"referee: {result.illegal}; forfeit"]))
    return GameOutcome(index=index, a_colour=colour, winner=result.winner, score=score, moves=result.moves,
                       comments=comments, a=totals, b=PlayerTotals(), final_scores=result.final_scores,
                       forfeit=bool(result.forfeited))  # type: ignore[arg-type]


def check_opponent(opponent: str, timeout: float) -> str:
    """The start-up check of the engine `opponent` (a command line): it starts, answers
    `protocol_version` with 2 and tells its `name` (returned) within `timeout` seconds each;
    a one-line ValueError otherwise."""
    try:
        with GtpClient(opponent, timeout=timeout) as client:
            return client.check_started()
    except GtpError as err:
        raise ValueError(f"--opponent: {err}") from None


def run_external_match(a: PlayerSpec, opponent: str, config: MatchConfig, out: str | Path | None = None,
                       show_progress: bool = True, timeout: float = DEFAULT_TIMEOUT) -> MatchReport:
    """Play `config.games` games of A against the GTP engine `opponent` (a command line, each
    answer awaited at most `timeout` seconds), write an SGF per game and `match.json` under
    `out` (if given), and return the report. When the engine fails, the games finished are
    written and a one-line ValueError says why and what was kept."""
    if not a.checkpoint:
        raise ValueError("run_external_match needs A's checkpoint (see dpv.play.networks.default_network)")
    if not timeout > 0:
        raise ValueError(f"the opponent's timeout must be a positive number of seconds, not {timeout}")
    a.search_player(network_flops(a.checkpoint), config.budget)  # a bad spec fails here
    check_opponent(opponent, timeout)
    b = PlayerSpec(name=opponent)
    chunks = chunked(range(config.games), chunk_size(config))
    errors: list[str] = []

    def outcomes(done: Iterator[ExternalChunk]) -> Iterator[list[GameOutcome]]:
        for chunk in done:
            yield chunk.outcomes
            if chunk.error:
                errors.append(chunk.error)
                return

    with contextlib.closing(map_chunks(play_external_games, (a, opponent, config, timeout), chunks,
                                       config.workers, config.executor)) as done:
        report = collect(a, b, config.budget, outcomes(done), config.games, show_progress)
    save_report(report, out, config)
    if errors:
        kept = f" kept in {out}/" if out is not None else ""
        raise ValueError(f"the opponent failed in {errors[0]}; the match stopped ({report.games} finished games{kept})")
    return report
