"""The analysis commands' arguments and output lines, as Leela Zero and KataGo define them
(KataGo's docs/GTP_Extensions.md; read by Lizzie and Sabaki).

`lz-analyze [COLOUR] [INTERVAL] [interval CS] [minmoves N] [maxmoves N]` and `kata-analyze`
with the same arguments: INTERVAL in centiseconds (default 100). kata-analyze also reads
`ownership true|false`, and both read dpv's own `dpv true|false` (below). `allow` / `avoid`
(three words each) and any other `KEY VALUE` pair are accepted and ignored.

A line holds one `info` group per move, best first: `move` (GTP vertex), `visits`, `winrate`
(from the mover's view), `prior`, `lcb`, `order` (0 = best) and `pv` (the move, then the most
visited reply below it, and so on: BatchedSearch.principal_variation). lz-analyze writes
winrate, prior and lcb as integers in 1/10000, kata-analyze as floats in [0, 1]. kata-analyze
adds, for a network with a score head, `scoreLead` after `winrate`: the points the side to move
leads by at the end after this move (komi included; at a komi other than the network's 7.5,
shifted to it by dpv.gtp.komi's evaluator), the score head's estimate on the position
after the move, not averaged over the search (KataGo averages it over the tree); and with
`ownership true`, for a network with an ownership head, ` ownership` and N*N values in
[-1, 1] after the last group, row by row from the top left (A9 ... J9, A8 ...), +1 where the side
to move will own the point: the ownership head on the root position. A network without these
heads (NetConfig.ownership_head / score_head off, or random playouts) leaves the fields out.

The `dpv` extension, for researchers watching DPV-MCTS think: with `dpv true` every line ends
with ` dpv flops SPENT budget BUDGET exits N0,N1,...` (after the ownership values, if any):
the FLOPs the search has spent on the position so far, the FLOPs budget of one move
(simulations x FLOPs of the deepest exit; a dynamic exit policy's threshold rises with
SPENT / BUDGET, thesis eq. 6.5), and the network evaluations answered at each exit so far,
shallowest first (MctsPlayer.search_progress). An analysis that runs past the budget starts another round on
the same tree, so its SPENT passes BUDGET; genmove_analyze stops at it. The GUIs never send
`dpv`, so their lines are unchanged.

What the GUIs read (their sources, read for this module):
- Lizzie 0.7.4 (Leelaz.java, MoveData.java) sends `name`: an answer starting with "KataGo"
  makes it speak kata-analyze, anything else Leela Zero's lz-analyze; dpv answers "dpv", so
  Lizzie sends `lz-analyze INTERVAL` and reads move, visits, winrate, prior, lcb and pv as
  integers. Then `version`: outside KataGo mode it takes the answer's first word, splits it at
  dots and requires the second field to be an integer >= 15 (Leela Zero 0.15, the first with
  lz-analyze), else a modal "requires version 0.15 or later of Leela Zero" dialog blocks its
  engine reader. There is no way past that check for a version such as 0.1.0, so dpv's
  `version` answer starts with `lz-0.17`: the Leela Zero analysis protocol level it speaks
  (lz-analyze with prior and lcb), followed by dpv's own version and the player. It expects
  every answer to carry the command's id (`=5`), and reads `info` lines as they stream.
- Sabaki (enginesyncer.js, analysis.js) reads `list_commands` and sends the first of
  `analyze`, `kata-analyze`, `lz-analyze` the engine lists (dpv: `kata-analyze COLOUR
  INTERVAL`), reading move, visits, winrate (a float for kata-analyze), scoreLead when
  present, and pv (the vertices at the end of each group). It reads nothing from `version`.
"""
from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from go_engine import Board, action_to_gtp

if TYPE_CHECKING:
    from dpv.play.player import MoveInfo, SearchProgress

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
    ownership: bool = False
    """`ownership true` (kata-analyze): end each line with the root's ownership map."""
    dpv: bool = False
    """`dpv true`: end each line with the search's FLOPs and exit histogram (the dpv extension)."""


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
    flags = {"ownership": False, "dpv": False}
    while words:
        key = words.pop(0).lower()
        wanted = 3 if key in IGNORED_WITH_THREE_WORDS else 1
        if len(words) < wanted:
            raise AnalyzeSyntaxError(f"syntax error: '{key}' needs a value")
        values, words = words[:wanted], words[wanted:]
        if key in ("interval", "minmoves", "maxmoves"):
            options[key] = _number(values[0], key)
        elif key in flags:
            flags[key] = _boolean(values[0], key)
    interval = options.get("interval", interval)
    max_moves = options.get("maxmoves")
    return AnalyzeRequest(colour=colour, interval=max(1.0, interval) / 100.0, min_moves=int(options.get("minmoves", 0)),
                          max_moves=None if max_moves is None else int(max_moves), **flags)


