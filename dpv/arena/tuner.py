"""Successive halving over a grid of candidates ("we determine the best parameter settings
through self-play evaluation", thesis 6.3.2), so that games go to the candidates still in the
running: round i gives each of the s_i candidates left an equal share of the budget left over
the rounds left, then keeps the better half (win rate over all its games so far; ties keep the
earlier candidate), until one is left. ceil(log2 n) rounds for n candidates (one round for a
single candidate, which then gets the whole budget).
"""
from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

Play = Callable[[str, int, int], tuple[float, int]]
"""play(candidate, games, round) -> (points won, games played <= games): one match of the tuning."""


@dataclass(frozen=True)
class Standing:
    """A candidate's record over the tuning."""

    candidate: str
    """The candidate's name (e.g. an exit-policy spec)."""
    points: float
    """Points it won (a draw counts half) over all its rounds."""
    games: int
    """Games it played over all its rounds."""
    rounds: int
    """Rounds it played: the round it was eliminated in plus one, or all of them for the winner."""

    @property
    def rate(self) -> float:
        """Its win rate (0 before any game)."""
        return self.points / self.games if self.games else 0.0


@dataclass(frozen=True)
class TuningOutcome:
    """What a successive-halving tuning found and spent."""

    best: str
    """The candidate left after the last round."""
    standings: tuple[Standing, ...]
    """Every candidate's record, in the grid's order."""
    games_per_round: tuple[int, ...]
    """Games each candidate of round i was given."""
    games_spent: int
    """Games played over all rounds (at most `budget`)."""
    budget: int
    """The games the tuning was allowed."""


def halving_rounds(candidates: int) -> list[int]:
    """The candidates in each round: n, ceil(n / 2), ... down to 2 (just [1] for one)."""
    sizes = [candidates]
    while sizes[-1] > 2:
        sizes.append(math.ceil(sizes[-1] / 2))
    return sizes


def minimum_budget(candidates: int) -> int:
    """The fewest games a tuning of `candidates` needs: one per candidate and round."""
    return sum(halving_rounds(candidates))


def successive_halving(candidates: list[str], budget: int, play: Play) -> TuningOutcome:
    """Tune over `candidates` (distinct names) with at most `budget` games in all (see the module
    docstring); `play` plays one candidate's games of a round."""
    if not candidates or len(set(candidates)) != len(candidates):
        raise ValueError(f"successive halving needs distinct candidates, got {candidates}")
    sizes = halving_rounds(len(candidates))
    if budget < minimum_budget(len(candidates)):
        raise ValueError(f"a tuning budget of {budget} games is too small for {len(candidates)} candidates: "
                         f"it needs at least {minimum_budget(len(candidates))} (one game per candidate and round)")
    points = dict.fromkeys(candidates, 0.0)
    games = dict.fromkeys(candidates, 0)
    rounds = dict.fromkeys(candidates, 0)
    alive, spent, given = list(candidates), 0, []
    for i, size in enumerate(sizes):
        share = max(1, (budget - spent) // (len(sizes) - i) // size)
        given.append(share)
        for candidate in alive:
            won, played = play(candidate, share, i)
            if not 0 <= played <= share or not 0 <= won <= played:
                raise ValueError(f"tuning: {candidate} reported {won} points in {played} games of {share}")
            points[candidate] += won
            games[candidate] += played
            rounds[candidate] += 1
            spent += played
        ranked = sorted(alive, key=lambda c: -(points[c] / games[c] if games[c] else 0.0))
        alive = ranked[:math.ceil(size / 2)] if i + 1 < len(sizes) else ranked[:1]
    standings = tuple(Standing(c, points[c], games[c], rounds[c]) for c in candidates)
    return TuningOutcome(alive[0], standings, tuple(given), spent, budget)
