"""`dpv arena --opponent`: the MCTS player against GNU Go, refereed, played out to the end."""
from __future__ import annotations

import json

from dpv.cli import main
from dpv.play.networks import default_network
from dpv.sgf import read_sgf_file
from go_engine import Board


def test_arena_against_gnugo_plays_legal_games_and_agrees_on_the_score(gnugo, tmp_path, capsys):
    network = default_network(None, tmp_path / "fresh.pt", runs=tmp_path / "no-runs", quiet=True)
    out = tmp_path / "match"
    argv = ["arena", "--opponent", gnugo, "--checkpoint", network, "--a", "sims=4", "--games", "2",
            "--workers", "0", "--out", str(out), "--json"]
    assert main(argv) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["games"] == 2 and [g["a_colour"] for g in report["game_list"]] == ["black", "white"]
    assert report["a"]["wins"] + report["b"]["wins"] == 2
    assert report["a"]["max_flops_per_move"] <= report["a"]["budget_flops_per_move"]
    for game, path in zip(report["game_list"], sorted(out.glob("game-*.sgf"))):
        scores = game["final_scores"]
        assert scores["dpv"] == scores[report["b"]["name"].split()[0].rsplit("/", 1)[-1]] == scores["referee"]
        record = read_sgf_file(path)
        board = Board(size=9, komi=7.5, max_moves=4 * 81)
        for action in record.moves:  # every move legal on the referee's rules
            board.play(action)
        assert record.moves[-2:] == [81, 81] and record.result == scores["referee"]
        # our moves carry the search's comment, GNU Go's none
        ours = [c for c in record.comments if c]
        assert ours and all(c.startswith("dpv: value") for c in ours)