def format_analysis(moves: list[MoveInfo], size: int, kata: bool = False,
                    variations: dict[int, list[int]] | None = None, score_leads: dict[int, float] | None = None,
                    ownership: np.ndarray | None = None, progress: SearchProgress | None = None) -> str:
    """One analysis line (no newline) for `moves`, best first: lz-analyze's integer form, or
    kata-analyze's floats with `kata`. `variations`: each move's pv (default: the move alone);
    `score_leads` (kata-analyze): each move's scoreLead; `ownership` (kata-analyze): the N*N
    values after the groups; `progress`: the `dpv` extension that ends the line."""
    def rate(value: float) -> str:
        return f"{value:.6g}" if kata else str(round(value * 10000))

    groups = []
    for order, move in enumerate(moves):
        vertex = action_to_gtp(move.action, size)
        pv = " ".join(action_to_gtp(a, size) for a in (variations or {}).get(move.action, [move.action]))
        lead = f" scoreLead {score_leads[move.action]:.4g}" if kata and score_leads else ""
        groups.append(f"info move {vertex} visits {move.visits} winrate {rate(move.winrate)}{lead} "
                      f"prior {rate(move.prior)} lcb {rate(move.lcb)} order {order} pv {pv}")
    if kata and ownership is not None:
        groups.append("ownership " + " ".join(f"{value:.4g}" for value in ownership))
    if progress is not None:
        groups.append(f"dpv flops {progress.flops:.6g} budget {progress.budget_flops:.6g} "
                      f"exits {','.join(map(str, progress.evals_per_exit))}")
    return " ".join(groups)


class PositionEstimator:
    """The auxiliary heads' view of one analysed position, computed once per position and kept
    (the root's ownership, the score lead after each move), through the network's
    `position_estimates` (dpv.nets.evaluator); an evaluator without it (random playouts) or a
    network without a head gives None for what that head would say."""

    def __init__(self, evaluator: Any, board: Board) -> None:
        self._estimate = getattr(evaluator, "position_estimates", None)
        self._board = board
        self._root: Any = None
        self._leads: dict[int, float] = {}
        self._has_score = self._estimate is not None

    def ownership(self) -> np.ndarray | None:
        """The root's ownership [N*N] from the side to move's view, or None."""
        if self._estimate is None:
            return None
        if self._root is None:
            self._root = self._estimate(self._board.planes()[None])
        return None if self._root.ownership is None else self._root.ownership[0]

    def score_leads(self, actions: list[int]) -> dict[int, float] | None:
        """The points the side to move leads by after each of `actions` (the score head on the
        position after the move, negated: the opponent moves there), or None without a score head."""
        missing = [a for a in actions if a not in self._leads]
        if missing and self._has_score:
            planes = []
            for action in missing:
                child = self._board.copy()
                child.play(action)
                planes.append(child.planes())
            score = self._estimate(np.stack(planes)).score
            if score is None:
                self._has_score = False
            else:
                self._leads.update(zip(missing, (-score).tolist()))
        return {a: self._leads[a] for a in actions} if self._has_score else None


def _is_number(word: str) -> bool:
    return re.fullmatch(r"\d+(\.\d+)?", word) is not None


def _number(word: str, key: str) -> float:
    if not _is_number(word):
        raise AnalyzeSyntaxError(f"syntax error: {key} must be a number >= 0, not '{word}'")
    value = float(word)
    if not math.isfinite(value):
        raise AnalyzeSyntaxError(f"syntax error: {key} must be finite")
    return value


def _boolean(word: str, key: str) -> bool:
    if word.lower() not in ("true", "false"):
        raise AnalyzeSyntaxError(f"syntax error: {key} must be true or false, not '{word}'")
    return word.lower() == "true"
