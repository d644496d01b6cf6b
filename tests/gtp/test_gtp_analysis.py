"""Streaming analysis (lz-analyze, kata-analyze, the genmove_analyze pair): a search that runs
until the next command arrives, a line every interval on the engine's clock, the fields Lizzie
and Sabaki read. Counted by evaluations and by the order of commands, never by wall time."""
from __future__ import annotations

import dataclasses
import re
import subprocess
import sys

import numpy as np
import pytest
import torch

from dpv.gtp.analysis import AnalyzeRequest, parse_analyze_args
from dpv.gtp.engine import GtpEngine
from dpv.nets.config import NetConfig
from dpv.nets.evaluator import Evaluator
from dpv.nets.model import DPVNet
from dpv.play.lines import LineQueue
from dpv.play.player import MctsPlayer
from go_engine import Board, ExitPolicy, gtp_to_action

ENDLESS = 1e9  # simulations: a budget no test reaches


class CountingEvaluator:
    """A uniform evaluator that counts its calls (one per search step) and, at call `at`,
    puts `lines` on the engine's input, as a controller sending commands during the search,
    then ends the input."""

    def __init__(self, commands: LineQueue | None = None, at: int = 0, *lines: str | None) -> None:
        self.calls = 0
        self.commands, self.at, self.lines = commands, at, lines

    def __call__(self, planes, thresholds, legal=None, fixed_exit=None):
        self.calls += 1
        if self.commands is not None and self.calls == self.at:
            for line in (*self.lines, None):
                self.commands.put(line)
        n, actions = legal.shape
        priors = np.where(legal, 1.0, 0.0).astype(np.float32)
        priors /= priors.sum(axis=1, keepdims=True)
        return priors, np.zeros(n, np.float32), np.zeros(n, np.int32)


def info_groups(line: str) -> list[dict]:
    """The `info` groups of one analysis line as dicts, `pv` a list of vertices (to the next
    group), and the line's `ownership` values under the key "ownership" of the last group."""
    line, _, ownership = line.partition(" ownership ")
    groups = []
    for text in line.split("info ")[1:]:
        head, _, pv = text.partition(" pv ")
        words = head.split()
        groups.append({**dict(zip(words[::2], words[1::2])), "pv": pv.split()})
    if ownership:
        groups[-1]["ownership"] = [float(v) for v in ownership.split()]
    return groups


def session(lines: list[str], evaluator: CountingEvaluator, commands: LineQueue,
            simulations: float = ENDLESS) -> list[str]:
    """Run an engine on `commands` (after `lines`), its clock one second per evaluation;
    the answers, one per command."""
    engine = GtpEngine(MctsPlayer(evaluator, [1.0], simulations=simulations), clock=lambda: float(evaluator.calls))
    for line in lines:
        commands.put(line + "\n")
    pieces: list[str] = []
    engine.run(commands, pieces.append)
    return "".join(pieces).split("\n\n")[:-1]


def test_a_command_sent_during_analysis_stops_it_after_the_step_and_is_answered():
    commands = LineQueue()
    evaluator = CountingEvaluator(commands, 20, "name\n")
    answers = session(["lz-analyze b 300"], evaluator, commands)
    assert evaluator.calls == 20  # stopped right after the step during which `name` arrived
    analysis = answers[0].split("\n")
    assert analysis[0] == "=" and all(line.startswith("info move ") for line in analysis[1:])
    # a line every 3 s of the clock (3 evaluations), at 3, 6, ..., 18, and one as it stops
    assert len(analysis) - 1 == 20 // 3 + 1
    assert answers[1:] == ["= dpv"]  # then the end of input


def test_a_blank_line_and_the_end_of_input_also_stop_the_analysis():
    commands = LineQueue()
    evaluator = CountingEvaluator(commands, 5, "\n")
    answers = session(["kata-analyze w interval 100"], evaluator, commands)
    assert evaluator.calls == 5 and len(answers) == 1 and answers[0].startswith("=\ninfo move ")
    commands = LineQueue()
    evaluator = CountingEvaluator(commands, 7)
    assert session(["lz-analyze"], evaluator, commands)[0].startswith("=\ninfo move ") and evaluator.calls == 7


