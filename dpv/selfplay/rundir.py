"""The run directory of `dpv launch selfplay`: its layout, and the files the driver writes.

    config.yaml          the validated config (written once; --resume needs it)
    checkpoints/         initial.pt (the random network, version 0), step-NNNNNNNN.pt per cycle
    best.pt              the promoted network (replaced atomically at each promotion)
    sgf/                 NNNNNNN.sgf, one per stored game (its id)
    redis/               the embedded game store: redis.rdb, its append-only file, redis.sock
    metrics.jsonl        events as JSON lines: start, progress, train, gating, restart,
                         resubmit, end (--resume reads the train and gating lines back)
    gating.png           the candidates' win rates per learner step
    summary.json         the run's summary (dpv.selfplay.launch.RunSummary)
    metrics.prom         the last Prometheus metrics (dpv.selfplay.metrics)

On a cluster the run directory must be on a shared file system: a restarted server or learner
reads best.pt and checkpoints/ itself. No torch or ray import.
"""
from __future__ import annotations

import dataclasses
import json
import os
import shutil
import time
from pathlib import Path
from typing import Any

import yaml

from dpv.config import to_dict
from dpv.selfplay.config import SelfPlayConfig
from dpv.selfplay.messages import GatingRecord, TrainingCycle
from dpv.selfplay.records import SelfPlayGame


def atomic_copy(source: Path, target: Path) -> None:
    """Copy `source` to `target` through a temporary file and a rename."""
    tmp = target.with_name(f".{target.name}.tmp")
    shutil.copyfile(source, tmp)
    os.replace(tmp, target)


def game_to_sgf(game: SelfPlayGame, game_id: int):
    """The dpv.sgf.GameRecord of a stored game (root value per move in the comments)."""
    from dpv.sgf import GameRecord

    name = f"dpv v{game.model_version}"
    return GameRecord(size=game.size, komi=game.komi, moves=[int(a) for a in game.actions],
                      comments=[f"value {v:+.3f}" for v in game.root_values], result=game.result(),
                      black=name, white=name,
                      game_comment=f"game {game_id}, worker {game.worker}, serial {game.serial}, "
                                   f"evaluations per exit {game.evals_per_exit.tolist()}")


class RunDir:
    """The paths of a run directory (see the module docstring) and its files."""

    def __init__(self, root: str | Path) -> None:
        self.root = Path(root)
        self.config = self.root / "config.yaml"
        self.checkpoints = self.root / "checkpoints"
        self.initial = self.checkpoints / "initial.pt"
        self.best = self.root / "best.pt"
        self.sgf = self.root / "sgf"
        self.redis = self.root / "redis"
        self.events = self.root / "metrics.jsonl"
        self.gating_plot = self.root / "gating.png"
        self.summary = self.root / "summary.json"
        self.metrics = self.root / "metrics.prom"

    def prepare(self, cfg: SelfPlayConfig, resume: bool) -> None:
        """Create (or, with `resume`, check) the directory and write the config copy."""
        if resume and not self.config.is_file():
            raise ValueError(f"{self.root}: no run to resume (no config.yaml); drop --resume to start one")
        if not resume and self.config.exists():
            raise ValueError(f"{self.root} holds a run already: pass --resume to continue it, or another --run-dir")
        for sub in (self.checkpoints, self.sgf):
            sub.mkdir(parents=True, exist_ok=True)
        if not resume:
            self.config.write_text(yaml.safe_dump(to_dict(cfg), sort_keys=False))

    def write_sgf(self, game: SelfPlayGame, game_id: int) -> None:
        """sgf/<game id>.sgf of a stored game."""
        from dpv.sgf import write_sgf_file

        write_sgf_file(self.sgf / f"{game_id:07d}.sgf", game_to_sgf(game, game_id))

    def sgf_count(self) -> int:
        """How many SGF files sgf/ holds."""
        return len(list(self.sgf.glob("*.sgf")))

    def promote(self, candidate: str | Path) -> None:
        """Make `candidate` best.pt (atomically)."""
        atomic_copy(Path(candidate), self.best)

    def read_history(self) -> tuple[list[TrainingCycle], list[GatingRecord]]:
        """The training cycles and gating results logged in metrics.jsonl (a line cut short by
        a driver that died is skipped)."""
        cycles: list[TrainingCycle] = []
        gating: list[GatingRecord] = []
        if self.events.is_file():
            for line in self.events.read_text().splitlines():
                try:
                    event = json.loads(line)
                except json.JSONDecodeError:
                    continue
                data = {k: v for k, v in event.items() if k not in ("event", "time")}
                if event["event"] == "train":
                    cycles.append(TrainingCycle(**data))
                elif event["event"] == "gating":
                    gating.append(GatingRecord(**data))
        return cycles, gating

    def write_summary(self, summary: Any) -> dict[str, Any]:
        """summary.json of a RunSummary; returns its JSON form."""
        data = dataclasses.asdict(summary)
        self.summary.write_text(json.dumps(data, indent=1))
        return data


class EventLog:
    """metrics.jsonl, open for appending: one JSON line per event, flushed at once."""

    def __init__(self, path: Path) -> None:
        self.file = open(path, "a")

    def log(self, event: str, **data: Any) -> None:
        """Append `{"time": ..., "event": event, **data}`."""
        self.file.write(json.dumps({"time": time.time(), "event": event, **data}) + "\n")
        self.file.flush()

    def close(self) -> None:
        """Close the file."""
        self.file.close()
