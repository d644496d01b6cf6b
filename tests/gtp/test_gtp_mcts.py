"""`dpv gtp` with the MCTS player: sessions the way Sabaki and GoGui drive engines (with
malformed lines and illegal moves), the tree kept across moves, time control,
kgs-genmove_cleanup and the lz-analyze output."""
from __future__ import annotations

import os
import subprocess
import sys

import numpy as np
import pytest

from dpv.gtp.engine import GtpEngine
from dpv.play.networks import default_network, load_evaluator
from dpv.play.player import MctsPlayer
from dpv.sgf import GameRecord, write_sgf_file
from go_engine import Board, gtp_to_action

# (command, expected status): what Sabaki / GoGui send at start-up, during a game and at the end,
# interleaved with the controller mistakes an engine must survive.
SESSION = [
    ("protocol_version", "="), ("name", "="), ("version", "="), ("list_commands", "="),
    ("known_command lz-analyze", "="), ("boardsize 9", "="), ("clear_board", "="), ("komi 6.5", "="),
    ("time_settings 600 10 1", "="), ("play B D5", "="), ("genmove W", "="), ("play B D5", "?"),
    ("play W Z9", "?"), ("play", "?"), ("genmove", "?"), ("genmove purple", "?"), ("\x01\x7fgarbage \x02", "?"),
    ("42 frobnicate", "?"), ("boardsize nine", "?"), ("time_left W abc 0", "?"), ("time_settings 1 2", "?"),
    ("time_left W 300 0", "="), ("7 genmove b", "="), ("undo", "="), ("genmove b", "="),
    ("lz-analyze w 5", "="), ("lz-genmove_analyze w 5", "="), ("lz-genmove_analyze", "?"),
    ("kgs-genmove_cleanup b", "="), ("is_legal w D5", "="), ("loadsgf /no/such/file.sgf", "?"),
    ("showboard", "="), ("final_score", "="), ("quit", "="),
]


@pytest.fixture(scope="module")
def network(tmp_path_factory) -> str:
    folder = tmp_path_factory.mktemp("net")
    return default_network(None, folder / "fresh.pt", runs=folder / "no-runs", quiet=True)


@pytest.fixture
def player(network) -> MctsPlayer:
    evaluator, flops = load_evaluator(network)
    return MctsPlayer(evaluator, flops, simulations=8)


def test_a_controller_session_with_mistakes_never_breaks_the_engine(player):
    engine = GtpEngine(player)
    for line, status in SESSION:
        response = engine.handle(line)
        assert response is not None and response.endswith("\n\n"), (line, response)
        assert response.startswith(status), (line, response)
    board = Board(size=9, komi=6.5)
    for action in engine.moves:
        board.play(action)
    assert str(board) == str(engine.board) and len(engine.moves) == 5
    assert engine.finished


def test_dpv_gtp_subprocess_serves_the_session_on_a_fresh_network(tmp_path):
    lines = [line for line, _ in SESSION]
    argv = [sys.executable, "-m", "dpv.cli", "gtp", "--sims", "4", "--exit", "dynamic:0.02,0.05"]
    env = {**os.environ, "DPV_MODELS_DIR": str(tmp_path)}  # no shipped network either
    out = subprocess.run(argv, input="\n".join(lines) + "\n", capture_output=True, text=True, timeout=120,
                         cwd=tmp_path, env=env)  # no runs/ here: a fresh network, said on stderr
    assert out.returncode == 0, out.stderr
    answers = out.stdout.split("\n\n")[:-1]
    assert [a[0] for a in answers] == [status for _, status in SESSION]
    assert "freshly initialised" in out.stderr


def test_the_tree_is_kept_across_both_sides_moves_and_rebuilt_after_undo(network):
    evaluator, flops = load_evaluator(network)
    player = MctsPlayer(evaluator, flops, simulations=32)
    engine = GtpEngine(player)
    engine.handle("genmove b")
    reply = player.analysis()[0].action  # the opponent's most searched answer, already in our tree
    engine.handle(f"play w {engine_vertex(reply)}")
    engine.handle("lz-analyze b 100")  # searches (and keeps) the tree without playing
    # the root holds the visits of the earlier search besides this one's simulations and evaluation
    assert player._search.tree_info(0)["root_visits"] > player.last.simulations + 1
    engine.handle("undo")
    engine.handle("lz-analyze b 100")
    assert player._search.tree_info(0)["root_visits"] == player.last.simulations + 1


