"""The GTP engine: every command of the protocol, failures that keep the engine running,
and `dpv gtp` as a real subprocess."""
from __future__ import annotations

import subprocess
import sys

import pytest

from dpv.gtp.engine import GtpEngine
from dpv.gtp.players import RandomPlayer
from dpv.play.gtp_client import GtpClient, GtpError
from dpv.sgf import GameRecord, format_score, write_sgf_file
from go_engine import Board, gtp_to_action


@pytest.fixture
def engine() -> GtpEngine:
    return GtpEngine(RandomPlayer(seed=1))


def answer(engine: GtpEngine, line: str) -> str:
    response = engine.handle(line)
    assert response is not None and response.endswith("\n\n")
    return response


def test_administrative_commands(engine):
    assert answer(engine, "protocol_version") == "= 2\n\n"
    assert answer(engine, "name") == "= dpv\n\n"
    assert answer(engine, "7 known_command genmove") == "=7 true\n\n"
    assert answer(engine, "known_command frobnicate") == "= false\n\n"
    listed = answer(engine, "list_commands")[2:].split()
    for name in ["protocol_version", "name", "version", "known_command", "list_commands", "quit",
                 "boardsize", "clear_board", "komi", "play", "genmove", "undo", "showboard",
                 "final_score", "loadsgf", "is_legal"]:
        assert name in listed


def test_preprocessing_ids_comments_and_blank_lines(engine):
    assert engine.handle("   # only a comment") is None
    assert engine.handle("\n") is None
    assert answer(engine, "12\tplay\tb D5 # centre-ish") == "=12\n\n"
    assert engine.board.stones()[4, 3] == 1


@pytest.mark.parametrize(
    "line, message",
    [
        ("frobnicate", "unknown command"),
        ("play b", "syntax error"),
        ("play purple D5", "invalid color"),
        ("play b Z5", "invalid vertex"),
        ("play b I5", "invalid vertex"),
        ("play b D10", "invalid vertex"),
        ("boardsize 3", "unacceptable size"),
        ("boardsize nine", "syntax error"),
        ("komi lots", "syntax error"),
        ("undo", "cannot undo"),
        ("loadsgf /no/such/file.sgf", "cannot load file"),
    ],
)
def test_failures_answer_with_question_mark_and_keep_running(engine, line, message):
    response = answer(engine, line)
    assert response.startswith("? ") and message in response
    assert answer(engine, "play b C3") == "=\n\n"


def test_illegal_moves_are_refused_and_change_nothing(engine):
    answer(engine, "play b A1")
    before = engine.board.stones().copy()
    assert "occupied" in answer(engine, "play w A1")
    assert (engine.board.stones() == before).all()
    # white stones around E5, then black playing into it would be suicide
    for move in ["w D5", "b A9", "w F5", "b B9", "w E4", "b C9", "w E6"]:
        assert answer(engine, f"play {move}").startswith("=")
    assert "suicide" in answer(engine, "play b E5")
    assert answer(engine, "is_legal b E5") == "= 0\n\n"
    assert answer(engine, "is_legal b J1") == "= 1\n\n"


def test_undo_restores_the_previous_position(engine):
    answer(engine, "play b E5")
    board_after_one = str(engine.board)
    answer(engine, "play w C3")
    assert answer(engine, "undo") == "=\n\n"
    assert str(engine.board) == board_after_one and engine.board.to_play == -1


def test_out_of_turn_play_inserts_a_pass(engine):
    answer(engine, "play b E5")
    assert answer(engine, "play b C3").startswith("=")
    assert engine.moves == [40, 81, 56]


def test_boardsize_komi_showboard_final_score(engine):
    answer(engine, "boardsize 5")
    answer(engine, "komi 0.5")
    assert engine.board.size == 5 and engine.board.komi == 0.5
    answer(engine, "play b C3")
    assert answer(engine, "final_score") == "= B+24.5\n\n"
    shown = answer(engine, "showboard")
    assert "C" in shown and shown.count("\n") >= 6


def test_genmove_plays_a_legal_move_and_passes_at_the_end(engine):
    answer(engine, "boardsize 5")
    for colour in "bwbwbwbwbw":
        vertex = answer(engine, f"genmove {colour}")[2:].strip()
        assert vertex == "pass" or engine.board.history[-1] == gtp_to_action(vertex, 5)
    assert len(engine.moves) == 10


def test_loadsgf_sets_up_the_position_before_a_move_number(engine, tmp_path):
    path = tmp_path / "g.sgf"
    write_sgf_file(path, GameRecord(size=7, komi=6.5, moves=[24, 0, 48, 6]))
    assert answer(engine, f"loadsgf {path} 3") == "=\n\n"
    assert engine.board.size == 7 and engine.board.komi == 6.5 and engine.moves == [24, 0]
    answer(engine, f"loadsgf {path}")
    assert engine.moves == [24, 0, 48, 6]
    write_sgf_file(path, GameRecord(size=7, moves=[24, 24]))
    assert "move 2 is illegal" in answer(engine, f"loadsgf {path}")
    assert engine.moves == [24, 0, 48, 6]


def test_format_score():
    assert format_score(3.5) == "B+3.5" and format_score(-0.5) == "W+0.5" and format_score(0) == "0"


def test_random_player_keeps_its_eyes_and_passes_when_nothing_is_left():
    board = Board(size=5, komi=0.5)
    # black fills the board except two single-point eyes at A5 and C5 (actions 0 and 2)
    for action in range(25):
        if action not in (0, 2):
            board.play(action)
            board.play(25)  # white passes
    player = RandomPlayer(seed=0)
    assert all(player.genmove(board) == 25 for _ in range(20))


def test_dpv_gtp_subprocess_serves_a_session():
    argv = [sys.executable, "-m", "dpv.cli", "gtp", "--player", "random", "--seed", "3"]
    with GtpClient(argv, name="dpv") as client:
        assert client.command("protocol_version") == "2"
        client.command("boardsize 9")
        move = client.command("genmove b")
        assert move == "pass" or gtp_to_action(move, 9) < 81
        with pytest.raises(GtpError, match="unknown command"):
            client.command("bogus")
        assert client.command("name") == "dpv"


def test_dpv_gtp_ends_on_end_of_input():
    argv = [sys.executable, "-m", "dpv.cli", "gtp"]
    out = subprocess.run(argv, input="name\n", capture_output=True, text=True, timeout=60)
    assert out.returncode == 0 and out.stdout == "= dpv\n\n"
