"""The training cycle of a self-play run as a pure state machine: train -> gate -> promote,
the multi-step exit switches and the run's limits. No Ray, no Redis, no torch.

The driver feeds it what happened (`tick` with the games and positions stored and the time
run, `trained` with the learner's answer, `gated` with the gating match's) and carries out the
actions it returns, in order:

    waiting --(games >= min_games and games_per_cycle new games)--> Train
    (with learner.samples_per_position r: games >= min_games and the positions P allow a cycle,
     (step + steps) x batch_size <= r x P; while the learner is busy and P already allow the
     next cycle: PauseSelfPlay, then ResumeSelfPlay once they no longer do)
    training --trained(result)--> Trained, [SwitchExit], Gate
    gating --gated(result)--> [Promote], Gated --> waiting
    a limit (max games, max hours) --> StopWorkers, once; no new cycle starts after it

The run is over (`finished`) once the workers are stopped and have returned and no cycle is
in flight: a cycle that was training when the limit came is gated before the run ends.
"""
from __future__ import annotations

import enum
from dataclasses import dataclass

from dpv.nets.schedule import multi_step_exit
from dpv.selfplay.config import LearnerSection
from dpv.selfplay.messages import GatingRecord, GatingResult, TrainingCycle, TrainResult


@dataclass(frozen=True)
class Limits:
    """When the run stops: after `max_games` stored games or `max_hours` hours (None: no limit)."""

    max_games: int | None = None
    max_hours: float | None = None

    def reached(self, games: int, elapsed_s: float) -> bool:
        """Whether `games` stored games or `elapsed_s` seconds reach a limit."""
        if self.max_games is not None and games >= self.max_games:
            return True
        return self.max_hours is not None and elapsed_s >= self.max_hours * 3600


@dataclass(frozen=True)
class Train:
    """Start a training cycle: `steps` learner steps; `games` were stored when it became due."""

    steps: int
    games: int


@dataclass(frozen=True)
class Trained:
    """A training cycle finished: record it (history, metrics.jsonl) and keep `cycle_games`
    in the run state, so a resumed run knows when the next cycle is due."""

    cycle: TrainingCycle
    cycle_games: int


@dataclass(frozen=True)
class SwitchExit:
    """Self-play answers its leaves at `exit` from now on (the multi-step schedule, 6.3.1)."""

    exit: int


@dataclass(frozen=True)
class Gate:
    """Play the `candidate` checkpoint against the best network, the match seeded with `seed`."""

    candidate: str
    seed: int


@dataclass(frozen=True)
class Promote:
    """Make `candidate` the best network, model version `version`."""

    candidate: str
    version: int


@dataclass(frozen=True)
class Gated:
    """A gating finished: record it (history, metrics.jsonl, the plot)."""

    gating: GatingRecord


@dataclass(frozen=True)
class StopWorkers:
    """A limit is reached: the workers finish the games in hand and return."""


@dataclass(frozen=True)
class PauseSelfPlay:
    """Self-play is a whole cycle ahead of the learner (learner.samples_per_position): the
    workers finish the games in hand and wait."""


@dataclass(frozen=True)
class ResumeSelfPlay:
    """The learner caught up: the workers start new games again."""


Action = Train | Trained | SwitchExit | Gate | Promote | Gated | StopWorkers | PauseSelfPlay | ResumeSelfPlay


class Phase(enum.Enum):
    """Where the cycle stands."""

    WAITING = "waiting"
    TRAINING = "training"
    GATING = "gating"


