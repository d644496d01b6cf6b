"""`dpv arena` and `dpv study exits` through real Ray tasks, the batched search and the tiny
network: fairness between identical players, a strong player that must win, colours, the
JSON totals, FLOPs budgets, SGF records, and the study's tables."""
from __future__ import annotations

import json

import pytest
import torch

from dpv.arena.match import MatchConfig, run_match
from dpv.arena.spec import PlayerSpec
from dpv.arena.study import COLLAB_TUNED, StudyConfig, load_study_config, run_exit_study
from dpv.cli import main
from dpv.nets.checkpoint import save_checkpoint
from dpv.nets.config import load_net_config
from dpv.nets.model import DPVNet
from dpv.play.settings import SearchSettings
from dpv.sgf import read_sgf_file
from go_engine import Board


@pytest.fixture(scope="module")
def network(tmp_path_factory) -> str:
    """A freshly initialised net-tiny network (three exits: the tests below count them), seeded as
    `dpv arena` seeds a fresh one; not the default network, which may be the shipped one."""
    path = tmp_path_factory.mktemp("net") / "fresh.pt"
    torch.manual_seed(0)
    save_checkpoint(path, DPVNet(load_net_config("net-tiny")), extra={"fresh": True})
    return str(path)


def arena_json(capsys, *argv: str) -> dict:
    assert main(["arena", *argv, "--json"]) == 0
    return json.loads(capsys.readouterr().out)


def check_totals(report: dict) -> None:
    """Wins, losses and colours add up; every game is in the list once."""
    a, b, games = report["a"], report["b"], report["games"]
    assert a["wins"] + b["wins"] + report["draws"] == games
    assert a["wins"] == b["losses"] and b["wins"] == a["losses"]
    for side in (a, b):
        assert side["wins_as_black"] + side["wins_as_white"] == side["wins"]
        assert side["games_as_black"] + side["games_as_white"] == games
    assert a["games_as_black"] == b["games_as_white"]
    black_won = sum(g["winner"] == "black" for g in report["game_list"])
    assert a["wins_as_black"] + b["wins_as_black"] == black_won
    assert sorted(g["game"] for g in report["game_list"]) == list(range(games))
    assert report["a_win_rate"] == pytest.approx((a["wins"] + report["draws"] / 2) / games)
    low, high = report["a_win_rate_wilson95"]
    assert low <= report["a_win_rate"] <= high


def test_identical_players_are_even_and_colours_alternate(ray_session, network, tmp_path, capsys):
    report = arena_json(capsys, "--checkpoint", network, "--exits=-1,-1", "--sims", "2", "--games", "12",
                        "--games-per-task", "6", "--max-moves", "60", "--out", str(tmp_path))
    check_totals(report)
    assert report["a"]["games_as_black"] == report["a"]["games_as_white"] == 6
    assert [g["a_colour"] for g in report["game_list"][:4]] == ["black", "white", "black", "white"]
    low, high = report["a_win_rate_wilson95"]
    assert low < 0.5 < high
    assert report["elo_a_minus_b_95"][0] is None or report["elo_a_minus_b_95"][0] < 0
    # every game was written, replays legally, and its SGF names the players by colour
    files = sorted(tmp_path.glob("game-*.sgf"))
    assert len(files) == 12 and (tmp_path / "match.json").exists()
    for path, game in zip(files, report["game_list"]):
        record = read_sgf_file(path)
        board = Board(size=record.size, komi=record.komi, max_moves=60)
        for action in record.moves:
            board.play(action)
        assert board.is_over() and record.result == game["result"] and len(record.moves) == game["moves"] <= 60


def test_the_stronger_player_wins_and_budgets_hold(ray_session, tmp_path, capsys):
    # MCTS with random playouts: 32 simulations a move against 1 (the prior's first choice)
    report = arena_json(capsys, "--checkpoint", "rollout", "--a", "sims=32", "--b", "sims=1", "--games", "12",
                        "--games-per-task", "3", "--out", str(tmp_path))
    check_totals(report)
    assert report["a_win_rate_wilson95"][0] > 0.5, report["a_win_rate"]
    assert report["a"]["wins_as_black"] > 0 and report["a"]["wins_as_white"] > 0
    for side, sims in (("a", 32), ("b", 1)):
        assert report[side]["budget_flops_per_move"] == sims
        assert report[side]["max_flops_per_move"] <= sims


