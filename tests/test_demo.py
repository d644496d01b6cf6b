"""`dpv demo` plays real games through the search and the network and writes valid SGF."""
from __future__ import annotations

from dpv.cli import main
from dpv.sgf import read_sgf_file
from go_engine import Board


def test_demo_games_replay_legally_and_match_their_result(tmp_path):
    assert main(["demo", "--games", "3", "--sims", "4", "--out", str(tmp_path), "--exit", "dynamic:0.05,0.5"]) == 0
    files = sorted(tmp_path.glob("*.sgf"))
    assert len(files) == 3
    for path in files:
        record = read_sgf_file(path)
        board = Board(size=record.size, komi=record.komi)
        for action in record.moves:
            board.play(action)
        assert record.result.endswith("+R") or board.is_over()
        assert all(c and "simulations" in c for c in record.comments)


def test_demo_rejects_a_bad_exit_policy(capsys):
    assert main(["demo", "--exit", "sideways"]) == 2
    assert "bad exit policy" in capsys.readouterr().err