def test_a_play_during_kata_analyze_is_answered_after_the_stream_then_genmove_plays():
    commands = LineQueue()
    evaluator = CountingEvaluator(commands, 12, "play b E5\n", "genmove w\n")
    answers = session(["kata-analyze b 10 maxmoves 3"], evaluator, commands, simulations=8)
    head, *lines = answers[0].split("\n")
    assert head == "=" and len(lines) >= 2
    for line in lines:  # floats in [0, 1], at most three moves, every field Lizzie and Sabaki read
        groups = info_groups(line)
        assert 1 <= len(groups) <= 3
        fields = groups[0]
        assert set(fields) == {"move", "visits", "winrate", "prior", "lcb", "order", "pv"}  # no heads, no scoreLead
        assert 0.0 <= float(fields["winrate"]) <= 1.0 and 0.0 <= float(fields["lcb"]) <= float(fields["winrate"])
    assert answers[1] == "="  # the play, answered after the analysis ended, nothing interleaved
    assert answers[2].startswith("= ") and len(answers) == 3


def test_genmove_analyze_searches_its_whole_budget_whatever_arrives():
    commands = LineQueue()
    evaluator = CountingEvaluator(commands, 2, "name\n")
    answers = session(["lz-genmove_analyze b 100"], evaluator, commands, simulations=64)
    alone = LineQueue()
    undisturbed = CountingEvaluator(alone, 10_000)
    alone.put("lz-genmove_analyze b 100\n")
    alone.put(None)
    session([], undisturbed, alone, simulations=64)
    assert evaluator.calls == undisturbed.calls > 2  # the same whole search, as if nothing had arrived
    *info, played = answers[0].split("\n")[1:]
    assert info and all(line.startswith("info move ") for line in info)
    assert played.startswith("play ") and gtp_to_action(played.split()[1], 9) <= 81
    assert answers[1] == "= dpv"


def test_minmoves_and_maxmoves_bound_the_moves_of_a_line():
    engine = GtpEngine(MctsPlayer(CountingEvaluator(), [1.0], simulations=4))
    few = engine.handle("lz-analyze b 1 maxmoves 2").split("\n")[1:-2]
    many = engine.handle("lz-analyze b 1 minmoves 30").split("\n")[1:-2]
    assert few and all(line.count("info ") <= 2 for line in few)
    assert many and all(line.count("info ") >= 30 for line in many)
    assert " visits 0 " in many[-1]  # unvisited moves pad the line, by prior


@pytest.mark.parametrize("args, request_", [
    ([], AnalyzeRequest(None, 1.0)),
    (["10"], AnalyzeRequest(None, 0.1)),
    (["w", "50", "minmoves", "5", "maxmoves", "8"], AnalyzeRequest(-1, 0.5, 5, 8)),
    (["B", "interval", "20", "ownership", "true", "avoid", "b", "D4,E5", "1"], AnalyzeRequest(1, 0.2, ownership=True)),
    (["b", "0"], AnalyzeRequest(1, 0.01)),
    (["w", "10", "dpv", "true", "ownership", "false"], AnalyzeRequest(-1, 0.1, dpv=True)),
])
def test_analysis_arguments(args, request_):
    assert parse_analyze_args(args) == request_


def test_bad_analysis_arguments_are_one_failure_and_the_engine_goes_on():
    engine = GtpEngine(MctsPlayer(CountingEvaluator(), [1.0], simulations=4))
    assert engine.handle("lz-analyze b interval soon") == "? syntax error: interval must be a number >= 0, " \
                                                          "not 'soon'\n\n"
    assert engine.handle("kata-analyze minmoves") == "? syntax error: 'minmoves' needs a value\n\n"
    assert engine.handle("kata-genmove_analyze 10") == "? syntax error: missing color\n\n"
    assert engine.handle("kata-analyze ownership yes") == "? syntax error: ownership must be true or false, " \
                                                          "not 'yes'\n\n"
    assert engine.handle("lz-analyze dpv 1") == "? syntax error: dpv must be true or false, not '1'\n\n"
    assert engine.handle("name") == "= dpv\n\n"


def test_dpv_gtp_streams_kata_analyze_over_a_pipe_until_a_play_arrives():
    argv = [sys.executable, "-m", "dpv.cli", "gtp", "--checkpoint", "rollout", "--sims", "1e9"]
    process = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    try:
        process.stdin.write(b"kata-analyze b 1\n")
        process.stdin.flush()
        assert process.stdout.readline() == b"=\n"
        assert process.stdout.readline().startswith(b"info move ")  # it streams ...
        process.stdin.write(b"play b E5\nlist_commands\nquit\n")  # ... until the next command
        process.stdin.flush()
        rest = process.stdout.read().decode()
        assert process.wait(timeout=60) == 0
    finally:
        process.kill()
    analysis, play, listed, quit_, end = rest.split("\n\n")
    assert all(line.startswith("info move ") for line in analysis.splitlines())
    assert (play, quit_, end) == ("=", "=", "")  # stdout carries GTP frames only
    assert {"lz-analyze", "kata-analyze", "lz-genmove_analyze", "kata-genmove_analyze"} <= set(listed[2:].split())


