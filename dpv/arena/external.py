"""Matches of a search player against an external GTP engine (GNU Go, another `dpv gtp`,
any GTP v2 program), refereed by dpv.play.referee.

Our player is an `MctsPlayer` (dpv.play.player) in the worker's process, seated as a
`SearchSeat`; the opponent is a subprocess per chunk of games behind a `GtpSeat`, reused across
them with `clear_board`. Both sides generate moves the `kgs-genmove_cleanup` way when they
can, so that games are played out until the dead stones are captured and the referee's area
score agrees with the engines' `final_score`. Our player samples its first
`search.opening_moves` moves by visit count (the opponent may be deterministic).
"""
from __future__ import annotations

import math
import shlex
from collections.abc import Sequence
from pathlib import Path

from dpv.arena.match import MatchConfig, chunk_size, chunked, map_chunks, save_report
from dpv.arena.report import GameOutcome, MatchReport, PlayerTotals, collect
from dpv.arena.spec import PlayerSpec
from dpv.play.gtp_client import GtpClient, GtpError
from dpv.play.match import a_colour_of
from dpv.play.networks import load_evaluator, network_flops
from dpv.play.player import MctsPlayer
from dpv.play.referee import GtpSeat, SearchSeat, play_game


def play_external_games(a: PlayerSpec, opponent: str, config: MatchConfig, indices: Sequence[int],
                        threads: int | None = None) -> list[GameOutcome]:
    """Play the games numbered `indices` between A (our search) and the GTP engine started
    by the command line `opponent`."""
    if threads:
        import torch

        torch.set_num_threads(threads)
    evaluator, flops = load_evaluator(a.checkpoint, config.device)
    player = a.search_player(flops, config.budget)
    outcomes = []
    with GtpClient(opponent) as client:
        theirs = GtpSeat(client)
        for index in indices:
            mcts = MctsPlayer(evaluator, flops, player.simulations, player.exit_policy, settings=config.search,
                              seed=config.seed * 1_000_003 + index, name=a.label)
            ours = SearchSeat(mcts, name="dpv")
            colour = a_colour_of(index)
            black, white = (ours, theirs) if colour == 1 else (theirs, ours)
            try:
                result = play_game(black, white, size=config.board_size, komi=config.komi, max_moves=config.max_moves)
            except GtpError as err:
                raise ValueError(f"game {index}: {err}") from None
            score = result.referee_score if not result.resigned else math.copysign(math.inf, -result.resigned)
            totals = PlayerTotals(budget_flops=mcts.budget_flops)
            comments: list[str | None] = [None] * len(result.moves)
            for number, search in ours.searches.items():
                totals.add_move(search.flops, search.simulations, search.evals_per_exit.tolist())
                comments[number] = (f"dpv: value {search.root_value:+.3f}, {search.simulations} simulations, "
                                    f"{search.flops:.3g} FLOPs, evaluations per exit {search.evals_per_exit.tolist()}")
            outcomes.append(GameOutcome(
                index=index, a_colour=colour, winner=result.winner, score=score, moves=result.moves,
                comments=comments, a=totals, b=PlayerTotals(), final_scores=result.final_scores))  # type: ignore[arg-type]
    return outcomes


def run_external_match(a: PlayerSpec, opponent: str, config: MatchConfig, out: str | Path | None = None,
                       show_progress: bool = True) -> MatchReport:
    """Play `config.games` games of A against the GTP engine `opponent` (a command line), write
    an SGF per game and `match.json` under `out` (if given), and return the report."""
    if not a.checkpoint:
        raise ValueError("run_external_match needs A's checkpoint (see dpv.play.networks.default_network)")
    if not shlex.split(opponent):
        raise ValueError("--opponent needs a command line, e.g. \"gnugo --mode gtp --level 5\"")
    a.search_player(network_flops(a.checkpoint), config.budget)  # a bad spec fails here
    b = PlayerSpec(name=opponent)
    chunks = chunked(range(config.games), chunk_size(config))
    report = collect(a, b, config.budget, map_chunks(play_external_games, (a, opponent, config), chunks,
                                                     config.workers, config.executor),
                     config.games, show_progress)
    return save_report(report, out, config)
