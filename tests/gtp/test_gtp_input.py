"""Hostile and careless input to the GTP engine (issue 19): bytes that are not UTF-8, files
that are not SGF files (a FIFO, /dev/zero, a huge file, a game that is not Go, a board the
network cannot play), komi nan/inf, genmove after the game's end, and the fresh network's
private temporary file. Each is one `? ...` answer (or a clean start), never a crash or a hang."""
from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import threading

import pytest

from dpv.gtp.engine import GtpEngine
from dpv.gtp.players import RandomPlayer, mcts_player

DPV_GTP_RANDOM = [sys.executable, "-m", "dpv.cli", "gtp", "--player", "random", "--seed", "1"]


@pytest.fixture
def engine() -> GtpEngine:
    return GtpEngine(RandomPlayer(seed=1))


def answer_within(engine: GtpEngine, line: str, seconds: float = 30.0) -> str:
    """The engine's answer to `line`, handled in a thread so that a hang fails the test
    instead of stopping the suite."""
    answers: list[str | None] = []
    worker = threading.Thread(target=lambda: answers.append(engine.handle(line)), daemon=True)
    worker.start()
    worker.join(seconds)
    assert answers, f"no answer to '{line}': the engine hangs"
    return answers[0]


def test_a_byte_that_is_not_utf8_is_one_failed_command_under_a_strict_utf8_locale():
    env = {**os.environ, "LC_ALL": "C.UTF-8", "PYTHONIOENCODING": "utf-8:strict"}
    out = subprocess.run(DPV_GTP_RANDOM, input=b"\xff\nname\nplay b \xe9\xff5\nname\n", capture_output=True,
                         env=env, timeout=60)
    assert out.returncode == 0, out.stderr
    frames = out.stdout.decode("utf-8").split("\n\n")
    assert frames[0] == "? unknown command" and frames[1] == "= dpv" and frames[3] == "= dpv"
    assert frames[2].startswith("? invalid vertex") and frames[4:] == [""]


def test_loadsgf_refuses_a_fifo_without_waiting_for_a_writer(engine, tmp_path):
    fifo = tmp_path / "game.sgf"
    os.mkfifo(fifo)
    assert answer_within(engine, f"loadsgf {fifo}") == f"? cannot load file: {fifo}: not a regular file\n\n"


def test_loadsgf_refuses_devices_directories_and_huge_files(engine, tmp_path):
    assert answer_within(engine, "loadsgf /dev/zero") == "? cannot load file: /dev/zero: not a regular file\n\n"
    assert answer_within(engine, f"loadsgf {tmp_path}").startswith("? cannot load file:")
    huge = tmp_path / "huge.sgf"
    huge.write_bytes(b"(;GM[1]SZ[9]" + b"C[" + b"x" * (1 << 20) + b"])")
    assert "larger than" in answer_within(engine, f"loadsgf {huge}")
    assert engine.handle("name") == "= dpv\n\n"


@pytest.mark.parametrize("sgf, message", [
    (b"(;GM[2]SZ[9];B[aa])", "not a game of Go (GM[2])"),
    (b"(;GM[1]SZ[9]KM[nan];B[aa])", "invalid komi"),
    (b"(;GM[1]SZ[9]KM[inf];B[aa])", "invalid komi"),
    (b"(;GM[1]SZ[9]KM[1e400];B[aa])", "invalid komi"),
])
def test_loadsgf_refuses_other_games_and_komi_that_is_not_a_number(engine, tmp_path, sgf, message):
    path = tmp_path / "game.sgf"
    path.write_bytes(sgf)
    response = engine.handle(f"loadsgf {path}")
    assert response.startswith("? cannot load file:") and message in response, response
    assert engine.moves == [] and engine.komi == 7.5


@pytest.mark.parametrize("value", ["nan", "inf", "-inf", "NaN", "1e400"])
def test_komi_must_be_a_finite_number_and_final_score_stays_a_score(engine, value):
    assert engine.handle(f"komi {value}").startswith("? syntax error: komi must be a finite number")
    assert engine.handle("final_score") == "= W+7.5\n\n"
    assert engine.handle(f"time_settings {value} 0 0").startswith("? syntax error:")


def test_dpv_gtp_refuses_a_komi_that_is_not_a_number_in_one_line():
    out = subprocess.run(DPV_GTP_RANDOM + ["--komi", "nan"], input=b"name\n", capture_output=True, timeout=60)
    assert out.returncode == 2 and out.stdout == b""
    assert out.stderr.decode().strip() == "dpv gtp: error: --komi must be a finite number, not nan"


def test_genmove_after_the_games_end_passes_for_either_colour(engine):
    engine.handle("play b E5")
    engine.handle("play w pass")
    engine.handle("play b pass")
    assert engine.board.is_over()
    answers = {engine.handle(line) for line in ("genmove w", "genmove b", "kgs-genmove_cleanup w", "genmove w")}
    assert answers == {"= pass\n\n"}
    assert len(engine.moves) == 3  # nothing is played after the end


def test_the_fresh_network_is_loaded_from_a_private_temporary_file(tmp_path, monkeypatch):
    shared = tmp_path / "shared-tmp"
    shared.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(shared))
    player = mcts_player(None, simulations=4, runs=str(tmp_path / "no-runs"))
    assert player.board_size == 9
    # nothing of ours left under a name another user could guess or plant (torch keeps its own caches there)
    assert [path.name for path in shared.iterdir() if path.name.startswith("dpv")] == []
