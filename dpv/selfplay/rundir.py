"""The run directory of `dpv launch selfplay`: its layout, and the files the driver writes.

    lock                 the owner (pid, host) of the run holding the directory (dpv.selfplay.lock)
    config.yaml          the validated config, written once the actors have started (a failed
                         start leaves none, so the retry is a fresh start); --resume needs it
    games.txt            how many games (ids 0..N-1) the driver has read from the store: the
                         run's own record, which --resume checks the store against
    checkpoints/         initial.pt (the random network, version 0), step-NNNNNNNN.pt per cycle
    best.pt              the promoted network (replaced atomically at each promotion)
    sgf/                 NNNNNNN.sgf, one per stored game (its id), never overwritten
    redis/               the embedded game store: redis.rdb, its append-only file, redis.sock
    metrics.jsonl        events as JSON lines: start, progress, train, gating, restart,
                         resubmit, end (--resume reads the train and gating lines back)
    gating.png           the candidates' win rates per learner step
    summary.json         the run's summary (dpv.selfplay.launch.RunSummary)
    metrics.prom         the last Prometheus metrics (dpv.selfplay.metrics)

On a cluster the run directory must be on a shared file system: a restarted server or learner
reads best.pt and checkpoints/ itself. A file-system error (a path that cannot be a
directory, no permission, a full disk) is a one-line RunError naming the path. No torch or ray
import.
"""
from __future__ import annotations

import contextlib
import dataclasses
import json
import os
import shutil
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import yaml

from dpv.config import from_dict, to_dict
from dpv.selfplay.config import SelfPlayConfig
from dpv.selfplay.errors import RunError
from dpv.selfplay.messages import GatingRecord, TrainingCycle
from dpv.selfplay.records import SelfPlayGame


def atomic_copy(source: Path, target: Path) -> None:
    """Copy `source` to `target` through a temporary file and a rename."""
    tmp = target.with_name(f".{target.name}.tmp")
    with file_errors(target):
        shutil.copyfile(source, tmp)
        os.replace(tmp, target)


def atomic_write(target: Path, text: str) -> None:
    """Write `text` to `target` through a temporary file and a rename."""
    tmp = target.with_name(f".{target.name}.tmp")
    with file_errors(target):
        tmp.write_text(text)
        os.replace(tmp, target)


@contextlib.contextmanager
def file_errors(path: Path, doing: str = "cannot write") -> Iterator[None]:
    """Turn an OSError in the block (no permission, a full disk, a file where a directory
    should be) into a one-line RunError naming `path`."""
    try:
        yield
    except RunError:
        raise
    except OSError as err:
        raise RunError(f"{path}: {doing} ({err.strerror or err})") from None


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
        self.game_count = self.root / "games.txt"
        self.checkpoints = self.root / "checkpoints"
        self.initial = self.checkpoints / "initial.pt"
        self.best = self.root / "best.pt"
        self.sgf = self.root / "sgf"
        self.redis = self.root / "redis"
        self.events = self.root / "metrics.jsonl"
        self.gating_plot = self.root / "gating.png"
        self.summary = self.root / "summary.json"
        self.metrics = self.root / "metrics.prom"

    def prepare(self, resume: bool) -> None:
        """Check the directory (with `resume`: a run is there; without: none is) and create its
        folders; the config copy is written once the run starts (`write_config`)."""
        if resume and not self.config.is_file():
            raise RunError(f"{self.root}: no run to resume (no config.yaml); drop --resume to start one")
        if not resume and self.config.exists():
            raise RunError(f"{self.root} holds a run already: pass --resume to continue it, or another --run-dir")
        for sub in (self.checkpoints, self.sgf):
            with file_errors(sub, "cannot create the folder"):
                sub.mkdir(parents=True, exist_ok=True)

    def write_config(self, cfg: SelfPlayConfig) -> None:
        """config.yaml: the validated config of the run."""
        atomic_write(self.config, yaml.safe_dump(to_dict(cfg), sort_keys=False))

    def saved_config(self) -> SelfPlayConfig:
        """The run's config, read back from config.yaml (a ConfigError when it does not load)."""
        with file_errors(self.config, "cannot read"):
            data = yaml.safe_load(self.config.read_text())
        return from_dict(SelfPlayConfig, data, source=str(self.config))

    def record_games(self, games: int) -> None:
        """games.txt: the driver has read the games with ids 0..games-1."""
        atomic_write(self.game_count, f"{games}\n")

    def recorded_games(self) -> int:
        """The games games.txt records (0 before the first)."""
        with file_errors(self.game_count, "cannot read"):
            text = self.game_count.read_text().strip() if self.game_count.is_file() else "0"
        if not text.isdigit():
            raise RunError(f"{self.game_count}: not a game count ({text[:40]!r})")
        return int(text)

    def sgf_path(self, game_id: int) -> Path:
        """sgf/<game id>.sgf."""
        return self.sgf / f"{game_id:07d}.sgf"

    def write_sgf(self, game: SelfPlayGame, game_id: int) -> None:
        """sgf/<game id>.sgf of a stored game; an existing file is never overwritten (a store
        that lost games would otherwise hand their ids to new games)."""
        from dpv.sgf import to_sgf

        path = self.sgf_path(game_id)
        with file_errors(path):
            try:
                with open(path, "xb") as f:
                    try:
                        f.write(to_sgf(game_to_sgf(game, game_id)))
                    except OSError:  # a full disk: no half file that would block the id
                        path.unlink(missing_ok=True)
                        raise
            except FileExistsError:
                raise RunError(f"{path} exists: game id {game_id} would be reused (the game store lost "
                               "games; --resume checks it against the run)") from None

    def sgf_ids(self) -> set[int]:
        """Ids of the games sgf/ holds a file of."""
        return {int(path.stem) for path in self.sgf.glob("*.sgf") if path.stem.isdigit()}

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
        atomic_write(self.summary, json.dumps(data, indent=1))
        return data


class EventLog:
    """metrics.jsonl, open for appending: one JSON line per event, flushed at once."""

    def __init__(self, path: Path) -> None:
        self.path = path
        with file_errors(path, "cannot open"):
            self.file = open(path, "a")

    def log(self, event: str, **data: Any) -> None:
        """Append `{"time": ..., "event": event, **data}`."""
        with file_errors(self.path):
            self.file.write(json.dumps({"time": time.time(), "event": event, **data}) + "\n")
            self.file.flush()

    def close(self) -> None:
        """Close the file (what a full disk kept from it is lost, the run has failed already)."""
        with contextlib.suppress(OSError):
            self.file.close()
