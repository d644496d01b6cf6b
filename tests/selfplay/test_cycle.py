"""The training cycle as a state machine (dpv.selfplay.cycle): no Ray, no Redis, no torch."""
from __future__ import annotations

import dataclasses
import json
import subprocess
import sys

import pytest

from dpv.nets.schedule import multi_step_exit
from dpv.selfplay.config import LearnerSection
from dpv.selfplay.cycle import (
    Cycle,
    Gate,
    Gated,
    Limits,
    PauseSelfPlay,
    Phase,
    Promote,
    ResumeSelfPlay,
    StopWorkers,
    SwitchExit,
    Train,
    Trained,
)
from dpv.selfplay.messages import GatingRecord, GatingResult, TrainingCycle, TrainResult

LEARNER = LearnerSection(min_games=10, games_per_cycle=5, steps=20)


def train_result(step: int) -> TrainResult:
    """The learner's answer of a cycle ending at `step`."""
    return TrainResult(step=step, checkpoint=f"ckpt/step-{step:08d}.pt", loss=1.5, policy_loss=[1.0, 0.9],
                       value_loss=[0.5, 0.4], samples_per_s=100.0, seconds=2.0)


def gating_result(candidate: str, promote: bool) -> GatingResult:
    """A gating match of 4 games that `promote`s or keeps the best."""
    return GatingResult(games=4, wins=3 if promote else 1, losses=1 if promote else 3, draws=0,
                        win_rate=0.75 if promote else 0.25, promote=promote, candidate=candidate)


def run_cycle(cycle: Cycle, games: int, promote: bool) -> list:
    """Tick at `games` (a cycle must be due), train, gate: every action, in order."""
    actions = cycle.tick(games, 1.0, 0)
    assert actions == [Train(cycle.learner.steps, games)]
    actions += cycle.trained(train_result(cycle.step + cycle.learner.steps), games + 2)
    gate = next(a for a in actions if isinstance(a, Gate))
    return actions + cycle.gated(gating_result(gate.candidate, promote))


def test_first_cycle_waits_for_min_games_then_trains_gates_and_promotes():
    cycle = Cycle(LEARNER, num_exits=2, seed=7)
    assert cycle.tick(9, 1.0, 0) == [] and cycle.phase is Phase.WAITING
    assert cycle.tick(10, 1.0, 0) == [Train(steps=20, games=10)] and cycle.phase is Phase.TRAINING
    assert cycle.tick(50, 2.0, 0) == []  # one cycle at a time
    actions = cycle.trained(train_result(20), games=13)
    record = TrainingCycle(**vars(train_result(20)), games=13, selfplay_exit=None)
    assert actions == [Trained(record, cycle_games=10), Gate("ckpt/step-00000020.pt", seed=27)]
    assert cycle.phase is Phase.GATING and cycle.tick(60, 3.0, 0) == []
    actions = cycle.gated(gating_result("ckpt/step-00000020.pt", promote=True))
    gating = GatingRecord(**vars(gating_result("ckpt/step-00000020.pt", True)), step=20, best_version=1)
    assert actions == [Promote("ckpt/step-00000020.pt", version=1), Gated(gating)]
    assert cycle.phase is Phase.WAITING and cycle.best_version == 1


def test_a_kept_best_is_recorded_without_a_promotion():
    cycle = Cycle(LEARNER, num_exits=2, seed=0)
    actions = run_cycle(cycle, 10, promote=False)
    assert not any(isinstance(a, Promote) for a in actions)
    assert actions[-1].gating.best_version == 0 and not actions[-1].gating.promote


def test_next_cycle_is_due_games_per_cycle_after_the_last_one_began():
    cycle = Cycle(LEARNER, num_exits=2, seed=0)
    run_cycle(cycle, 12, promote=True)
    assert cycle.cycle_games == 12
    assert cycle.tick(16, 5.0, 0) == []
    assert cycle.tick(17, 5.0, 0) == [Train(20, 17)]
    cycle.trained(train_result(40), 18)
    assert [a.version for a in cycle.gated(gating_result("c", True)) if isinstance(a, Promote)] == [2]


def test_a_resumed_cycle_continues_its_count_step_and_version():
    cycle = Cycle(LEARNER, num_exits=2, seed=1, cycle_games=30, step=60, best_version=2)
    assert cycle.tick(34, 0.0, 0) == []
    actions = run_cycle(cycle, 35, promote=True)
    trained = next(a for a in actions if isinstance(a, Trained))
    assert trained.cycle.step == 80 and trained.cycle_games == 35
    assert next(a for a in actions if isinstance(a, Gate)).seed == 81
    assert next(a for a in actions if isinstance(a, Promote)).version == 3