def test_equal_flops_and_equal_sims_budgets_of_each_exit(ray_session, network):
    flops_config = MatchConfig(games=2, budget="equal-flops", games_per_task=2)
    shallow, deep = (PlayerSpec(exit=e, simulations=6, checkpoint=network) for e in ("0", "-1"))
    report = run_match(shallow, deep, flops_config, show_progress=False).to_dict()
    budget = report["b"]["budget_flops_per_move"]
    assert report["a"]["budget_flops_per_move"] == budget
    for side, exit in (("a", 0), ("b", 2)):
        s = report[side]
        assert s["max_flops_per_move"] <= budget * (1 + 1e-9)
        assert s["exit_histogram"][exit] == 1.0
    # the shallow exit runs more evaluations from the same budget
    assert report["a"]["simulations_per_move"] > 1.5 * report["b"]["simulations_per_move"]
    sims = run_match(shallow, deep, MatchConfig(games=2, budget="equal-sims", games_per_task=2),
                     show_progress=False).to_dict()
    for side in "ab":  # 6 evaluations per move at its own exit (fewer only where terminal leaves end a search)
        moves = sims[side]["moves"]
        assert 5 * moves < sum(sims[side]["evaluations_per_exit"]) <= 6 * moves
        assert sims[side]["max_flops_per_move"] == pytest.approx(sims[side]["budget_flops_per_move"])
    assert sims["a"]["max_flops_per_move"] < sims["b"]["max_flops_per_move"]


def test_two_networks_and_a_dynamic_exit(ray_session, network, tmp_path):
    torch.manual_seed(1)
    other = tmp_path / "other.pt"
    save_checkpoint(other, DPVNet(load_net_config("configs/net-tiny.yaml")))
    a = PlayerSpec(exit="dynamic:0.012,0.01", simulations=6, checkpoint=network)
    b = PlayerSpec(exit="0", simulations=6, checkpoint=str(other))
    report = run_match(a, b, MatchConfig(games=4, games_per_task=4), show_progress=False).to_dict()
    check_totals(report)
    deepest = report["b"]["budget_flops_per_move"] / 6
    # a dynamic policy may overshoot by less than one deepest evaluation (go_engine.search)
    assert report["a"]["max_flops_per_move"] < report["a"]["budget_flops_per_move"] + deepest
    assert report["b"]["exit_histogram"] == [1.0, 0.0, 0.0]


@pytest.mark.parametrize("argv, message", [
    (["--exits", "0,5"], "out of range"),
    (["--exits", "0"], "two exits"),
    (["--a", "colour=black"], "bad player spec"),
    (["--a", "exit=dynamic:0.5,0.4", "--budget", "equal-sims"], "equal-sims needs fixed exits"),
    (["--checkpoint", "/no/such.pt"], "no such checkpoint"),
])
def test_bad_arena_input_is_one_line(argv, message, network, tmp_path, capsys):
    argv = argv if "--checkpoint" in argv else [*argv, "--checkpoint", network]
    assert main(["arena", *argv, "--games", "2", "--out", str(tmp_path)]) == 2
    err = capsys.readouterr().err.strip().splitlines()[-1]
    assert err.startswith("dpv arena: error:") and message in err


