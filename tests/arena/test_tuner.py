"""dpv.arena.tuner: successive halving spends at most its budget, gives the games to the
candidates still in the running and finds the strongest of a known grid."""
from __future__ import annotations

import pytest

from dpv.arena.tuner import halving_rounds, minimum_budget, successive_halving


class KnownStrengths:
    """A tuning's matches with known win rates: `rates[c]` of the games, rounded down; records
    every call."""

    def __init__(self, rates: dict[str, float]) -> None:
        self.rates = rates
        self.calls: list[tuple[str, int, int]] = []

    def __call__(self, candidate: str, games: int, round: int) -> tuple[float, int]:
        self.calls.append((candidate, games, round))
        return float(int(self.rates[candidate] * games)), games


def test_the_strongest_candidate_wins_and_the_games_go_to_the_survivors():
    rates = {"a": 0.3, "b": 0.7, "c": 0.5, "d": 0.6, "e": 0.2, "f": 0.4, "g": 0.1, "h": 0.15}
    play = KnownStrengths(rates)
    outcome = successive_halving(list(rates), 240, play)
    assert outcome.best == "b"
    assert [sorted({c for c, _, r in play.calls if r == i}) for i in range(3)] == \
        [sorted(rates), ["b", "c", "d", "f"], ["b", "d"]]
    assert outcome.games_per_round == (10, 20, 40)          # 80 games a round: 8 x 10, 4 x 20, 2 x 40
    assert outcome.games_spent == sum(g for _, g, _ in play.calls) == 240 == outcome.budget
    by_name = {s.candidate: s for s in outcome.standings}
    assert by_name["b"].games == 70 and by_name["g"].games == 10 and by_name["b"].rounds == 3
    assert [s.candidate for s in outcome.standings] == list(rates)


@pytest.mark.parametrize("n", [1, 2, 3, 5, 8, 13])
@pytest.mark.parametrize("extra", [0, 1, 7, 100])
def test_the_budget_is_respected_for_any_grid(n, extra):
    names = [f"c{i}" for i in range(n)]
    play = KnownStrengths({c: (i % 4) / 4 for i, c in enumerate(names)})
    budget = minimum_budget(n) + extra
    outcome = successive_halving(names, budget, play)
    assert outcome.games_spent == sum(g for _, g, _ in play.calls) <= budget
    assert len(play.calls) == sum(halving_rounds(n))        # every candidate of each round played it
    assert outcome.best in names


def test_halving_rounds_and_bad_input():
    assert halving_rounds(1) == [1] and halving_rounds(2) == [2] and halving_rounds(9) == [9, 5, 3, 2]
    with pytest.raises(ValueError, match="at least 6"):
        successive_halving(["a", "b", "c", "d"], 5, KnownStrengths(dict.fromkeys("abcd", 0.5)))
    with pytest.raises(ValueError, match="distinct"):
        successive_halving(["a", "a"], 10, KnownStrengths({"a": 0.5}))
    with pytest.raises(ValueError, match="reported"):
        successive_halving(["a", "b"], 10, lambda c, g, r: (g + 1.0, g))
