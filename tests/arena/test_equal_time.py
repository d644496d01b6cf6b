"""`--budget equal-time`: every player searches for the same time on a clock, whatever its exit.
The clock is injected (a fake one that the steps and the evaluations advance), so the tests
count simulations and rounds, never wall time: the tiny network plays a few capped games in
this process."""
from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from dpv.arena.match import MatchConfig
from dpv.arena.spec import PlayerSpec
from dpv.arena.study import StudyConfig
from dpv.cli import main
from dpv.nets.checkpoint import save_checkpoint
from dpv.nets.config import load_net_config
from dpv.nets.model import DPVNet
from dpv.play.match import MatchPlayer, PlayedGame, play_games
from dpv.play.networks import load_evaluator
from dpv.play.settings import SearchSettings

LEAVES = 4
MAX_MOVES = 6


@pytest.fixture(scope="module")
def network(tmp_path_factory) -> str:
    """A freshly initialised net-tiny network (three exits)."""
    path = tmp_path_factory.mktemp("net") / "fresh.pt"
    torch.manual_seed(0)
    save_checkpoint(path, DPVNet(load_net_config("net-tiny")), extra={"fresh": True})
    return str(path)


class FakeClock:
    """Seconds that pass only when something advances them: `per_read` on every reading (one
    reading per step of the search) and `charge` (an evaluation's cost)."""

    def __init__(self, per_read: float) -> None:
        self.now, self.per_read = 0.0, per_read

    def __call__(self) -> float:
        self.now += self.per_read
        return self.now

    def charge(self, seconds: float) -> None:
        self.now += seconds


class TimedEvaluator:
    """The real evaluator, each batch charged to the clock at `seconds_per_flop` of the FLOPs of
    the exits that answered it (a shallow exit is that much faster)."""

    def __init__(self, evaluator, flops: list[float], clock: FakeClock, seconds_per_flop: float) -> None:
        self.evaluator, self.flops, self.clock, self.seconds_per_flop = evaluator, flops, clock, seconds_per_flop
        self.input_shape = getattr(evaluator, "input_shape", None)

    def __call__(self, *args, **kwargs):
        priors, values, exits = self.evaluator(*args, **kwargs)
        self.clock.charge(self.seconds_per_flop * sum(self.flops[int(e)] for e in np.asarray(exits).reshape(-1)))
        return priors, values, exits


def timed_games(network: str, exits: tuple[str, str], seconds: float, clock: FakeClock, simulations: float = 100.0,
                seconds_per_flop: float = 0.0) -> list[PlayedGame]:
    """Two capped games (colours swapped) of exit policies `exits` on `network`, `seconds` a move on `clock`."""
    evaluator, flops = load_evaluator(network)
    if seconds_per_flop:
        evaluator = TimedEvaluator(evaluator, flops, clock, seconds_per_flop)
    a, b = (MatchPlayer(evaluator, PlayerSpec(exit=e, simulations=simulations).search_player(flops, "equal-time"))
            for e in exits)
    return play_games(a, b, [0, 1], SearchSettings(leaves_per_tree=LEAVES, opening_moves=0), max_moves=MAX_MOVES,
                      seconds_per_move=seconds, clock=clock)


def per_side(games: list[PlayedGame], side: int) -> list[int]:
    return [m.simulations for g in games for m in g.searches if m.side == side]


@pytest.mark.parametrize("steps", [1, 3, 5])
def test_a_clock_that_advances_per_step_buys_an_exact_number_of_simulations(network, steps):
    # `steps` readings of one second each reach the deadline: the first step evaluates the root,
    # every later one LEAVES leaves (terminal visits included) of each game's tree.
    games = timed_games(network, ("0", "-1"), seconds=float(steps), clock=FakeClock(per_read=1.0))
    for side in (0, 1):
        assert per_side(games, side) == [LEAVES * (steps - 1)] * MAX_MOVES
    for move in games[0].searches:
        assert sum(move.evals_per_exit) >= 1 and move.seconds > 0