def test_exit_study_writes_both_tables(ray_session, network, tmp_path):
    match = MatchConfig(search=SearchSettings(opening_moves=2, sensible_moves=False), games_per_task=2, max_moves=40)
    config = StudyConfig(sims=[3], games=2, tune_games=2, tau0_grid=[0.5], alpha_grid=[0.01, 0.5],
                         threshold_grid=[0.9], policies=[COLLAB_TUNED], match=match)
    result = run_exit_study(config, checkpoint=network, out=tmp_path)
    data = json.loads((tmp_path / "study.json").read_text())
    for setting in ("equal-sims", "equal-flops"):
        cells = data["table_6_2"]["3"][setting]
        assert [c["player"] for c in cells] == ["0", "1"] and all(c["games"] == 2 for c in cells)
    # at equal simulations exit 0 runs as many simulations as the deepest; at equal FLOPs more
    per_move = {s: data["table_6_2"]["3"][s][0]["simulations_per_move"] for s in ("equal-sims", "equal-flops")}
    assert per_move["equal-flops"] > per_move["equal-sims"]
    assert len(data["tuning"]["dynamic"]) == 2 and len(data["tuning"]["threshold"]) == 1
    # the grids are quantiles of the exit-0 confidence on the Table 6.2 positions
    median, q90 = data["confidence_quantiles"]["0.5"], data["confidence_quantiles"]["0.9"]
    assert 1 / 82 <= median <= q90 <= 1
    assert data["tuned"]["dynamic"] in (f"dynamic:{median:.3g},0.01", f"dynamic:{median:.3g},0.5")
    assert data["tuned"]["threshold"] == f"threshold:{q90:.3g}"
    assert set(data["table_6_3"]["3"]) == {"dynamic", "threshold", COLLAB_TUNED}
    collab = data["table_6_3"]["3"][COLLAB_TUNED]  # the tuned dynamic policy, its exits voting
    assert collab["player"] == data["tuned"]["dynamic"].replace("dynamic:", "collab:") and collab["games"] == 2
    assert all(1 <= c["distinct"] <= c["games"] for rows in data["table_6_2"]["3"].values() for c in rows)
    assert data["table_6_3"]["3"]["dynamic"]["opponent"] == str(data["best_exit"]["3"])
    text = (tmp_path / "study.md").read_text()
    assert "Table 6.2" in text and "Table 6.3" in text and "73.4%" in text and text == result.markdown()
    assert (tmp_path / "study.png").stat().st_size > 10_000
    # a second run into the same directory reads every finished match instead of playing it
    written = {p: p.stat().st_mtime_ns for p in tmp_path.glob("*/match.json")}
    again = run_exit_study(config, checkpoint=network, out=tmp_path)
    assert {p: p.stat().st_mtime_ns for p in tmp_path.glob("*/match.json")} == written
    assert again.to_dict()["table_6_2"] == data["table_6_2"] and again.tuned == result.tuned
    assert again.to_dict()["table_6_3"] == data["table_6_3"]


def test_a_process_pool_plays_every_game():
    a, b = PlayerSpec(simulations=16, checkpoint="rollout"), PlayerSpec(simulations=2, checkpoint="rollout")
    pooled = run_match(a, b, MatchConfig(games=4, games_per_task=1, workers=2, executor="processes"),
                       show_progress=False)
    assert [o.a_colour for o in pooled.outcomes] == [1, -1, 1, -1]
    assert pooled.totals("a").moves > 0 and pooled.to_dict()["a"]["budget_flops_per_move"] == 16
    assert [len(o.moves) > 0 for o in pooled.outcomes] == [True] * 4
    assert pooled.games == 4


def test_sensible_moves_keep_passes_and_own_eyes_out_of_a_match(network, tmp_path):
    config = MatchConfig(games=2, workers=0, max_moves=60, search=SearchSettings(opening_moves=4), games_per_task=2)
    players = [PlayerSpec(simulations=2, checkpoint=network)] * 2
    report = run_match(*players, config, out=tmp_path, show_progress=False)
    for outcome in report.outcomes:
        assert len(outcome.moves) == 60 and 81 not in outcome.moves
        board = Board()
        for action in outcome.moves:
            assert not board.is_own_eye(action)
            board.play(action)


@pytest.mark.parametrize("path", ["configs/study-exits.yaml", "configs/study-local.yaml"])
def test_study_presets_load_and_play_by_the_self_play_rule(path):
    config = load_study_config(path)
    assert config.sims == [100, 200] and config.match.search.sensible_moves
