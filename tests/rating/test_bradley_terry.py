"""The Bradley-Terry Elo fit: it recovers known ratings from simulated games, keeps the pinned
player at its value, stays finite at 0 % and 100 %, counts draws as half a win, and refuses
players that no games link to the pinned one."""
from __future__ import annotations

import itertools
import math

import numpy as np
import pytest

from dpv.rating.bradley_terry import PairResult, fit_elo

TRUE_ELO = {"anchor": 0.0, "a": -350.0, "b": -120.0, "c": 80.0, "d": 260.0, "e": 500.0}


def expected_score(r_a: float, r_b: float) -> float:
    return 1.0 / (1.0 + 10.0 ** ((r_b - r_a) / 400.0))


def simulated(seed: int, games: int) -> list[PairResult]:
    """Every pair of TRUE_ELO's players playing `games` games, results drawn from the model."""
    rng = np.random.default_rng(seed)
    return [PairResult(a, b, games, float(rng.binomial(games, expected_score(TRUE_ELO[a], TRUE_ELO[b]))))
            for a, b in itertools.combinations(TRUE_ELO, 2)]


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_known_ratings_are_recovered_within_a_few_standard_errors(seed):
    ratings = fit_elo(simulated(seed, games=400), pinned="anchor")
    for player, elo in TRUE_ELO.items():
        if player == "anchor":
            continue
        assert 5 < ratings.se[player] < 40
        assert abs(ratings.elo[player] - elo) < 3.5 * ratings.se[player], (player, ratings.elo[player], elo)


def test_standard_errors_shrink_like_one_over_the_root_of_the_games():
    few = fit_elo(simulated(3, games=100), pinned="anchor")
    many = fit_elo(simulated(3, games=1600), pinned="anchor")
    for player in ("a", "c", "e"):
        assert many.se[player] == pytest.approx(few.se[player] / 4, rel=0.25)


def test_the_pinned_player_stays_at_its_value_and_the_others_shift_with_it():
    results = simulated(4, games=200)
    at_zero = fit_elo(results, pinned="anchor")
    at_1000 = fit_elo(results, pinned="anchor", pinned_elo=1000.0)
    assert at_1000.elo["anchor"] == 1000.0 and at_1000.se["anchor"] == 0.0 and at_1000.pinned == "anchor"
    for player in TRUE_ELO:
        assert at_1000.elo[player] - at_zero.elo[player] == pytest.approx(1000.0)
        assert at_1000.se[player] == pytest.approx(at_zero.se[player])
    other = fit_elo(results, pinned="c", pinned_elo=80.0)
    assert other.elo["c"] == 80.0
    assert other.elo["e"] - other.elo["a"] == pytest.approx(at_zero.elo["e"] - at_zero.elo["a"], abs=1e-6)


def test_zero_and_full_scores_stay_finite_and_ordered():
    results = [PairResult("loser", "anchor", 20, 0.0), PairResult("winner", "anchor", 20, 20.0)]
    ratings = fit_elo(results, pinned="anchor")
    for player in ("loser", "winner"):
        assert math.isfinite(ratings.elo[player]) and math.isfinite(ratings.se[player])
    # one virtual draw in 21 games: the logistic Elo of a 0.5 / 21 score, about -650
    assert ratings.elo["loser"] == pytest.approx(-400 * math.log10(21 / 0.5 - 1), abs=0.01)
    assert ratings.elo["winner"] == pytest.approx(-ratings.elo["loser"], abs=0.01)
    weaker_prior = fit_elo(results, pinned="anchor", prior_draws=0.1)
    assert weaker_prior.elo["winner"] > ratings.elo["winner"] > 500
    with pytest.raises(ValueError, match="prior_draws"):
        fit_elo(results, pinned="anchor", prior_draws=0.0)


def test_a_draw_is_half_a_win_and_results_of_one_pair_add_up():
    even = fit_elo([PairResult("a", "b", 10, 5.0)], pinned="b")
    assert even.elo["a"] == pytest.approx(0.0, abs=1e-9)
    split = fit_elo([PairResult("a", "b", 10, 7.0), PairResult("b", "a", 30, 9.0)], pinned="b")
    whole = fit_elo([PairResult("a", "b", 40, 28.0)], pinned="b")
    assert split.elo["a"] == pytest.approx(whole.elo["a"]) and split.se["a"] == pytest.approx(whole.se["a"])


def test_a_player_no_games_link_to_the_pinned_one_cannot_be_rated():
    with pytest.raises(ValueError, match="cannot rate x: no games link it to the pinned player anchor"):
        fit_elo([PairResult("a", "anchor", 10, 4.0), PairResult("x", "y", 10, 5.0)], pinned="anchor")
    with pytest.raises(ValueError, match="3 points in 2 games"):
        fit_elo([PairResult("a", "anchor", 2, 3.0)], pinned="anchor")
