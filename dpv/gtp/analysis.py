"""The analysis commands' arguments and output lines, as Leela Zero and KataGo define them
(KataGo's docs/GTP_Extensions.md; read by Lizzie and Sabaki).

`lz-analyze [COLOUR] [INTERVAL] [interval CS] [minmoves N] [maxmoves N]` and `kata-analyze`
with the same arguments: INTERVAL in centiseconds (default 100). `allow` / `avoid` (three
words each) and any other `KEY VALUE` pair, such as `ownership true`, are accepted and
ignored: the network has no ownership or score head yet, so the lines carry no `ownership`
and no `scoreLead`.

A line holds one `info` group per move, best first: `move` (GTP vertex), `visits`, `winrate`
(from the mover's view), `prior`, `lcb`, `order` (0 = best) and `pv`. lz-analyze writes
winrate, prior and lcb as integers in 1/10000, kata-analyze as floats in [0, 1]. The search
exposes only the root's children, so `pv` is the move alone.
"""
from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING

from go_engine import action_to_gtp

if TYPE_CHECKING:
    from dpv.play.player import MoveInfo

DEFAULT_INTERVAL_CS = 100
COLOURS = ("b", "w", "black", "white")
IGNORED_WITH_THREE_WORDS = ("allow", "avoid")


class AnalyzeSyntaxError(ValueError):
    """Arguments of an analysis command that cannot be read; the message is the GTP failure."""


@dataclass(frozen=True)
class AnalyzeRequest:
    """What an analysis command asks for."""

    colour: int | None
    """+1 black, -1 white; None when the command named none (the side to play)."""
    interval: float
    """Seconds between two `info` lines (at least 0.01)."""
    min_moves: int = 0
    """Moves each line shows at least, unvisited ones by prior (minmoves)."""
    max_moves: int | None = None
    """Moves each line shows at most (maxmoves); None: every visited move."""


def parse_analyze_args(args: list[str]) -> AnalyzeRequest:
    """An AnalyzeRequest from the words after the command name (see the module docstring)."""
    words = list(args)
    colour = None
    interval = float(DEFAULT_INTERVAL_CS)
    if words and words[0].lower() in COLOURS:
        colour = 1 if words.pop(0).lower() in ("b", "black") else -1
    if words and _is_number(words[0]):
        interval = _number(words.pop(0), "interval")
    options: dict[str, float] = {}
    while words:
        key = words.pop(0).lower()
        wanted = 3 if key in IGNORED_WITH_THREE_WORDS else 1
        if len(words) < wanted:
            raise AnalyzeSyntaxError(f"syntax error: '{key}' needs a value")
        values, words = words[:wanted], words[wanted:]
        if key in ("interval", "minmoves", "maxmoves"):
            options[key] = _number(values[0], key)
    interval = options.get("interval", interval)
    max_moves = options.get("maxmoves")
    return AnalyzeRequest(colour=colour, interval=max(1.0, interval) / 100.0, min_moves=int(options.get("minmoves", 0)),
                          max_moves=None if max_moves is None else int(max_moves))


def format_analysis(moves: list[MoveInfo], size: int, kata: bool = False) -> str:
    """One analysis line (no newline) for `moves`, best first: lz-analyze's integer form, or
    kata-analyze's floats with `kata`."""
    def rate(value: float) -> str:
        return f"{value:.6g}" if kata else str(round(value * 10000))

    groups = []
    for order, move in enumerate(moves):
        vertex = action_to_gtp(move.action, size)
        groups.append(f"info move {vertex} visits {move.visits} winrate {rate(move.winrate)} prior {rate(move.prior)} "
                      f"lcb {rate(move.lcb)} order {order} pv {vertex}")
    return " ".join(groups)


def _is_number(word: str) -> bool:
    return re.fullmatch(r"\d+(\.\d+)?", word) is not None


def _number(word: str, key: str) -> float:
    if not _is_number(word):
        raise AnalyzeSyntaxError(f"syntax error: {key} must be a number >= 0, not '{word}'")
    value = float(word)
    if not math.isfinite(value):
        raise AnalyzeSyntaxError(f"syntax error: {key} must be finite")
    return value
