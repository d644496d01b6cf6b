"""dpv.arena.study without matches: the tuning budget's check and Table 6.3's extra policies."""
from __future__ import annotations

import pytest

from dpv.arena.report import distinct_games
from dpv.arena.study import COLLAB_TUNED, Cell, StudyConfig, StudyResult, load_study_config, pooled
from dpv.play.exits import parse_exit_policy


def cell(player: str, wins: float, games: int) -> Cell:
    return Cell(player, "0", wins, games, 1e9, 100.0, 40.0)


def test_table_6_3_shows_the_extra_policies_and_the_games_the_tuning_spent():
    config = StudyConfig(sims=[100], policies=["depth:1,0.5"])
    result = StudyResult("net.pt", [1.0, 2.0], config, best_exit={100: 0}, tuned={"dynamic": "dynamic:0.3,0.2"},
                         tuning_games={"dynamic": {"budget": 120, "spent": 118}})
    result.table_6_3[100] = {"dynamic": cell("dynamic:0.3,0.2", 30, 50), "threshold": cell("threshold:0.4", 20, 50),
                             "depth:1,0.5": cell("depth:1,0.5", 35, 50)}
    text = result.markdown()
    assert "| `depth:1,0.5` |" in text and "| 100 | exit 0 | 60.0% [46%, 72%] n=50 | 40.0% [28%, 54%] n=50 | " in text
    assert "70.0% [56%, 81%] n=50 |" in text and "dynamic: 118 of 120 games" in text
    assert result.to_dict()["tuning_games"] == {"dynamic": {"budget": 120, "spent": 118}}


def test_a_cell_says_how_many_of_its_games_are_distinct():
    assert distinct_games([[1, 2, 81], [1, 2, 81], [2, 1, 81], [1, 2]]) == 3
    assert Cell("0", "3", 3, 4, 1e9, 100.0, 40.0, distinct=3).text() == "75.0% [30%, 95%] n=4 (3 distinct)"
    assert Cell("0", "3", 3, 4, 1e9, 100.0, 40.0).to_dict()["distinct"] is None


def test_pooled_rounds_sum_the_games_and_weight_the_per_move_figures():
    rounds = [Cell("p", "0", 3, 4, 1.0, 10.0, 5.0), Cell("p", "0", 1.5, 12, 2.0, 30.0, 5.0)]
    total = pooled(rounds, "p")
    assert (total.wins, total.games, total.flops_per_move, total.simulations_per_move) == (4.5, 16, 1.75, 25.0)


def test_tune_games_must_give_successive_halving_a_game_per_candidate_and_round():
    with pytest.raises(ValueError, match="tune_games"):
        StudyConfig(tune_games=1, tau0_grid=[0.2, 0.4], alpha_grid=[0.1, 0.2])    # 4 candidates need 6
    assert StudyConfig(tune_games=2, tau0_grid=[0.2, 0.4], alpha_grid=[0.1, 0.2]).tune_games == 2


def test_collab_tuned_plays_the_tuned_dynamic_policy_with_its_exits_voting():
    result = StudyResult("net.pt", [1.0, 2.0], StudyConfig(sims=[100], policies=[COLLAB_TUNED]), best_exit={100: 0})
    assert result.played(COLLAB_TUNED) == COLLAB_TUNED  # before the tuning
    result.tuned = {"dynamic": "dynamic:0.3,0.2/all", "threshold": "threshold:0.4"}
    played = result.played(COLLAB_TUNED)
    assert played == "collab:0.3,0.2/all" and parse_exit_policy(played).vote
    assert result.played("depth:1,0.5") == "depth:1,0.5"
    result.table_6_3[100] = {"dynamic": cell("dynamic:0.3,0.2/all", 30, 50), "threshold": cell("threshold:0.4", 20, 50),
                             COLLAB_TUNED: cell(played, 25, 50)}
    assert "| `collab:0.3,0.2/all` |" in result.markdown()


def test_a_policy_that_does_not_parse_is_refused_with_the_config():
    with pytest.raises(ValueError, match="policies: bad exit policy 'collab:0.3'"):
        StudyConfig(policies=["depth:1,0.5", "collab:0.3"])


def test_the_study_preset_names_policies_that_parse():
    config = load_study_config("configs/study-exits.yaml")
    named = [p for p in config.policies if p != COLLAB_TUNED]
    assert COLLAB_TUNED in config.policies and named and all(parse_exit_policy(p).kind == "depth" for p in named)
