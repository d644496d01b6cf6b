"""Which games a rating plays: the contestants (run checkpoints and anchors) and the pairings
between them.

Every rated checkpoint plays every anchor; consecutive rated checkpoints of one run also play
each other, so that the curve keeps its shape where every checkpoint loses (or wins) all its
games against the anchors. An anchor is a GTP engine's command line (GNU Go at some level,
refereed by dpv.play.referee through dpv.arena.external; `rollout` is one too, `dpv gtp` over
random playouts) or a checkpoint file (played through dpv.arena.match).
"""
from __future__ import annotations

import hashlib
import json
import re
import shlex
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from dpv.digest import file_sha256
from dpv.play.networks import ROLLOUT
from dpv.rating.runs import Run, RunCheckpoint

DEFAULT_ANCHOR = "gnugo --mode gtp --level 1 --chinese-rules --capture-all-dead"
"""The anchor when none is given: GNU Go level 1, area scoring, games played out."""


@dataclass(frozen=True)
class Contestant:
    """A player of the rating."""

    id: str
    """Its name in the rating (RUN:NAME for a run's checkpoint, the text given for an anchor)."""
    kind: str
    """"checkpoint" (a run's), "network" (an anchor checkpoint) or "gtp" (an engine, `rollout` too)."""
    target: str
    """The checkpoint file, or the engine's command line."""
    identity: str
    """What makes two contestants the same player: a file's sha256, else `target`."""
    checkpoint: RunCheckpoint | None = None
    """The run checkpoint (kind "checkpoint")."""

    @property
    def plays_search(self) -> bool:
        """Whether it is our search over a network (not an external engine)."""
        return self.kind != "gtp"


@dataclass(frozen=True)
class Pairing:
    """N games between a rated checkpoint (A) and an anchor or the next checkpoint (B)."""

    a: Contestant
    """Always our search over a network."""
    b: Contestant
    """An anchor or another checkpoint."""

    def key(self, settings: dict[str, Any]) -> dict[str, Any]:
        """What the pairing's games depend on: both players and the match `settings`."""
        return {"a": self.a.identity, "b": self.b.identity, **settings}

    def folder(self, settings: dict[str, Any]) -> str:
        """The pairing's folder name under OUT/pairings: readable names and a hash of `key`."""
        digest = hashlib.sha1(json.dumps(self.key(settings), sort_keys=True).encode()).hexdigest()[:10]
        return f"{_slug(self.a.id)}--{_slug(self.b.id)}-{digest}"


def checkpoint_contestant(checkpoint: RunCheckpoint) -> Contestant:
    """A run's checkpoint as a contestant."""
    return Contestant(id=checkpoint.id, kind="checkpoint", target=checkpoint.path, identity=checkpoint.sha256,
                      checkpoint=checkpoint)


def anchor_contestant(text: str, simulations: float) -> Contestant:
    """An anchor from its text: a checkpoint file (a path that exists or ends in .pt), `rollout`
    (MCTS over random playouts at `simulations` per move, served by `dpv gtp --checkpoint
    rollout`: the match loop pairs no network with a playout evaluator), else a GTP engine's
    command line."""
    text = text.strip()
    if not text:
        raise ValueError("--anchor needs a GTP command line, a checkpoint file or rollout")
    if text == ROLLOUT:
        command = [sys.executable, "-m", "dpv.cli", "gtp", "--checkpoint", ROLLOUT, "--sims", f"{simulations:g}"]
        return Contestant(id=text, kind="gtp", target=shlex.join(command), identity=text)
    if Path(text).is_file() or text.endswith(".pt"):
        if not Path(text).is_file():
            raise FileNotFoundError(f"anchor {text}: no such checkpoint")
        return Contestant(id=text, kind="network", target=text, identity=file_sha256(Path(text)))
    return Contestant(id=text, kind="gtp", target=text, identity=" ".join(shlex.split(text)))


def plan_pairings(runs: Sequence[tuple[Run, list[RunCheckpoint]]], anchors: Sequence[Contestant],
                  lineage: bool = False) -> list[Pairing]:
    """Every rated checkpoint against every anchor, and each against the next rated one of its
    run (see the module docstring), in the order of the runs and steps; with `lineage` the runs
    are parts of one lineage and the last checkpoint of a run also plays the first of the next."""
    chains = [[checkpoint_contestant(c) for c in chosen] for _, chosen in runs]
    if lineage:
        chains = [[player for chain in chains for player in chain]]
    pairings = []
    for players in chains:
        for k, player in enumerate(players):
            pairings += [Pairing(player, anchor) for anchor in anchors]
            if k + 1 < len(players):
                pairings.append(Pairing(player, players[k + 1]))
    return pairings


def _slug(text: str, limit: int = 48) -> str:
    return re.sub(r"[^A-Za-z0-9.]+", "-", text).strip("-")[-limit:] or "player"