PLAIN = NetConfig(blocks=2, channels=8, exits=[1, 2], value_hidden=16)
AUX = dataclasses.replace(PLAIN, ownership_head=True, score_head=True)


def _evaluator(cfg: NetConfig) -> Evaluator:
    torch.manual_seed(0)
    return Evaluator(DPVNet(cfg).eval())


def test_position_estimates_are_the_deepest_exits_heads_with_the_score_in_points():
    evaluator = _evaluator(AUX)
    board = Board(9)
    board.play(40)
    planes = np.stack([Board(9).planes(), board.planes()])
    estimates = evaluator.position_estimates(planes)
    with torch.inference_mode():
        out = evaluator.model.exit_outputs(torch.from_numpy(planes), 1)
    assert estimates.ownership.shape == (2, 81) and np.allclose(estimates.ownership, out.ownership.numpy())
    assert np.allclose(estimates.score, out.score.numpy() * 81)
    plain = _evaluator(PLAIN).position_estimates(planes)
    assert plain.ownership is None and plain.score is None


def test_kata_analyze_reports_score_lead_per_move_and_the_roots_ownership_from_the_heads():
    evaluator = _evaluator(AUX)
    engine = GtpEngine(MctsPlayer(evaluator, [1.0, 2.0], simulations=16))
    engine.handle("play b E5")
    *_, last = engine.handle("kata-analyze w 1 ownership true").split("\n")[1:-2]
    groups = info_groups(last)
    white_to_play = engine.board.copy()
    children = []
    for group in groups:
        child = white_to_play.copy()
        child.play(gtp_to_action(group["move"], 9))
        children.append(child.planes())
    leads = -evaluator.position_estimates(np.stack(children)).score  # the opponent moves in the child
    assert [float(g["scoreLead"]) for g in groups] == pytest.approx(leads.tolist(), rel=1e-3, abs=1e-3)
    root = evaluator.position_estimates(white_to_play.planes()[None]).ownership[0]
    assert groups[-1]["ownership"] == pytest.approx(root.tolist(), abs=1e-3)
    assert len(groups[-1]["ownership"]) == 81
    lz = info_groups(engine.handle("lz-analyze w 1 ownership true").split("\n")[1])
    assert all("scoreLead" not in g and "ownership" not in g for g in lz)  # lz-analyze as Leela Zero defines it
    headless = GtpEngine(MctsPlayer(_evaluator(PLAIN), [1.0, 2.0], simulations=16))
    plain = info_groups(headless.handle("kata-analyze b 1 ownership true").split("\n")[1])
    assert plain and all("scoreLead" not in g and "ownership" not in g for g in plain)


def test_the_pv_follows_the_most_visited_replies_and_is_playable():
    engine = GtpEngine(MctsPlayer(CountingEvaluator(), [1.0], simulations=200))
    groups = info_groups(engine.handle("lz-analyze b 1").split("\n")[-3])
    best = groups[0]
    assert best["pv"][0] == best["move"] and len(best["pv"]) > 1
    board = engine.board.copy()
    for vertex in best["pv"]:  # a sequence of legal moves, alternating colours from the root
        board.play(gtp_to_action(vertex, 9))


def test_version_passes_lizzies_check_and_names_dpv():
    import dpv

    engine = GtpEngine(MctsPlayer(CountingEvaluator(), [1.0], simulations=4))
    version = engine.handle("version")[2:-2]
    first = version.split(" ")[0]  # Lizzie 0.7.4: the second dot-field of the first word, an int >= 15
    assert int(first.split(".")[1]) >= 15
    assert f"dpv-{dpv.__version__}" in version and engine.handle("name") == "= dpv\n\n"


DPV_EXTENSION = re.compile(r" dpv flops (\S+) budget (\S+) exits (\d+(?:,\d+)*)$")


class TwoExitEvaluator(CountingEvaluator):
    """CountingEvaluator answering its leaves at exits 0, 1, 0, 1, ... in arrival order, and
    counting the leaves answered at each exit."""

    def __init__(self, commands: LineQueue | None = None, at: int = 0, *lines: str | None) -> None:
        super().__init__(commands, at, *lines)
        self.answered = np.zeros(2, np.int64)

    def __call__(self, planes, thresholds, legal=None, fixed_exit=None):
        priors, values, _ = super().__call__(planes, thresholds, legal=legal, fixed_exit=fixed_exit)
        exits = ((np.arange(len(planes)) + self.answered.sum()) % 2).astype(np.int32)
        self.answered += np.bincount(exits, minlength=2)
        return priors, values, exits