def engine_vertex(action: int) -> str:
    from go_engine import action_to_gtp

    return action_to_gtp(action, 9)


def test_time_settings_stop_the_search_before_its_budget(network):
    evaluator, flops = load_evaluator(network)
    player = MctsPlayer(evaluator, flops, simulations=1e6)  # minutes of search without a clock
    engine = GtpEngine(player)
    assert engine.handle("time_settings 1 0 0") == "=\n\n"
    vertex = engine.handle("genmove b")[2:].strip()
    assert gtp_to_action(vertex, 9) <= 81
    assert 0 < player.last.flops < 1e6 * flops[-1] / 100
    engine.handle("time_left w 0.5 1")
    engine.handle("genmove w")
    assert 0 < player.last.flops < 1e6 * flops[-1] / 100


class PassLover:
    """An evaluator that puts nearly all prior mass on passing (so plain genmove passes)."""

    def __call__(self, planes, thresholds, legal=None, fixed_exit=None):
        n, actions = legal.shape
        priors = np.full((n, actions), 1e-4, np.float32)
        priors[:, -1] = 1.0
        return priors, np.zeros(n, np.float32), np.zeros(n, np.int32)


def test_kgs_genmove_cleanup_does_not_pass_while_moves_are_left():
    engine = GtpEngine(MctsPlayer(PassLover(), [1.0], simulations=8))
    assert engine.handle("genmove b") == "= pass\n\n"
    engine.handle("undo")
    vertex = engine.handle("kgs-genmove_cleanup b")[2:].strip()
    assert vertex != "pass" and gtp_to_action(vertex, 9) < 81
    # 5x5 with black everywhere except two single-point eyes: cleanup passes too
    engine.handle("boardsize 5")
    for action in range(25):
        if action not in (0, 2):
            engine.handle(f"play b {engine_vertex_5(action)}")
            engine.handle("play w pass")
    assert engine.handle("kgs-genmove_cleanup b") == "= pass\n\n"


def test_a_network_player_refuses_other_board_sizes(player):
    engine = GtpEngine(player)
    assert engine.handle("boardsize 13") == "? unacceptable size\n\n"
    assert engine.handle("boardsize 9") == "=\n\n"


def test_loadsgf_refuses_a_board_the_network_cannot_play(player, tmp_path):
    engine = GtpEngine(player)
    path = tmp_path / "big.sgf"
    write_sgf_file(path, GameRecord(size=19, moves=[0, 1]))
    assert engine.handle(f"loadsgf {path}") == "? cannot load file: board size 19 is unacceptable\n\n"
    assert engine.board.size == 9 and engine.moves == []
    assert gtp_to_action(engine.handle("genmove b")[2:].strip(), 9) <= 81


def engine_vertex_5(action: int) -> str:
    from go_engine import action_to_gtp

    return action_to_gtp(action, 5)


def test_lz_analyze_and_genmove_analyze_print_info_lines(player):
    engine = GtpEngine(player)
    analysis = engine.handle("lz-analyze b 1")
    assert analysis.startswith("=\ninfo move ") and analysis.endswith("\n\n") and "\n\n" not in analysis[:-2]
    first = analysis.splitlines()[1].split("info ")[1]  # the first move's group: key value pairs, then its pv
    pairs, pv = first.split(" pv ")
    fields = dict(zip(pairs.split()[::2], pairs.split()[1::2]))
    assert {"move", "visits", "winrate", "prior", "order"} <= set(fields) and pv.split()[0] == fields["move"]
    assert 0 <= int(fields["winrate"]) <= 10000 and int(fields["visits"]) >= 1
    assert engine.moves == []  # analysis plays nothing
    answer = engine.handle("lz-genmove_analyze b 1")
    assert answer.startswith("=\ninfo move ") and answer.endswith("\n\n")
    played = answer.strip().splitlines()[-1]
    assert played.startswith("play ") and engine.moves == [gtp_to_action(played.split()[1], 9)]