def test_multi_step_schedule_switches_the_exit_after_each_cycle():
    learner = LearnerSection(min_games=1, games_per_cycle=1, steps=100, exit_schedule="multi-step", total_steps=400)
    cycle = Cycle(learner, num_exits=4, seed=0)
    exits = []
    for games in range(1, 6):
        actions = run_cycle(cycle, games, promote=False)
        switches = [a.exit for a in actions if isinstance(a, SwitchExit)]
        trained = next(a for a in actions if isinstance(a, Trained))
        assert switches == [trained.cycle.selfplay_exit]
        exits += switches
    assert exits == [1, 2, 3, 3, 3]  # steps 100..500 of 400: intervals 1, 2, 3, then the deepest
    assert exits == [multi_step_exit(step / 400, 4) for step in (100, 200, 300, 400, 500)]


def test_multi_step_first_interval_uses_the_shallowest_exit():
    learner = LearnerSection(min_games=1, steps=1, exit_schedule="multi-step", total_steps=8)
    cycle = Cycle(learner, num_exits=2, seed=0)
    cycle.tick(1, 0.0, 0)
    assert SwitchExit(0) in cycle.trained(train_result(1), 1)  # step 1 of 8: interval 1 of 4


def test_a_limit_stops_the_workers_once_and_no_new_cycle_starts():
    cycle = Cycle(LEARNER, num_exits=2, seed=0, limits=Limits(max_games=10))
    assert cycle.tick(10, 1.0, 0) == [Train(20, 10), StopWorkers()]  # due and at the limit together
    assert cycle.tick(11, 1.0, 0) == []  # the stop comes once
    assert not cycle.finished(workers_running=False)  # the cycle in flight is finished first
    cycle.trained(train_result(20), 12)
    assert not cycle.finished(workers_running=False)
    cycle.gated(gating_result("c", True))
    assert not cycle.finished(workers_running=True)
    assert cycle.finished(workers_running=False)
    assert cycle.tick(100, 2.0, 0) == []


def test_max_hours_stops_the_run():
    cycle = Cycle(LEARNER, num_exits=2, seed=0, limits=Limits(max_hours=0.5))
    assert cycle.tick(1, 1799.0, 0) == [] and not cycle.stopping
    assert cycle.tick(1, 1800.0, 0) == [StopWorkers()]
    assert cycle.finished(workers_running=False)


def test_a_limit_changed_while_the_run_goes_on_takes_effect():
    cycle = Cycle(LEARNER, num_exits=2, seed=0)
    assert cycle.tick(5, 1e6, 0) == [] and not cycle.finished(workers_running=False)  # no limit: never over
    cycle.limits = Limits(max_games=5)
    assert cycle.tick(5, 1e6, 0) == [StopWorkers()]


GAME_MOVES = 40  # positions of every simulated game
SLOTS = 4  # games a simulated self-play plays at once


def simulate_ratio_run(moves_per_tick: int, cycle_ticks: int, ratio: float = 2.0, ticks: int = 3000) -> dict:
    """A run at a fixed sample ratio on a simulated clock: SLOTS games in hand, each playing
    `moves_per_tick` moves a tick (a slot that finishes while self-play is paused stays idle
    until it resumes), a learner that needs `cycle_ticks` ticks per cycle and one tick to gate.
    Checks the ratio at every Train; returns the final counts."""
    learner = LearnerSection(min_games=4, steps=10, batch_size=32, samples_per_position=ratio)
    cycle = Cycle(learner, num_exits=2, seed=0)
    games = positions = paused_ticks = 0
    in_hand = [0] * SLOTS  # moves played in each slot's game, None: idle
    training_left: int | None = None
    gating = False
    for tick in range(ticks):
        for action in cycle.tick(games, float(tick), positions):
            if isinstance(action, Train):
                assert (cycle.step + action.steps) * learner.batch_size <= ratio * positions
                training_left = cycle_ticks
        paused_ticks += cycle.paused
        for slot, moves in enumerate(in_hand):
            if moves is None:
                in_hand[slot] = None if cycle.paused else 0
                continue
            in_hand[slot] = moves + moves_per_tick
            if in_hand[slot] >= GAME_MOVES:
                games, positions = games + 1, positions + GAME_MOVES
                in_hand[slot] = None if cycle.paused else 0
        if gating:
            gating = False
            cycle.gated(gating_result("c", promote=False))
        elif training_left is not None:
            training_left -= 1
            if training_left == 0:
                training_left, gating = None, True
                cycle.trained(train_result(cycle.step + learner.steps), games)
    return {"samples": cycle.step * learner.batch_size, "positions": positions, "paused_ticks": paused_ticks,
            "cycle_samples": learner.steps * learner.batch_size}


