"""Win-rate statistics of a match: the Wilson score interval and the Elo difference.

A draw counts as half a win (9x9 with komi 7.5 has none, but the move cap can end a game on
an exact score in other settings).
"""
from __future__ import annotations

import math

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


def json_number(value: float) -> float | None:
    """A float JSON can hold: None for +-inf and NaN."""
    return value if math.isfinite(value) else None