class Cycle:
    """The train -> gate -> promote cycle of one run (see the module docstring).

    `cycle_games` (games stored when the last finished cycle began, 0: none yet), `step` and
    `best_version` continue a resumed run. `num_exits` is the network's, for the multi-step
    schedule; gating match k is seeded with `seed` + the candidate's step."""

    def __init__(self, learner: LearnerSection, num_exits: int, seed: int, limits: Limits = Limits(),
                 cycle_games: int = 0, step: int = 0, best_version: int = 0) -> None:
        self.learner = learner
        self.num_exits = num_exits
        self.seed = seed
        self.limits = limits
        self.cycle_games = cycle_games
        self.step = step
        self.best_version = best_version
        self.phase = Phase.WAITING
        self.stopping = False
        self.paused = False
        """Whether self-play waits for the learner (learner.samples_per_position)."""
        self._due_games = 0  # games stored when the cycle in flight became due

    def tick(self, games: int, elapsed_s: float, positions: int) -> list[Action]:
        """`games` of `positions` positions are stored, `elapsed_s` seconds have run: a training
        cycle when one is due, self-play paused or resumed (a fixed sample ratio), then the stop
        when a limit is reached."""
        actions: list[Action] = []
        if self.phase is Phase.WAITING and not self.stopping and self._due(games, positions):
            self.phase = Phase.TRAINING
            self._due_games = games
            actions.append(Train(self.learner.steps, games))
        ahead = self._ahead(positions)
        if ahead != self.paused:
            self.paused = ahead
            actions.append(PauseSelfPlay() if ahead else ResumeSelfPlay())
        if not self.stopping and self.limits.reached(games, elapsed_s):
            self.stopping = True
            actions.append(StopWorkers())
        return actions

    def _due(self, games: int, positions: int) -> bool:
        lcfg = self.learner
        if games < lcfg.min_games:
            return False
        if lcfg.samples_per_position is not None:
            return self._allowed_steps(positions) >= self.step + lcfg.steps
        return self.cycle_games == 0 or games - self.cycle_games >= lcfg.games_per_cycle

    def _allowed_steps(self, positions: int) -> int:
        """Learner steps `positions` stored positions allow at the sample ratio."""
        lcfg = self.learner
        return int(lcfg.samples_per_position * positions // lcfg.batch_size)

    def _ahead(self, positions: int) -> bool:
        """Whether self-play is to wait: a sample ratio is set, the learner is busy (training
        or gating) and the stored positions already allow the cycle after the one in flight."""
        lcfg = self.learner
        if lcfg.samples_per_position is None or self.phase is Phase.WAITING:
            return False
        in_flight = lcfg.steps if self.phase is Phase.TRAINING else 0
        return self._allowed_steps(positions) >= self.step + in_flight + lcfg.steps

    def trained(self, result: TrainResult, games: int) -> list[Action]:
        """The learner finished the cycle in flight (`games` stored now): record it, switch
        the self-play exit (multi-step schedule) and gate the candidate."""
        if self.phase is not Phase.TRAINING:
            raise RuntimeError(f"a training result while {self.phase.value}")
        self.phase = Phase.GATING
        self.cycle_games = self._due_games
        self.step = result.step
        exit_ = None
        if self.learner.exit_schedule == "multi-step":
            exit_ = multi_step_exit(result.step / self.learner.total_steps, self.num_exits)
        cycle = TrainingCycle(**vars(result), games=games, selfplay_exit=exit_)
        actions: list[Action] = [Trained(cycle, self.cycle_games)]
        if exit_ is not None:
            actions.append(SwitchExit(exit_))
        actions.append(Gate(result.checkpoint, self.seed + result.step))
        return actions

    def gated(self, result: GatingResult) -> list[Action]:
        """The gating match finished: promote the candidate if it won, record the gating."""
        if self.phase is not Phase.GATING:
            raise RuntimeError(f"a gating result while {self.phase.value}")
        self.phase = Phase.WAITING
        actions: list[Action] = []
        if result.promote:
            self.best_version += 1
            actions.append(Promote(result.candidate, self.best_version))
        actions.append(Gated(GatingRecord(**vars(result), step=self.step, best_version=self.best_version)))
        return actions

    def finished(self, workers_running: bool) -> bool:
        """Whether the run is over: stopped, the workers returned, no cycle in flight."""
        return self.stopping and not workers_running and self.phase is Phase.WAITING