def dpv_extension(line: str) -> tuple[float, float, list[int]]:
    """The FLOPs, budget and evaluations per exit of a line's `dpv` extension."""
    match = DPV_EXTENSION.search(line)
    assert match, line
    return float(match[1]), float(match[2]), [int(n) for n in match[3].split(",")]


def test_without_dpv_true_the_lines_are_byte_for_byte_those_before_the_extension():
    expected = {  # written by the engine before the dpv extension existed (commit c8839f2)
        "lz-analyze b 1 maxmoves 3":
            "=\ninfo move A9 visits 5 winrate 5000 prior 123 lcb 617 order 0 pv A9 B9 C9 D9 "
            "info move B9 visits 5 winrate 5000 prior 123 lcb 617 order 1 pv B9 A9 C9 D9 "
            "info move C9 visits 4 winrate 5000 prior 123 lcb 100 order 2 pv C9 A9 B9 D9\n\n",
        "kata-analyze w 1 maxmoves 3":
            "=\ninfo move A9 visits 5 winrate 0.5 prior 0.0123457 lcb 0.0617307 order 0 pv A9 B9 C9 D9 "
            "info move B9 visits 5 winrate 0.5 prior 0.0123457 lcb 0.0617307 order 1 pv B9 A9 C9 D9 "
            "info move C9 visits 4 winrate 0.5 prior 0.0123457 lcb 0.01 order 2 pv C9 A9 B9 D9\n\n",
    }
    for command, answer in expected.items():
        engine = GtpEngine(MctsPlayer(CountingEvaluator(), [1.0], simulations=40), clock=lambda: 0.0)
        engine.handle("play b E5")
        assert engine.handle(command) == answer


def test_dpv_true_appends_flops_budget_and_exits_to_each_line_and_changes_nothing_else():
    evaluator = _evaluator(AUX)
    answers = {}
    for extension in ("", " dpv true"):  # a still clock: the same lines in both runs, however loaded the machine
        engine = GtpEngine(MctsPlayer(evaluator, [1.0, 2.0], simulations=16), clock=lambda: 0.0)
        answers[extension] = engine.handle(f"kata-analyze b 1 ownership true{extension}").split("\n")[1:-2]
    plain, extended = answers.values()
    assert plain and len(extended) == len(plain)
    for before, after in zip(plain, extended):
        assert DPV_EXTENSION.sub("", after) == before and " ownership " in after
    flops, budget, exits = dpv_extension(extended[-1])
    assert budget == 16 * 2.0 and flops == sum(exits) * 2.0 <= budget  # this network answers at its deepest exit
    assert exits[0] == 0 and exits[1] > 1


def test_the_dpv_extension_counts_every_evaluation_and_an_endless_analysis_passes_the_budget():
    dynamic = ExitPolicy.dynamic(0.5, 0.5)  # the evaluator chooses the exit
    engine = GtpEngine(MctsPlayer(TwoExitEvaluator(), [1.0, 3.0], 20, dynamic), clock=lambda: 0.0)
    line = engine.handle("lz-analyze b 1 dpv true").split("\n")[-3]
    flops, budget, exits = dpv_extension(line)
    progress = engine.player.search_progress()
    assert exits == list(progress.evals_per_exit) == engine.player.last.evals_per_exit.tolist()
    assert sum(exits) == progress.simulations + 1 and min(exits) > 0  # the root is evaluated too
    assert flops == exits[0] * 1.0 + exits[1] * 3.0 == engine.player.last.flops and budget == 60.0
    assert budget - 3.0 < flops <= budget + 3.0  # one evaluation over at most (go_engine.search)
    commands = LineQueue()
    evaluator = TwoExitEvaluator(commands, 60, "name\n")
    engine = GtpEngine(MctsPlayer(evaluator, [1.0, 3.0], 20, dynamic), clock=lambda: float(evaluator.calls))
    commands.put("lz-analyze b 5 dpv true\n")
    pieces: list[str] = []
    engine.run(commands, pieces.append)
    lines = "".join(pieces).split("\n\n")[0].split("\n")[1:]
    spent = [dpv_extension(line)[0] for line in lines]
    assert spent == sorted(spent) and spent[-1] > 60.0  # the rounds after the first budget add up
    flops, budget, exits = dpv_extension(lines[-1])
    assert exits == evaluator.answered.tolist() and flops == exits[0] + 3.0 * exits[1] and budget == 60.0