def test_a_move_starts_no_step_that_would_end_past_its_deadline(network):
    # 2.5 s of one-second steps: a third step would end at 3.5 s, past the deadline, so two run
    # (the first evaluates the root), where checking the deadline only after a step would run three.
    games = timed_games(network, ("0", "-1"), seconds=2.5, clock=FakeClock(per_read=1.0))
    for side in (0, 1):
        assert per_side(games, side) == [LEAVES] * MAX_MOVES


def test_rounds_of_a_small_budget_continue_on_the_tree_and_are_summed(network):
    # A round of 2 full-network simulations ends long before the time: more rounds follow, and
    # the move's simulations and FLOPs are those of every round.
    clock = FakeClock(per_read=1.0)
    games = timed_games(network, ("-1", "-1"), seconds=6.0, clock=clock, simulations=2.0)
    _, flops = load_evaluator(network)
    first = games[0].searches[0]
    assert first.simulations > 2
    assert first.flops == pytest.approx(sum(n * f for n, f in zip(first.evals_per_exit, flops)))
    assert first.flops > 2 * flops[-1]


def test_a_cheaper_exit_gets_more_simulations_in_the_same_time(network):
    _, flops = load_evaluator(network)
    seconds = 40 * flops[-1] * 1e-9  # 40 deepest evaluations' worth at 1 ns a FLOP
    step = 0.1 * flops[0] * 1e-9  # each step's own time (a step of terminal leaves only costs no evaluation)
    games = timed_games(network, ("0", "-1"), seconds=seconds, clock=FakeClock(per_read=step), seconds_per_flop=1e-9)
    for game in games:
        opening = game.searches[:2]  # no terminal leaf yet: every simulation is an evaluation
        shallow, deep = (next(m for m in opening if m.side == side) for side in (0, 1))
        assert shallow.simulations > 2 * deep.simulations
        assert shallow.evals_per_exit[0] == sum(shallow.evals_per_exit) and deep.evals_per_exit[-1] == sum(
            deep.evals_per_exit)
    assert np.mean(per_side(games, 0)) > np.mean(per_side(games, 1))


@pytest.mark.parametrize(("argv", "message"), [
    (["--budget", "equal-time"], "budget equal-time needs ms_per_move (--ms-per-move M)"),
    (["--budget", "equal-time", "--ms-per-move", "0"], "ms_per_move must be > 0, got 0.0"),
    (["--budget", "equal-time", "--ms-per-move=-5"], "ms_per_move must be > 0, got -5.0"),
    (["--ms-per-move", "50"], "ms_per_move is the budget of equal-time: use it with budget equal-time"),
])
def test_a_bad_ms_per_move_is_a_one_line_error(network, tmp_path, capsys, argv, message):
    code = main(["arena", "--checkpoint", network, "--exits", "0,-1", "--games", "2", "--out", str(tmp_path / "run"),
                 *argv])
    assert code == 2 and capsys.readouterr().err.splitlines() == [f"dpv arena: error: {message}"]
    assert not (tmp_path / "run").exists()


def test_the_study_takes_the_clock_only_with_equal_time():
    assert StudyConfig(budget="equal-time", ms_per_move=50).ms_per_move == 50
    for kwargs in ({"budget": "equal-time"}, {"ms_per_move": 50.0}, {"budget": "equal-time", "ms_per_move": -1.0},
                   {"budget": "equal-sims"}):
        with pytest.raises(ValueError):
            StudyConfig(**kwargs)


def test_an_equal_time_arena_reports_what_each_side_spent(network, tmp_path, capsys):
    assert main(["arena", "--checkpoint", network, "--exits", "0,-1", "--budget", "equal-time", "--ms-per-move", "5",
                 "--games", "2", "--max-moves", "4", "--workers", "0", "--out", str(tmp_path), "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["budget"] == "equal-time 5 ms/move"
    assert MatchConfig(budget="equal-time", ms_per_move=5).budget_label == report["budget"]
    for side in ("a", "b"):
        s = report[side]
        assert s["moves"] == 4 and s["budget_flops_per_move"] is None
        assert s["simulations_per_move"] >= 0 and s["flops_per_move"] > 0 and s["seconds_per_move"] > 0
        assert sum(s["exit_histogram"]) == pytest.approx(1.0)
    assert report["a"]["exit_histogram"][0] == 1.0 and report["b"]["exit_histogram"][-1] == 1.0
