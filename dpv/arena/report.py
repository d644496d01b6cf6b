"""What a match produced and how it is reported: per-player spending (`PlayerTotals`), one
game (`GameOutcome`), the match from A's side (`MatchReport`: records by colour, win rate with
its Wilson interval, Elo, FLOPs and simulations per move, exit histograms; text and JSON), the
SGF of every game, and the progress line while chunks of games come in."""
from __future__ import annotations

import json
import math
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from dpv.arena.spec import PlayerSpec
from dpv.arena.stats import elo_estimate, wilson_interval
from dpv.progress import Progress


@dataclass
class PlayerTotals:
    """What one player spent over its moves of one or more games."""

    moves: int = 0
    flops: float = 0.0
    max_flops: float = 0.0
    simulations: int = 0
    evals_per_exit: list[int] = field(default_factory=list)
    budget_flops: float = 0.0
    """The player's budget per move (FLOPs); 0 for an external engine."""
    seconds: float = 0.0
    """Seconds the player thought over its moves; 0 where not timed (the batched games of a
    network-vs-network match search both players' moves together)."""

    def add_move(self, flops: float, simulations: int, evals_per_exit: Sequence[int], seconds: float = 0.0) -> None:
        """Count one move's search (`seconds`: its think time, where timed)."""
        self.moves += 1
        self.seconds += seconds
        self.flops += flops
        self.max_flops = max(self.max_flops, flops)
        self.simulations += simulations
        if not self.evals_per_exit:
            self.evals_per_exit = [0] * len(evals_per_exit)
        self.evals_per_exit = [int(x + y) for x, y in zip(self.evals_per_exit, evals_per_exit)]

    def merge(self, other: PlayerTotals) -> None:
        """Add another game's totals."""
        self.moves += other.moves
        self.seconds += other.seconds
        self.flops += other.flops
        self.max_flops = max(self.max_flops, other.max_flops)
        self.simulations += other.simulations
        if other.evals_per_exit:
            mine = self.evals_per_exit or [0] * len(other.evals_per_exit)
            self.evals_per_exit = [x + y for x, y in zip(mine, other.evals_per_exit)]
        self.budget_flops = self.budget_flops or other.budget_flops

    def to_dict(self) -> dict[str, Any]:
        """Plain form for JSON: totals, means per move and the exit histogram."""
        total_evals = sum(self.evals_per_exit)
        return {
            "moves": self.moves,
            "flops_per_move": self.flops / self.moves if self.moves else None,
            "max_flops_per_move": self.max_flops if self.moves else None,
            "budget_flops_per_move": self.budget_flops or None,
            "simulations_per_move": self.simulations / self.moves if self.moves else None,
            "seconds_per_move": self.seconds / self.moves if self.moves and self.seconds else None,
            "evaluations_per_exit": self.evals_per_exit,
            "exit_histogram": [e / total_evals for e in self.evals_per_exit] if total_evals else [],
        }


@dataclass
class GameOutcome:
    """One finished game of a match."""

    index: int
    a_colour: int
    """+1: A played black, -1: white."""
    winner: int
    """+1 black, -1 white, 0 draw."""
    score: float
    """Black minus white minus komi (Tromp-Taylor), or +-inf for a resignation or a forfeit."""
    moves: list[int]
    comments: list[str]
    a: PlayerTotals
    b: PlayerTotals
    final_scores: dict[str, str] = field(default_factory=dict)
    """Each GTP engine's `final_score` and the referee's (games against external engines)."""
    forfeit: bool = False
    """The loser generated an illegal move (dpv.play.referee: games against external engines)."""

    @property
    def a_points(self) -> float:
        """1 if A won, 0.5 for a draw, 0 if B won."""
        return 0.5 if self.winner == 0 else float(self.winner == self.a_colour)


