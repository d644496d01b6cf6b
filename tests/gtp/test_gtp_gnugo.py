"""Full games of `dpv gtp --player random` against GNU Go, refereed: every move of ours is
legal for GNU Go, both engines agree on `is_legal`, and on the final score of games played
out to the end (GNU Go captures dead stones with kgs-genmove_cleanup; area scoring)."""
from __future__ import annotations

import sys

import numpy as np
import pytest

from dpv.gtp.engine import format_vertex
from dpv.play.gtp_client import GtpClient
from dpv.play.referee import GtpSeat, play_game
from go_engine import Board

GAMES = 4


def dpv_engine(seed: int) -> GtpClient:
    return GtpClient([sys.executable, "-m", "dpv.cli", "gtp", "--player", "random", "--seed", str(seed)], name="dpv")


@pytest.mark.parametrize("game", range(GAMES))
def test_random_player_against_gnugo_agrees_on_the_final_score(gnugo, game):
    with dpv_engine(seed=game) as ours, GtpClient(gnugo, name="gnugo") as theirs:
        seats = [GtpSeat(ours, genmove="genmove"), GtpSeat(theirs, genmove="kgs-genmove_cleanup")]
        black, white = seats if game % 2 == 0 else seats[::-1]
        result = play_game(black, white, size=9, komi=7.5)
    assert not result.resigned
    assert result.moves[-2:] == [81, 81], "the game must end with two passes"
    assert result.final_scores["dpv"] == result.final_scores["gnugo"] == result.final_scores["referee"]


def test_is_legal_agrees_with_gnugo_along_a_game(gnugo):
    rng = np.random.default_rng(7)
    board = Board(size=9)
    with dpv_engine(seed=11) as ours, GtpClient(gnugo, name="gnugo") as theirs:
        for client in (ours, theirs):
            client.command("boardsize 9")
            client.command("clear_board")
        checked = 0
        while not board.is_over() and board.move_count < 120:
            colour = "b" if board.to_play == 1 else "w"
            if board.move_count % 10 == 0:
                for action in range(81):
                    vertex = format_vertex(action, 9)
                    answers = {c.name: c.command(f"is_legal {colour} {vertex}") for c in (ours, theirs)}
                    assert answers["dpv"] == answers["gnugo"], (board.move_count, vertex, answers)
                    checked += 1
            legal = np.flatnonzero(board.legal_actions()[:81])
            action = int(rng.choice(legal)) if len(legal) else 81
            board.play(action)
            for client in (ours, theirs):
                client.command(f"play {colour} {format_vertex(action, 9)}")
    assert checked >= 81 * 10
