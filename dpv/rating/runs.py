"""The checkpoints of a self-play run directory (dpv.selfplay.rundir) and what the run had spent
when each was written: learner steps, self-play games and hours.

- Checkpoints: `checkpoints/initial.pt` (step 0, no games), `checkpoints/step-NNNNNNNN.pt`, and
  `best.pt`, which is a byte-for-byte copy of the promoted candidate: it is matched to that file
  (and played from it, so a live run that replaces best.pt cannot change a match under way).
- Games and time: the `train` line of metrics.jsonl with the checkpoint's step (games stored
  when the driver read the learner's answer, and the line's time). The run's wall-clock hours at
  a line are summed over its sessions (each `start` line opens one; `--resume` adds one).
- CPU-hours: those the run recorded, the `cpu_s` of its train and progress lines (CPU seconds of
  its processes in each session, dpv.selfplay.stats.CpuMeter), summed over its sessions. A run
  that did not record them (an older one, a session without `cpu_s`) falls back to its
  wall-clock hours x the CPUs it held, the actors' Ray CPU requests in summary.json `placement`
  (one per self-play worker; servers and learner ask for none), else config.yaml's
  `worker.workers`. `Run.cpu_source` says which.
- Lineage (`dpv rate --lineage`, `chain_lineage`): a run started from another network
  (`dpv launch selfplay --init-from`) records it in RUN/lineage.json; its steps, games and hours
  are counted on from that checkpoint's, so the runs of a lineage trained over several sessions
  lie on one curve.

No torch import unless best.pt matches no checkpoint file (its step is then read from it).
"""
from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import yaml

from dpv.digest import file_sha256
from dpv.selfplay.init_from import LINEAGE_FILE
from dpv.selfplay.rundir import RunDir

STEP_FILE = re.compile(r"step-(\d+)\.pt$")
"""A learner checkpoint's file name."""


@dataclass(frozen=True)
class RunCheckpoint:
    """One checkpoint of a run."""

    run: str
    """The run directory as given."""
    name: str
    """"initial", "step-NNNNNNNN" or "best" (best.pt matching no other file)."""
    path: str
    """The file played."""
    sha256: str
    """Hash of the file (a rewritten file is another checkpoint)."""
    step: int
    """Learner steps behind it."""
    selfplay_games: int | None
    """Self-play games stored when it was written (None: no train line for its step)."""
    wall_hours: float | None
    """The run's wall-clock hours when it was written (None: unknown)."""
    cpu_hours: float | None
    """The run's CPU-hours when it was written: recorded, else wall_hours x its CPUs (None: unknown)."""
    best: bool = False
    """Whether best.pt holds this network."""

    @property
    def id(self) -> str:
        """The checkpoint's name in a rating: RUN:NAME."""
        return f"{self.run}:{self.name}"


@dataclass(frozen=True)
class Run:
    """A run directory's checkpoints, by step."""

    path: str
    """The run directory as given."""
    checkpoints: tuple[RunCheckpoint, ...]
    """Every checkpoint, initial first."""
    cpus: float | None
    """CPUs the run held (None: unknown)."""
    cpu_source: str
    """How CPU-hours were computed, in words."""
    board_size: int
    """Board size of the run's network (config.yaml `net.board_size`, 9 without a config)."""

    started_from: tuple[dict[str, Any], ...] = ()
    """The run's lineage (RUN/lineage.json of dpv.selfplay.init_from), oldest first, the checkpoint
    it started from last; empty: it started from random weights."""

    def counted_on(self, spent: tuple[int, int | None, float | None, float | None], where: str) -> Run:
        """This run counted on from a lineage's `spent` (steps, games, wall-clock hours, CPU-hours;
        None: unknown, which makes the sums unknown) before it, `where` saying whence, in words."""
        steps, games, hours, cpu_hours = spent

        def plus(value, offset):
            return None if value is None or offset is None else value + offset

        checkpoints = tuple(replace(c, step=c.step + steps, selfplay_games=plus(c.selfplay_games, games),
                                    wall_hours=plus(c.wall_hours, hours), cpu_hours=plus(c.cpu_hours, cpu_hours))
                            for c in self.checkpoints)
        return replace(self, checkpoints=checkpoints,
                       cpu_source=f"{self.cpu_source}; steps, games and hours counted on from {where} (--lineage)")

    def without_initial(self) -> Run:
        """This run without its version 0 (checkpoints/initial.pt): for a run that started from a
        checkpoint of a rated run and grew no heads, the same weights as that checkpoint (the file
        differs only in its step and lineage), which the lineage rates already."""
        return replace(self, checkpoints=tuple(c for c in self.checkpoints if c.name != "initial"))

    def select(self, which: str) -> list[RunCheckpoint]:
        """The checkpoints to rate: "every" one, the "best" one, or N (>= 2) spread evenly over
        the steps (the initial and the newest among them) plus the best."""
        if which == "every":
            return list(self.checkpoints)
        if which == "best":
            best = [c for c in self.checkpoints if c.best]
            if not best:
                raise ValueError(f"{self.path}: no best.pt to rate (use --checkpoints every or N)")
            return best
        try:
            count = int(which)
        except ValueError:
            count = 0
        if count < 2:
            raise ValueError(f"--checkpoints takes every, best or a number >= 2, got '{which}'")
        last = len(self.checkpoints) - 1
        chosen = {round(k * last / (count - 1)) for k in range(count)} if last else {0}
        chosen |= {i for i, c in enumerate(self.checkpoints) if c.best}
        return [self.checkpoints[i] for i in sorted(chosen)]