@dataclass
class MatchReport:
    """The outcome of a match from A's point of view."""

    a: PlayerSpec
    b: PlayerSpec
    budget: str
    outcomes: list[GameOutcome]
    out: str | None = None
    seconds: float = 0.0

    @property
    def games(self) -> int:
        return len(self.outcomes)

    @property
    def a_points(self) -> float:
        """A's wins plus half its draws."""
        return sum(o.a_points for o in self.outcomes)

    @property
    def win_rate(self) -> float:
        return self.a_points / self.games if self.games else 0.5

    def colour_record(self, side: str, colour: int) -> tuple[int, int]:
        """(wins, games) of `side` ("a" or "b") playing `colour`."""
        games = [o for o in self.outcomes if (o.a_colour if side == "a" else -o.a_colour) == colour]
        return sum(o.winner == colour for o in games), len(games)

    def totals(self, side: str) -> PlayerTotals:
        """`side`'s spending summed over the games."""
        total = PlayerTotals()
        for o in self.outcomes:
            total.merge(o.a if side == "a" else o.b)
        return total

    @property
    def distinct_games(self) -> int:
        """Games whose move sequences differ (see `distinct_games`)."""
        return distinct_games([o.moves for o in self.outcomes])

    def forfeits(self, side: str) -> int:
        """Games `side` ("a" or "b") lost by generating an illegal move."""
        return sum(o.forfeit and o.winner != (o.a_colour if side == "a" else -o.a_colour) for o in self.outcomes)

    def to_dict(self) -> dict[str, Any]:
        """The report as plain JSON values."""
        low, high = wilson_interval(self.a_points, self.games)
        draws = sum(o.winner == 0 for o in self.outcomes)
        elo = elo_estimate(self.a_points, self.games)
        sides = {}
        for side, spec in (("a", self.a), ("b", self.b)):
            wins_b, games_b = self.colour_record(side, 1)
            wins_w, games_w = self.colour_record(side, -1)
            sides[side] = {**spec.to_dict(), "wins": wins_b + wins_w, "losses": self.games - wins_b - wins_w - draws,
                           "wins_as_black": wins_b, "games_as_black": games_b,
                           "wins_as_white": wins_w, "games_as_white": games_w,
                           "forfeits": self.forfeits(side), **self.totals(side).to_dict()}
        return {
            "games": self.games, "distinct_games": self.distinct_games, "budget": self.budget, "draws": draws,
            "a": sides["a"], "b": sides["b"],
            "a_win_rate": self.win_rate, "a_win_rate_wilson95": [low, high],
            "elo_a_minus_b": elo.value, "elo_a_minus_b_95": [elo.low, elo.high], "elo_a_minus_b_bound": elo.bound,
            "seconds": round(self.seconds, 1), "sgf_dir": self.out,
            "game_list": [{"game": o.index, "a_colour": "black" if o.a_colour == 1 else "white",
                           "winner": {1: "black", -1: "white", 0: "draw"}[o.winner], "result": result_text(o),
                           "moves": len(o.moves), **({"final_scores": o.final_scores} if o.final_scores else {})}
                          for o in self.outcomes],
        }

    def summary(self) -> str:
        """A few human-readable lines: records by colour, win rate, Elo, spending per player."""
        d = self.to_dict()
        low, high = d["a_win_rate_wilson95"]
        lines = [f"{self.games} games, budget {self.budget}, {self.seconds:.0f} s"]
        for side in "ab":
            s = d[side]
            lines.append(f"  {side.upper()} {s['name']}: won {s['wins']} "
                         f"(as black {s['wins_as_black']}/{s['games_as_black']}, "
                         f"as white {s['wins_as_white']}/{s['games_as_white']}), lost {s['losses']}")
        if d["draws"]:
            lines.append(f"  draws {d['draws']}")
        if d["a"]["forfeits"] or d["b"]["forfeits"]:
            lines.append(f"  lost by an illegal move (forfeit): A {d['a']['forfeits']}, B {d['b']['forfeits']}")
        lines.append(f"A win rate {self.win_rate:.1%} [{low:.1%}, {high:.1%}] (Wilson 95%); "
                     f"Elo A-B {elo_estimate(self.a_points, self.games).text()}; "
                     f"{d['distinct_games']} of the {self.games} games distinct")
        lines.append(f"  {'player':<28} {'FLOPs/move':>10} {'budget':>10} {'sims/move':>9}  exits used")
        for side in "ab":
            s = d[side]
            if not s["moves"]:
                lines.append(f"  {side.upper() + ' ' + s['name']:<28} {'-':>10} {'-':>10} {'-':>9}  (external engine)")
                continue
            hist = "  ".join(f"{k}: {share:.0%}" for k, share in enumerate(s["exit_histogram"]))
            budget = f"{s['budget_flops_per_move']:.3g}" if s["budget_flops_per_move"] else "-"
            lines.append(f"  {side.upper() + ' ' + s['name']:<28} {s['flops_per_move']:>10.3g} {budget:>10} "
                         f"{s['simulations_per_move']:>9.1f}  {hist}")
        if self.out:
            lines.append(f"SGF of every game in {self.out}/")
        return "\n".join(lines)


def distinct_games(games: list[list[int]]) -> int:
    """How many of `games` (move sequences) differ. Two players that search deterministically
    replay a game whenever its sampled opening plies repeat; the Wilson interval counts every
    game as an independent trial, so a match with few distinct games looks surer than it is."""
    return len({tuple(moves) for moves in games})


def write_sgfs(report: MatchReport, out: Path, size: int, komi: float) -> None:
    """One SGF per game (`game-NNNN.sgf`), with each move's search in its comment."""
    from dpv.sgf import GameRecord, write_sgf_file

    out.mkdir(parents=True, exist_ok=True)
    for o in report.outcomes:
        names = (report.a.label, report.b.label) if o.a_colour == 1 else (report.b.label, report.a.label)
        write_sgf_file(out / f"game-{o.index:04d}.sgf",
                       GameRecord(size=size, komi=komi, moves=o.moves, comments=o.comments, result=result_text(o),
                                  black=names[0], white=names[1]))


def result_text(outcome: GameOutcome) -> str:
    """The SGF result of a game: "B+3.5", "W+R", "B+F" (forfeit), "0"."""
    from dpv.sgf import format_score

    if math.isfinite(outcome.score):
        return format_score(outcome.score)
    return f"{'B' if outcome.winner == 1 else 'W'}+{'F' if outcome.forfeit else 'R'}"


def collect(a: PlayerSpec, b: PlayerSpec, budget: str, chunks_done: Iterator[list[GameOutcome]], total: int,
            show_progress: bool = True, title: str = "") -> MatchReport:
    """Gather chunk results into a report, showing progress with A's running win rate."""
    report = MatchReport(a, b, budget, [])
    start = time.perf_counter()
    progress = Progress() if show_progress else None
    for outcomes in chunks_done:
        report.outcomes.extend(outcomes)
        if progress:
            low, high = wilson_interval(report.a_points, report.games)
            progress.update(f"  {title}games {report.games}/{total}  "
                            f"A {report.a_points:g}-{report.games - report.a_points:g}  "
                            f"win rate {report.win_rate:.1%} [{low:.0%}, {high:.0%}]  "
                            f"{time.perf_counter() - start:.0f} s")
    if progress:
        progress.close()
    report.outcomes.sort(key=lambda o: o.index)
    report.seconds = time.perf_counter() - start
    return report


def write_json(path: Path, data: dict[str, Any]) -> None:
    """Write `data` as indented JSON."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data, indent=2) + "\n")
