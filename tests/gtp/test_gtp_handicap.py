"""Handicap over GTP (dpv.gtp.handicap): fixed_handicap, place_free_handicap and
set_free_handicap as the GTP v2 spec defines them, and fixed placements equal to GNU Go's."""
from __future__ import annotations

import pytest

from dpv.gtp.engine import GtpEngine
from dpv.gtp.handicap import free_handicap, max_fixed_handicap
from dpv.gtp.players import RandomPlayer
from dpv.play.gtp_client import GtpClient
from go_engine import gtp_to_action


@pytest.fixture
def engine() -> GtpEngine:
    return GtpEngine(RandomPlayer(seed=3), komi=0.5)


def body(engine: GtpEngine, line: str) -> str:
    response = engine.handle(line)
    assert response is not None and response.startswith("="), response
    return response[1:].strip()


def failure(engine: GtpEngine, line: str) -> str:
    response = engine.handle(line)
    assert response is not None and response.startswith("?"), response
    return response[1:].strip()


@pytest.mark.parametrize("stones", range(2, 10))
def test_fixed_handicap_places_gnu_gos_stones(gnugo, stones):
    ours = GtpEngine(RandomPlayer(seed=0))
    with GtpClient(gnugo, name="gnugo") as theirs:
        theirs.command("boardsize 9")
        theirs.command("clear_board")
        expected = set(theirs.command(f"fixed_handicap {stones}").upper().split())
    placed = body(ours, f"fixed_handicap {stones}").split()
    assert len(placed) == stones and set(placed) == expected


def test_handicap_stones_are_black_white_plays_next_komi_kept(engine):
    body(engine, "komi 6.5")
    placed = body(engine, "fixed_handicap 4").split()
    stones = engine.board.stones()
    for vertex in placed:
        action = gtp_to_action(vertex, 9)
        assert stones[action // 9, action % 9] == 1
    assert int(stones.sum()) == 4 and engine.board.to_play == -1
    assert engine.komi == engine.board.komi == 6.5
    body(engine, "play w E5")
    body(engine, "undo")
    assert failure(engine, "undo") == "cannot undo"  # the handicap is not a move to take back
    assert int(engine.board.stones().sum()) == 4


@pytest.mark.parametrize("line, message", [
    ("fixed_handicap 1", "invalid number of stones"),
    ("fixed_handicap 10", "invalid number of stones"),
    ("fixed_handicap two", "syntax error"),
    ("place_free_handicap 1", "invalid number of stones"),
    ("place_free_handicap 81", "invalid number of stones"),
    ("set_free_handicap E5", "bad vertex list"),
    ("set_free_handicap E5 E5", "bad vertex list"),
    ("set_free_handicap E5 pass", "bad vertex list"),
    ("set_free_handicap E5 Z9", "bad vertex list"),
])
def test_bad_handicaps_fail_and_leave_the_board(engine, line, message):
    assert failure(engine, line).startswith(message)
    assert not engine.board.stones().any() and engine.board.to_play == 1


def test_handicap_needs_an_empty_board(engine):
    body(engine, "play b D4")
    for line in ("fixed_handicap 2", "place_free_handicap 2", "set_free_handicap C3 G7"):
        assert failure(engine, line) == "board not empty"
    body(engine, "clear_board")
    body(engine, "set_free_handicap C3 G7 E5")
    assert int(engine.board.stones().sum()) == 3 and engine.board.to_play == -1


def test_free_placement_starts_with_the_fixed_one_and_fills_from_the_centre(engine):
    placed = body(engine, "place_free_handicap 12").split()
    assert placed[:9] == body(GtpEngine(RandomPlayer()), "fixed_handicap 9").split()
    assert len(set(placed)) == 12 and int(engine.board.stones().sum()) == 12
    assert max_fixed_handicap(8) == 4 and max_fixed_handicap(6) == 0
    assert len(set(free_handicap(24, 5))) == 24  # no fixed points on 5x5: the centre outwards


def test_fixed_handicap_on_19x19_is_the_specs():
    engine = GtpEngine(RandomPlayer())
    body(engine, "boardsize 19")
    assert body(engine, "fixed_handicap 9").split() == ["D4", "Q16", "D16", "Q4", "D10", "Q10", "K4", "K16", "K10"]