def read_run(path: str | Path) -> Run:
    """The checkpoints of the run directory `path` with their steps, games and hours; a
    directory that is missing or holds no checkpoint is a one-line error."""
    run = RunDir(path)
    label = str(path).rstrip("/") or str(path)
    if not run.root.is_dir():
        raise FileNotFoundError(f"{label}: no such run directory")
    files = ([(0, "initial", run.initial)] if run.initial.is_file() else []) + sorted(
        (int(m.group(1)), f.stem, f) for f in run.checkpoints.glob("step-*.pt") if (m := STEP_FILE.search(f.name)))
    if not files and not run.best.is_file():
        raise ValueError(f"{label}: no checkpoints (checkpoints/initial.pt, checkpoints/step-*.pt or best.pt): "
                         "not a run directory of `dpv launch selfplay`")
    trained, hours, cpu_hours = _train_lines(run)
    cpus, cpu_source = _cpus(run)
    recorded = cpu_hours is not None and all(cpu is not None for _, _, cpu in trained.values())
    if recorded:
        cpu_source = "CPU-hours: recorded by the run (metrics.jsonl cpu_s, its processes' CPU time)"
    else:
        trained = {step: (g, h, None if cpus is None else h * cpus) for step, (g, h, _) in trained.items()}
        cpu_hours = None if cpus is None else hours * cpus
    trained[0] = (0, 0.0, None if cpu_hours is None else 0.0)  # the initial network: nothing spent
    checkpoints = [_checkpoint(label, name, f, step, trained) for step, name, f in files]
    if run.best.is_file():
        digest = file_sha256(run.best)
        match = next((i for i, c in enumerate(checkpoints) if c.sha256 == digest), None)
        if match is None:
            from dpv.nets.checkpoint import load_checkpoint

            step = load_checkpoint(run.best).step
            checkpoints.append(_checkpoint(label, "best", run.best, step, trained, best=True))
            checkpoints.sort(key=lambda c: c.step)
        else:
            checkpoints[match] = replace(checkpoints[match], best=True)
    lineage = _read_json(run.root / LINEAGE_FILE).get("lineage") if (run.root / LINEAGE_FILE).exists() else []
    if not isinstance(lineage, list) or not all(isinstance(e, dict) and {"source", "steps"} <= set(e) for e in lineage):
        raise ValueError(f"{label}: damaged {LINEAGE_FILE} (a list of entries with source and steps expected)")
    return Run(path=label, checkpoints=tuple(checkpoints), cpus=cpus, cpu_source=cpu_source,
               board_size=_board_size(run), started_from=tuple(lineage))


def chain_lineage(runs: Sequence[Run]) -> list[Run]:
    """`dpv rate --lineage`: every run that started from another network counted on from the
    checkpoint it started from (Run.started_from). Where that checkpoint is one of `runs`' (the
    same bytes, else the same path), its steps, games and hours as read here (themselves counted
    on) are added, and the run's initial.pt, which holds that checkpoint's weights, is left out
    unless the run grew heads on them (Run.without_initial); else the steps, games and CPU-hours
    the lineage.json entries record, summed (wall-clock hours unknown). The runs are returned
    parents first."""
    done: dict[int, Run] = {}

    def resolve(k: int, seen: frozenset[int]) -> Run:
        if k in done:
            return done[k]
        if k in seen:
            raise ValueError(f"{runs[k].path}: its {LINEAGE_FILE} leads back to itself")
        run = runs[k]
        if run.started_from:
            parent = _parent(run, runs)
            if parent is None:
                entries = run.started_from
                run = run.counted_on((sum(int(e["steps"]) for e in entries), _sum(e.get("games") for e in entries),
                                      None, _sum(e.get("cpu_hours") for e in entries)),
                                     f"the {LINEAGE_FILE} of {run.path} (its parent run is not rated)")
            else:
                j, i = parent
                base = resolve(j, seen | {k}).checkpoints[i]
                run = run.counted_on((base.step, base.selfplay_games, base.wall_hours, base.cpu_hours), base.id)
                if not run.started_from[-1].get("grown_heads"):
                    run = run.without_initial()
        done[k] = run
        return run

    for k in range(len(runs)):
        resolve(k, frozenset())
    return list(done.values())