@pytest.mark.parametrize("moves_per_tick, cycle_ticks", [(10, 20), (1, 2)], ids=["selfplay-faster", "learner-faster"])
def test_a_fixed_sample_ratio_holds_whichever_side_is_faster(moves_per_tick, cycle_ticks):
    run = simulate_ratio_run(moves_per_tick, cycle_ticks)
    ratio, positions = 2.0, run["positions"]
    # behind by at most the cycle the positions allow and the one in flight, plus the games in hand
    slack = 2 * run["cycle_samples"] + ratio * SLOTS * GAME_MOVES
    assert ratio * positions - slack <= run["samples"] <= ratio * positions
    assert run["samples"] >= 40 * run["cycle_samples"]  # a long run: the slack is a few per cent
    assert (run["paused_ticks"] > 0) == (moves_per_tick == 10)  # only a faster self-play waits


def test_self_play_pauses_while_the_learner_is_a_cycle_behind_and_resumes_after():
    learner = LearnerSection(min_games=1, steps=10, batch_size=32, samples_per_position=1.0)
    cycle = Cycle(learner, num_exits=2, seed=0)
    assert cycle.tick(1, 0.0, 319) == []  # 9 steps' worth: not a cycle yet
    assert cycle.tick(1, 0.0, 320) == [Train(10, 1)]
    assert cycle.tick(2, 0.0, 639) == []  # the next cycle's data not complete
    assert cycle.tick(3, 0.0, 640) == [PauseSelfPlay()] and cycle.paused
    assert cycle.tick(3, 0.0, 700) == []  # the games in hand come in; the pause comes once
    cycle.trained(train_result(10), 3)
    assert cycle.tick(3, 0.0, 700) == []  # gating: the learner is still busy, and step 20 is allowed
    cycle.gated(gating_result("c", promote=False))
    assert cycle.tick(3, 0.0, 700) == [Train(10, 3), ResumeSelfPlay()]  # 21 steps allowed, 20 taken


def test_the_sample_ratio_must_be_positive():
    with pytest.raises(ValueError, match="'learner.samples_per_position' must be > 0, got 0"):
        LearnerSection(samples_per_position=0)


def test_results_out_of_turn_are_refused():
    cycle = Cycle(LEARNER, num_exits=2, seed=0)
    with pytest.raises(RuntimeError, match="training result while waiting"):
        cycle.trained(train_result(20), 10)
    with pytest.raises(RuntimeError, match="gating result while waiting"):
        cycle.gated(gating_result("c", True))


def test_history_records_keep_the_json_keys_of_the_run_files():
    cycle = TrainingCycle(**vars(train_result(20)), games=13, selfplay_exit=1)
    assert set(json.loads(json.dumps(dataclasses.asdict(cycle)))) == {
        "step", "checkpoint", "loss", "policy_loss", "value_loss", "samples_per_s", "seconds", "games",
        "selfplay_exit", "cpu_s", "ownership_loss", "score_loss"}
    newer = ("cpu_s", "ownership_loss", "score_loss")  # absent from an older run's train lines
    assert TrainingCycle(**json.loads(json.dumps({k: v for k, v in dataclasses.asdict(cycle).items()
                                                  if k not in newer}))) == cycle
    gating = GatingRecord(**vars(gating_result("c", True)), step=20, best_version=1)
    data = json.loads(json.dumps(dataclasses.asdict(gating)))
    assert set(data) == {"games", "wins", "losses", "draws", "win_rate", "promote", "candidate", "step",
                         "best_version"}
    assert GatingRecord(**data) == gating  # what --resume reads back from metrics.jsonl


def test_the_cycle_imports_no_ray_redis_or_torch():
    code = ("import sys, dpv.selfplay.cycle; "
            "print(sorted(m for m in ('ray', 'redis', 'torch') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"
