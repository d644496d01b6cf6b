"""SGF records: round trips through sgfmill, and clear errors for files that are not games."""
from __future__ import annotations

import pytest
from sgfmill import sgf

from dpv.sgf import GameRecord, SgfError, from_sgf, read_sgf_file, to_sgf, write_sgf_file


def test_round_trip_keeps_moves_comments_result_and_komi(tmp_path):
    record = GameRecord(
        size=9,
        komi=6.5,
        moves=[40, 0, 80, 81, 8],
        comments=["v=0.12 exit=3", None, "tricky; [escaped] \\ text", None, None],
        result="W+2.5",
        black="dpv",
        white="gnugo",
    )
    path = tmp_path / "game.sgf"
    write_sgf_file(path, record)
    loaded = read_sgf_file(path)
    assert loaded == record


def test_coordinates_match_gtp_convention():
    # action 0 is the top-left point, A9 in GTP, "aa" in SGF; action 72 is A1, "ai".
    data = to_sgf(GameRecord(size=9, moves=[0, 72]))
    game = sgf.Sgf_game.from_bytes(data)
    nodes = game.get_main_sequence()
    assert nodes[1].get_move() == ("b", (8, 0))
    assert nodes[2].get_move() == ("w", (0, 0))
    assert b"B[aa]" in data and b"W[ai]" in data
    root = game.get_root()
    assert root.get("RU") == "Chinese" and game.get_komi() == 7.5


def test_passes_are_kept():
    record = from_sgf(to_sgf(GameRecord(size=5, moves=[12, 25, 25])))
    assert record.moves == [12, 25, 25]


@pytest.mark.parametrize(
    "data, message",
    [
        (b"this is not sgf", "not a valid SGF"),
        (b"(;GM[1]FF[4]SZ[9]AB[aa];W[bb])", "setup stones"),
        (b"(;GM[1]FF[4]SZ[9];W[bb])", "out of turn"),
        (b"(;GM[1]FF[4]SZ[25])", "not supported"),
        (b"(;GM[1]FF[4]SZ[3])", "not supported"),
    ],
)
def test_bad_files_give_one_line_errors(data, message):
    with pytest.raises(SgfError, match=message) as err:
        from_sgf(data, source="x.sgf")
    assert "\n" not in str(err.value) and str(err.value).startswith("x.sgf")


def test_missing_file_is_a_clear_error(tmp_path):
    with pytest.raises(SgfError, match="cannot read"):
        read_sgf_file(tmp_path / "nope.sgf")
