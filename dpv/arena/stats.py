"""Win-rate statistics of a match: the Wilson score interval and the Elo difference.

A draw counts as half a win (9x9 with komi 7.5 has none, but the move cap can end a game on
an exact score in other settings).
"""
from __future__ import annotations

import math
from dataclasses import dataclass

Z95 = 1.959963984540054  # two-sided 95% normal quantile


def wilson_interval(wins: float, games: int, z: float = Z95) -> tuple[float, float]:
    """Wilson score interval of a win rate (95% by default); (0, 1) with no games."""
    if games <= 0:
        return 0.0, 1.0
    p = wins / games
    denom = 1.0 + z * z / games
    centre = (p + z * z / (2 * games)) / denom
    half = z * math.sqrt(p * (1 - p) / games + z * z / (4 * games * games)) / denom
    return max(0.0, centre - half), min(1.0, centre + half)


def elo_difference(score: float) -> float:
    """Elo difference implied by an expected score in [0, 1]: -400 log10(1/score - 1);
    +-inf at 1 and 0."""
    if score <= 0.0:
        return -math.inf
    if score >= 1.0:
        return math.inf
    return -400.0 * math.log10(1.0 / score - 1.0)


def elo_interval(wins: float, games: int, z: float = Z95) -> tuple[float, float, float]:
    """Elo difference of a match and its interval (the Wilson bounds mapped through
    `elo_difference`): (elo, low, high)."""
    low, high = wilson_interval(wins, games, z)
    score = wins / games if games else 0.5
    return elo_difference(score), elo_difference(low), elo_difference(high)


def format_elo(value: float) -> str:
    """Signed Elo with no decimals; "+inf"/"-inf" at the ends."""
    return f"{round(value) + 0:+d}" if math.isfinite(value) else ("+inf" if value > 0 else "-inf")




@dataclass(frozen=True)
class EloEstimate:
    """A match's Elo difference as it can be told: a point estimate with its 95 % interval,
    or, when A won every game or none (where the estimate is infinite), the finite end of
    the interval as a bound."""

    value: float | None
    """The estimate, or the bound when `bound` is set; None without games."""
    low: float | None
    """Lower end of the 95 % interval; None when unbounded (A won no game)."""
    high: float | None
    """Upper end of the 95 % interval; None when unbounded (A won every game)."""
    bound: str | None
    """"upper" (A won no game: the difference is below `value`), "lower" (A won every game:
    above it), None for an estimate."""

    def text(self) -> str:
        """"+35 [-20, +90]", "< -577 (A won no game)", "> +577 (A won every game)"."""
        if self.value is None:
            return "n/a (no games)"
        if self.bound == "upper":
            return f"< {format_elo(self.value)} (A won no game)"
        if self.bound == "lower":
            return f"> {format_elo(self.value)} (A won every game)"
        return f"{format_elo(self.value)} [{format_elo(self.low)}, {format_elo(self.high)}]"  # type: ignore[arg-type]


def elo_estimate(wins: float, games: int, z: float = Z95) -> EloEstimate:
    """The EloEstimate of A scoring `wins` points in `games` (Wilson bounds through
    `elo_difference`)."""
    if games <= 0:
        return EloEstimate(None, None, None, None)
    elo, low, high = elo_interval(wins, games, z)
    if wins <= 0:
        return EloEstimate(high, None, high, "upper")
    if wins >= games:
        return EloEstimate(low, low, None, "lower")
    return EloEstimate(elo, low, high, None)
