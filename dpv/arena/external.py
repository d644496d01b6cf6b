"""Matches of a search player against an external GTP engine (GNU Go, another `dpv gtp`,
any GTP v2 program), refereed by dpv.gtp.referee.

Our player is a `GtpEngine` around an `MctsPlayer`, run in the worker's process behind
`EngineClient` (the GtpClient interface, no subprocess); the opponent is a subprocess per
chunk of games, reused across them with `clear_board`. Both sides generate moves with
`kgs-genmove_cleanup` when they know it, so that games are played out until the dead stones
are captured and the referee's area score agrees with the engines' `final_score`. Our player
samples its first `opening_moves` moves by visit count (the opponent may be deterministic).
"""
from __future__ import annotations

import math
import shlex
from collections.abc import Sequence
from pathlib import Path

from dpv.arena.match import (MatchConfig, chunk_size, chunked, load_evaluator, map_chunks, network_flops,
                             save_report)
from dpv.arena.report import GameOutcome, MatchReport, PlayerTotals, a_colour_of, collect
from dpv.arena.spec import PlayerSpec
from dpv.gtp.client import GtpClient, GtpError
from dpv.gtp.engine import GtpEngine

GENMOVE_COMMANDS = ("genmove", "kgs-genmove_cleanup")


class EngineClient:
    """A GtpEngine in this process, driven like a `GtpClient`: `command(line)` returns the
    answer text or raises GtpError. Records the search of every move it generates."""

    def __init__(self, engine: GtpEngine, name: str = "dpv") -> None:
        self.engine = engine
        self.name = name
        self.totals = PlayerTotals()
        self.comments: dict[int, str] = {}  # move number (0-based) -> our search of that move

    def command(self, line: str) -> str:
        """Send one command and return the engine's successful answer."""
        response = self.engine.handle(line) or "=\n\n"
        status, body = response[0], response[1:].lstrip("0123456789").strip()
        if status != "=":
            raise GtpError(f"{self.name} refused '{line}': {body}")
        last = getattr(self.engine.player, "last", None)
        if line.split()[0] in GENMOVE_COMMANDS and last is not None and body.lower() != "resign":
            flops = self.engine.player.player.simulations * self.engine.player.exit_flops[-1]
            self.totals.budget_flops = flops
            self.totals.add_move(last.flops, last.simulations, last.evals_per_exit.tolist())
            self.comments[len(self.engine.moves) - 1] = (
                f"{self.name}: value {last.root_value:+.3f}, {last.simulations} simulations, {last.flops:.3g} FLOPs, "
                f"evaluations per exit {last.evals_per_exit.tolist()}")
        return body

    def close(self) -> None:
        """Nothing to stop: the engine lives in this process."""


def play_external_games(a: PlayerSpec, opponent: str, config: MatchConfig, indices: Sequence[int],
                        threads: int | None = None) -> list[GameOutcome]:
    """Play the games numbered `indices` between A (our search) and the GTP engine started
    by the command line `opponent`."""
    from dpv.gtp.players import MctsPlayer
    from dpv.gtp.referee import Seat, play_game

    if threads:
        import torch

        torch.set_num_threads(threads)
    evaluator, flops = load_evaluator(a.checkpoint, config.device)
    player = a.search_player(flops, config.budget)
    outcomes = []
    with GtpClient(opponent) as theirs:
        their_genmove = "kgs-genmove_cleanup" if theirs.command("known_command kgs-genmove_cleanup") == "true" else "genmove"
        for index in indices:
            mcts = MctsPlayer(evaluator, flops, player.simulations, player.exit_policy, c_puct=config.c_puct,
                              leaves_per_tree=config.leaves_per_tree, seed=config.seed * 1_000_003 + index,
                              opening_moves=config.opening_moves, name=a.label)
            ours = EngineClient(GtpEngine(mcts, size=config.board_size, komi=config.komi), name="dpv")
            seats = (Seat(ours, "kgs-genmove_cleanup"), Seat(theirs, their_genmove))
            colour = a_colour_of(index)
            black, white = seats if colour == 1 else seats[::-1]
            try:
                result = play_game(black, white, size=config.board_size, komi=config.komi, max_moves=config.max_moves)
            except GtpError as err:
                raise ValueError(f"game {index}: {err}") from None
            score = result.referee_score if not result.resigned else math.copysign(math.inf, -result.resigned)
            outcomes.append(GameOutcome(
                index=index, a_colour=colour, winner=result.winner, score=score, moves=result.moves,
                comments=[ours.comments.get(i) for i in range(len(result.moves))],  # type: ignore[misc]
                a=ours.totals, b=PlayerTotals(), final_scores=result.final_scores))
    return outcomes


def run_external_match(a: PlayerSpec, opponent: str, config: MatchConfig, out: str | Path | None = None,
                       show_progress: bool = True) -> MatchReport:
    """Play `config.games` games of A against the GTP engine `opponent` (a command line), write
    an SGF per game and `match.json` under `out` (if given), and return the report."""
    if not a.checkpoint:
        raise ValueError("run_external_match needs A's checkpoint (see spec.default_network)")
    if not shlex.split(opponent):
        raise ValueError("--opponent needs a command line, e.g. \"gnugo --mode gtp --level 5\"")
    a.search_player(network_flops(a.checkpoint), config.budget)  # a bad spec fails here
    b = PlayerSpec(name=opponent)
    chunks = chunked(range(config.games), chunk_size(config))
    report = collect(a, b, config.budget, map_chunks(play_external_games, (a, opponent, config), chunks, config.workers,
                                                                config.executor),
                     config.games, show_progress)
    return save_report(report, out, config)