def _parent(run: Run, runs: Sequence[Run]) -> tuple[int, int] | None:
    """(run index, checkpoint index) of the checkpoint `run` started from, among the other runs'."""
    origin = run.started_from[-1]
    source = Path(origin["source"])  # the digest recorded at --init-from: the file may have been replaced since
    digest = origin.get("sha256") or (file_sha256(source) if source.is_file() else None)
    for j, other in enumerate(runs):
        for i, c in enumerate(other.checkpoints):
            if other is not run and (c.sha256 == digest or Path(c.path).resolve() == source.resolve()):
                return j, i
    return None


def _sum(values) -> float | None:
    """The sum of numbers, None where one is None."""
    total = 0
    for value in values:
        if value is None:
            return None
        total += value
    return total


def _checkpoint(run: str, name: str, path: Path, step: int, trained: dict[int, tuple[int, float, float | None]],
                best: bool = False) -> RunCheckpoint:
    games, hours, cpu_hours = trained.get(step, (None, None, None))
    return RunCheckpoint(run=run, name=name, path=str(path), sha256=file_sha256(path), step=step, selfplay_games=games,
                         wall_hours=hours, cpu_hours=cpu_hours, best=best)


def _train_lines(run: RunDir) -> tuple[dict[int, tuple[int, float, float | None]], float, float | None]:
    """Learner step -> (games, the run's wall-clock hours, its recorded CPU-hours) of each
    `train` line of metrics.jsonl (the last one of a step; a line cut short by a driver that
    died is skipped), and the hours and recorded CPU-hours at the last line. CPU-hours
    are None where a session (this one or an earlier) recorded no `cpu_s`."""
    found: dict[int, tuple[int, float, float | None]] = {}
    earlier = 0.0  # earlier: seconds of the sessions before the current one
    earlier_cpu: float | None = 0.0  # CPU seconds of those sessions (None: one recorded none)
    start = last = None
    cpu: float | None = None  # the current session's last cpu_s
    lines = run.events.read_text().splitlines() if run.events.is_file() else []
    for line in lines:
        try:
            event = json.loads(line)
            kind, time = event["event"], float(event["time"])
        except (json.JSONDecodeError, KeyError, TypeError, ValueError):
            continue
        if kind == "start":
            if start is not None and last is not None:
                earlier += last - start
                earlier_cpu = None if earlier_cpu is None or cpu is None else earlier_cpu + cpu
            start, cpu = time, None
        last = time
        if isinstance(event.get("cpu_s"), (int, float)):
            cpu = float(event["cpu_s"])
        if kind == "train" and start is not None and isinstance(event.get("step"), int):
            recorded = isinstance(event.get("cpu_s"), (int, float)) and earlier_cpu is not None
            found[event["step"]] = (int(event.get("games", 0)), (earlier + time - start) / 3600,
                                    (earlier_cpu + cpu) / 3600 if recorded else None)
    hours = (earlier + last - start) / 3600 if start is not None and last is not None else 0.0
    cpu_hours = None if earlier_cpu is None or cpu is None else (earlier_cpu + cpu) / 3600
    return found, hours, cpu_hours


def run_hours(run: RunDir) -> tuple[float, float | None]:
    """Wall-clock hours and recorded CPU-hours (None where a session recorded no `cpu_s`) of
    every session of `run`, resumed ones summed, from its metrics.jsonl (summary.json counts
    the last session only)."""
    _, hours, cpu_hours = _train_lines(run)
    return hours, cpu_hours


def _cpus(run: RunDir) -> tuple[float | None, str]:
    """The CPUs the run held and where that number comes from."""
    placement = _read_json(run.summary).get("placement") or {}
    requested = sum(float((actor.get("resources") or {}).get("CPU", 0.0)) for actor in placement.values())
    how = "CPU-hours: the run records no CPU time; they are its wall-clock hours (metrics.jsonl) x {}"
    if requested:
        return requested, how.format(f"{requested:g} CPU(s), the actors' Ray CPU requests in summary.json placement")
    workers = (_read_yaml(run.config).get("worker") or {}).get("workers")
    if isinstance(workers, int) and workers > 0:
        return float(workers), how.format(f"{workers} CPU(s), config.yaml worker.workers (no summary.json placement)")
    return None, "CPU-hours unknown: no summary.json placement and no worker.workers in config.yaml"


def _board_size(run: RunDir) -> int:
    size = (_read_yaml(run.config).get("net") or {}).get("board_size", 9)
    return size if isinstance(size, int) else 9


def _read_json(path: Path) -> dict:
    try:
        data = json.loads(path.read_text())
    except (OSError, json.JSONDecodeError):
        return {}
    return data if isinstance(data, dict) else {}


def _read_yaml(path: Path) -> dict:
    try:
        data = yaml.safe_load(path.read_text())
    except (OSError, yaml.YAMLError):
        return {}
    return data if isinstance(data, dict) else {}
