"""The referee (dpv.play.referee) and GTP replies (dpv.play.gtp_client): our search player in
this process against `dpv gtp --player random` over a pipe, every move checked on the
referee's board, both seats agreeing on the final score of the played-out game."""
from __future__ import annotations

import sys

import pytest

from dpv.play.gtp_client import GtpClient, GtpError, parse_reply
from dpv.play.player import MctsPlayer
from dpv.play.referee import GtpSeat, SearchSeat, play_game
from go_engine import RolloutEvaluator


def test_replies_are_read_once_for_every_client():
    assert parse_reply("= D5", "genmove b", "gnugo") == "D5"
    assert parse_reply("=12 resign\n", "12 genmove w", "gnugo") == "resign"
    assert parse_reply("= \nA B C\n1 . .", "showboard", "dpv") == "A B C\n1 . ."
    with pytest.raises(GtpError, match="gnugo refused 'play b Z9': invalid vertex"):
        parse_reply("? invalid vertex", "play b Z9", "gnugo")


def test_our_search_plays_a_gtp_engine_to_the_end_and_both_count_the_same():
    player = MctsPlayer(RolloutEvaluator(playouts=1, seed=3), [1.0], simulations=16)
    ours = SearchSeat(player)
    argv = [sys.executable, "-m", "dpv.cli", "gtp", "--player", "random", "--seed", "5"]
    with GtpClient(argv, name="random") as client:
        theirs = GtpSeat(client)
        assert theirs.genmove_command == "kgs-genmove_cleanup"  # `dpv gtp` knows it
        result = play_game(ours, theirs, size=5, komi=0.5)
    assert result.moves[-2:] == [25, 25] and not result.resigned
    assert result.final_scores["dpv"] == result.final_scores["random"] == result.final_scores["referee"]
    # every move of ours has its search recorded, at the even move numbers (we were black)
    assert sorted(ours.searches) == list(range(0, len(result.moves), 2))
    assert all(s.flops <= 16 for s in ours.searches.values())


def test_our_seat_refuses_an_illegal_move_with_a_clear_error():
    seat = SearchSeat(MctsPlayer(RolloutEvaluator(playouts=1, seed=3), [1.0], simulations=4))
    seat.new_game(5, 0.5)
    seat.play(1, 12)
    with pytest.raises(GtpError, match="dpv refused C3"):
        seat.play(-1, 12)
