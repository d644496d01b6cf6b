"""`dpv arena` when things go wrong (issue 19): an external opponent that is missing, does not
speak GTP, dies or falls silent mid-match (a one-line error, the finished games kept), a run
directory that cannot be made, and the Elo of a match won or lost in every game."""
from __future__ import annotations

import json
import sys

import pytest

from dpv.arena.external import run_external_match
from dpv.arena.match import MatchConfig
from dpv.arena.report import GameOutcome, MatchReport, PlayerTotals
from dpv.arena.spec import PlayerSpec
from dpv.arena.stats import elo_estimate
from dpv.cli import main
from dpv.sgf import read_sgf_file

# A GTP engine that passes every move and, at its clear_board number FAIL_AT, fails as told:
# `die` exits, `silent` stops answering; `mute` never answers at all, `gtp1` speaks GTP 1;
# `illegal` answers every genmove with A1 (illegal by its second move at the latest).
SCRIPTED_ENGINE = '''
import sys, time
mode, fail_at = sys.argv[1], int(sys.argv[2])
boards = 0
for line in sys.stdin:
    words = line.split()
    if not words:
        continue
    if mode == "mute":
        time.sleep(3600)
    if words[0] == "clear_board":
        boards += 1
        if boards == fail_at and mode == "die":
            sys.exit(1)
        if boards == fail_at and mode == "silent":
            time.sleep(3600)
    answer = {"protocol_version": "1" if mode == "gtp1" else "2", "name": "scripted",
              "genmove": "A1" if mode == "illegal" else "pass",
              "known_command": "false", "final_score": "0"}.get(words[0], "")
    print(f"= {answer}", end="\\n\\n", flush=True)
    if words[0] == "quit":
        break
'''


@pytest.fixture
def scripted(tmp_path) -> str:
    path = tmp_path / "engine.py"
    path.write_text(SCRIPTED_ENGINE)
    return f"{sys.executable} {path}"


def match_config(games: int) -> MatchConfig:
    return MatchConfig(games=games, board_size=5, komi=0.5, workers=0, max_moves=30)


@pytest.mark.parametrize("mode", ["die", "silent"])
def test_an_opponent_that_dies_or_falls_silent_ends_the_match_keeping_the_games_played(scripted, tmp_path, mode):
    a = PlayerSpec(simulations=2, checkpoint="rollout")
    out = tmp_path / "run"
    with pytest.raises(ValueError) as failure:
        run_external_match(a, f"{scripted} {mode} 3", match_config(4), out=out, show_progress=False, timeout=1)
    message = str(failure.value)
    assert "\n" not in message and message.startswith("the opponent failed in game 2: python ")
    assert ("exited while answering 'clear_board'" if mode == "die" else "did not answer 'clear_board' within 1 s") \
        in message and message.endswith(f"; the match stopped (2 finished games kept in {out}/)")
    assert sorted(path.name for path in out.glob("game-*.sgf")) == ["game-0000.sgf", "game-0001.sgf"]
    assert json.loads((out / "match.json").read_text())["games"] == 2
    assert read_sgf_file(out / "game-0001.sgf").moves  # a real game, played to its end


def test_an_opponents_illegal_move_loses_it_that_game_and_the_match_goes_on(scripted, tmp_path):
    a = PlayerSpec(simulations=2, checkpoint="rollout")
    out = tmp_path / "run"
    report = run_external_match(a, f"{scripted} illegal 0", match_config(4), out=out, show_progress=False, timeout=5)
    d = report.to_dict()
    assert d["games"] == 4 and d["a"]["wins"] == 4 and d["b"]["forfeits"] == 4 and d["a"]["forfeits"] == 0
    assert [g["result"] for g in d["game_list"]] == ["B+F", "W+F", "B+F", "W+F"]  # A is black in even games
    record = read_sgf_file(out / "game-0001.sgf")
    assert record.result == "W+F"
    assert "referee: python played illegal A1 at move" in (record.comments[-1] or "") \
        and record.comments[-1].endswith("; forfeit")


def run_cli(capsys, *argv: str) -> tuple[int, str]:
    code = main(list(argv))
    return code, capsys.readouterr().err.strip()


@pytest.mark.parametrize("opponent, message", [
    ("/no/such/engine --mode gtp", "--opponent: cannot start GTP engine '/no/such/engine': No such file or directory"),
    ("{scripted} gtp1 0", "--opponent: python speaks GTP version '1', not 2"),
    ("{scripted} mute 0", "--opponent: python did not answer 'protocol_version' within 1 s"),
])
def test_the_opponent_is_checked_before_any_game_in_one_line(capsys, scripted, tmp_path, opponent, message):
    code, err = run_cli(capsys, "arena", "--checkpoint", "rollout", "--opponent", opponent.format(scripted=scripted),
                        "--opponent-timeout", "1", "--games", "2", "--workers", "0", "--out", str(tmp_path / "run"))
    assert code == 2 and err.splitlines()[-1] == f"dpv arena: error: {message}"
    assert not list((tmp_path / "run").glob("game-*.sgf"))


@pytest.mark.parametrize("command", [["arena", "--checkpoint", "rollout", "--games", "1", "--workers", "0"],
                                     ["study", "exits", "--checkpoint", "rollout", "--workers", "0"]])
def test_an_impossible_out_directory_is_one_line_naming_it(capsys, tmp_path, command):
    blocker = tmp_path / "a-file"
    blocker.write_text("in the way")
    code, err = run_cli(capsys, *command, "--out", str(blocker / "run"))
    assert code == 2 and err.splitlines() == [f"dpv {command[0]}: error: {blocker / 'run'}: Not a directory"]


def outcomes(wins: int, games: int) -> list[GameOutcome]:
    return [GameOutcome(index=i, a_colour=1, winner=1 if i < wins else -1, score=1.5 if i < wins else -1.5,
                        moves=[], comments=[], a=PlayerTotals(), b=PlayerTotals()) for i in range(games)]


@pytest.mark.parametrize("wins, bound, shown", [(0, "upper", "< -166 (A won no game)"),
                                                (10, "lower", "> +166 (A won every game)")])
def test_a_match_lost_or_won_in_every_game_shows_the_elo_bound_with_its_sign(wins, bound, shown):
    report = MatchReport(PlayerSpec(name="a"), PlayerSpec(name="b"), "equal-flops", outcomes(wins, 10))
    data = report.to_dict()
    assert data["elo_a_minus_b_bound"] == bound and data["elo_a_minus_b"] == pytest.approx(166 * (1 if wins else -1),
                                                                                            abs=1)
    assert f"Elo A-B {shown}" in report.summary() and "inf" not in report.summary()
    json.dumps(data, allow_nan=False)  # no inf or nan in the JSON either
    assert elo_estimate(5, 10).text() == "+0 [-204, +204]" and elo_estimate(0, 0).text() == "n/a (no games)"



def test_through_ray_tasks_the_games_before_the_failure_are_kept_too(ray_session, scripted, tmp_path):
    config = MatchConfig(games=4, board_size=5, komi=0.5, workers=1, games_per_task=3, max_moves=30)
    with pytest.raises(ValueError, match=r"failed in game 2: python exited .* \(2 finished games kept in "):
        run_external_match(PlayerSpec(simulations=2, checkpoint="rollout"), f"{scripted} die 3", config,
                           out=tmp_path, show_progress=False, timeout=5)
    assert json.loads((tmp_path / "match.json").read_text())["games"] == 2  # games 0 and 1 of the first task
    assert len(list(tmp_path.glob("game-*.sgf"))) == 2
