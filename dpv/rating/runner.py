"""Playing a rating's pairings, resumably.

Each pairing is one match of dpv.arena (`run_match` between two networks, `run_external_match`
against a GTP engine), written to its own folder `OUT/pairings/<A>--<B>-<hash>/` (the SGFs and
match.json of the arena, and `pairing.json`, written last). A pairing whose pairing.json holds
the same key (both players' file hashes or command lines, the games, the budget, the search
settings) is read back instead of played, so an interrupted `dpv rate` continues where it
stopped and a rerun with more checkpoints plays only the new pairings. Progress (games done of
the total, ETA) goes to stderr.
"""
from __future__ import annotations

import dataclasses
import json
import os
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TextIO

from dpv.arena.match import MatchConfig
from dpv.arena.spec import PlayerSpec
from dpv.play.gtp_client import GtpClient, GtpError
from dpv.play.networks import network_flops
from dpv.rating.plan import Contestant, Pairing

RESULT_FILE = "pairing.json"
"""A finished pairing's result, in its folder."""


@dataclass(frozen=True)
class RatingMatch:
    """How every pairing is played."""

    match: MatchConfig
    """Games per pairing, budget mode, search settings, workers (dpv.arena.match)."""
    simulations: float
    """Budget per move of every network player, in full-network simulations."""
    exit: str
    """Exit policy of the rated checkpoints (dpv.play.exits; anchors use their deepest exit)."""

    def key_settings(self) -> dict[str, Any]:
        """What a pairing's games depend on besides its players (part of its resume key)."""
        m = self.match
        return {"games": m.games, "simulations": self.simulations, "exit": self.exit, "budget": m.budget,
                "board_size": m.board_size, "komi": m.komi, "max_moves": m.max_moves, "seed": m.seed,
                "search": dataclasses.asdict(m.search)}


@dataclass(frozen=True)
class PairingResult:
    """The games of one pairing, from A's side."""

    a: str
    """A's id (a rated checkpoint)."""
    b: str
    """B's id (an anchor or the next checkpoint)."""
    games: int
    """Games played."""
    a_points: float
    """A's wins plus half its draws."""
    seconds: float
    """Wall time the games took when they were played."""
    folder: str
    """The pairing's folder (SGFs, match.json, pairing.json)."""
    read_back: bool
    """Whether it was read from OUT instead of played now."""


def check_anchors(anchors: Sequence[Contestant], board_size: int) -> None:
    """Fail with one line, before any game, on an anchor that cannot play: a GTP engine that
    does not start or refuses the board size, a checkpoint that cannot be read."""
    for anchor in anchors:
        if anchor.kind == "network":
            network_flops(anchor.target)
            continue
        try:
            with GtpClient(anchor.target) as engine:
                engine.command("protocol_version")
                engine.command(f"boardsize {board_size}")
        except GtpError as err:
            raise ValueError(f"anchor '{anchor.target}' does not start: {err}") from None


def play_pairings(pairings: Sequence[Pairing], how: RatingMatch, out: Path,
                  stream: TextIO | None = None) -> list[PairingResult]:
    """The result of every pairing, in order: read back from `out` where finished, else played
    now (see the module docstring)."""
    stream = stream or sys.stderr
    settings = how.key_settings()
    folders = [out / "pairings" / p.folder(settings) for p in pairings]
    results: list[PairingResult | None] = [read_result(p, f, settings) for p, f in zip(pairings, folders)]
    todo = [k for k, r in enumerate(results) if r is None]
    games = how.match.games
    total, done = games * len(pairings), sum(r.games for r in results if r is not None)
    print(f"dpv rate: {len(pairings)} pairings of {games} games: {len(pairings) - len(todo)} read back from {out}, "
          f"{len(todo)} to play", file=stream)
    start, played = time.monotonic(), 0
    for n, k in enumerate(todo, 1):
        pairing = pairings[k]
        eta = f", ETA {format_duration((time.monotonic() - start) / played * (len(todo) - n + 1) * games)}" \
            if played else ""
        print(f"dpv rate: [{done}/{total} games{eta}] pairing {n}/{len(todo)}: {pairing.a.id} vs {pairing.b.id}",
              file=stream, flush=True)
        results[k] = play_pairing(pairing, how, folders[k], settings)
        played += results[k].games
        done += results[k].games
    if todo:
        print(f"dpv rate: {done}/{total} games in {format_duration(time.monotonic() - start)}", file=stream)
    return [r for r in results if r is not None]


def play_pairing(pairing: Pairing, how: RatingMatch, folder: Path, settings: dict[str, Any]) -> PairingResult:
    """Play one pairing's games through dpv.arena and write its pairing.json."""
    a = PlayerSpec(exit=how.exit, simulations=how.simulations, checkpoint=pairing.a.target, name=pairing.a.id)
    if pairing.b.plays_search:
        from dpv.arena.match import run_match

        b_exit = how.exit if pairing.b.kind == "checkpoint" else "-1"
        b = PlayerSpec(exit=b_exit, simulations=how.simulations, checkpoint=pairing.b.target, name=pairing.b.id)
        report = run_match(a, b, how.match, out=folder)
    else:
        from dpv.arena.external import run_external_match

        report = run_external_match(a, pairing.b.target, how.match, out=folder)
    result = PairingResult(a=pairing.a.id, b=pairing.b.id, games=report.games, a_points=report.a_points,
                           seconds=report.seconds, folder=str(folder), read_back=False)
    tmp = folder / f".{RESULT_FILE}.tmp"
    tmp.write_text(json.dumps({"key": pairing.key(settings), "games": result.games, "a_points": result.a_points,
                               "seconds": round(result.seconds, 1)}, indent=1) + "\n")
    os.replace(tmp, folder / RESULT_FILE)
    return result


def read_result(pairing: Pairing, folder: Path, settings: dict[str, Any]) -> PairingResult | None:
    """The finished result in `folder` if its key is this pairing's, else None."""
    try:
        data = json.loads((folder / RESULT_FILE).read_text())
        if data["key"] != pairing.key(settings):
            return None
        return PairingResult(a=pairing.a.id, b=pairing.b.id, games=int(data["games"]),
                             a_points=float(data["a_points"]), seconds=float(data.get("seconds", 0.0)),
                             folder=str(folder), read_back=True)
    except (OSError, ValueError, KeyError, TypeError):
        return None


def format_duration(seconds: float) -> str:
    """"42 s", "7 min", "2.5 h"."""
    if seconds < 90:
        return f"{seconds:.0f} s"
    if seconds < 5400:
        return f"{seconds / 60:.0f} min"
    return f"{seconds / 3600:.1f} h"
