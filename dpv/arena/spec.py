"""Player specs of a match: a network (checkpoint), a budget in full-network simulations and
an exit policy (text form: dpv.play.exits), and how a budget mode turns them into the search's
`Player`.

Budget modes: `equal-flops` gives every player `sims x FLOPs(deepest exit)` per move, spent on
its own exits (a shallow exit gets more simulations); `equal-sims` gives a fixed exit k the
budget of `sims` evaluations at exit k, i.e. `sims x FLOPs[k] / FLOPs[-1]` simulations of the
full network; `equal-time` gives every player `ms_per_move` milliseconds of the clock per move
(dpv.play.match.timed_move): it searches round after round of its `equal-flops` budget on the
same tree until the time is up, whatever its exit policy, so that a shallow exit gets the
simulations its speed buys.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING

from dpv.play.exits import parse_exit_policy
from dpv.play.networks import ROLLOUT

if TYPE_CHECKING:
    from go_engine import Player

BUDGET_MODES = ("equal-flops", "equal-sims", "equal-time")
_SPEC_KEYS = {"exit": "exit", "sims": "simulations", "simulations": "simulations",
              "checkpoint": "checkpoint", "ckpt": "checkpoint", "name": "name"}


@dataclass(frozen=True)
class PlayerSpec:
    """One side of a match. `checkpoint` None means the match's default network;
    `simulations` is the budget in simulations of the full network (see the budget modes)."""

    exit: str = "-1"
    simulations: float = 100.0
    checkpoint: str | None = None
    name: str | None = None

    def __post_init__(self) -> None:
        parse_exit_policy(self.exit)  # fail early on a bad policy
        if not self.simulations >= 1:
            raise ValueError(f"simulations must be >= 1, got {self.simulations:g}")

    @classmethod
    def parse(cls, text: str, **defaults: object) -> PlayerSpec:
        """A spec from "exit=0,sims=200,checkpoint=runs/x/best.pt,name=shallow" (keys in any
        order, all optional; commas inside a value such as dynamic:0.5,0.4 are kept);
        `defaults` fill the keys the text leaves out."""
        fields: dict[str, object] = dict(defaults)
        for item in re.split(r",(?=\s*[A-Za-z_]+\s*=)", text.strip()):
            key, sep, value = item.partition("=")
            key = key.strip().lower()
            if not sep or key not in _SPEC_KEYS:
                raise ValueError(f"bad player spec '{text}': use KEY=VALUE items, keys exit, sims, checkpoint, name")
            fields[_SPEC_KEYS[key]] = value.strip()
        try:
            if "simulations" in fields:
                fields["simulations"] = float(fields["simulations"])  # type: ignore[arg-type]
        except ValueError:
            raise ValueError(f"bad player spec '{text}': sims must be a number") from None
        return cls(**fields)  # type: ignore[arg-type]

    @property
    def label(self) -> str:
        """A short human name: the given name, else the exit policy and budget."""
        if self.name:
            return self.name
        return f"exit={self.exit} sims={self.simulations:g}"

    def with_checkpoint(self, checkpoint: str) -> PlayerSpec:
        """This spec with `checkpoint` filled in where it has none."""
        return self if self.checkpoint else replace(self, checkpoint=checkpoint)

    def search_player(self, exit_flops: list[float], budget: str = "equal-flops") -> Player:
        """The search's Player for a network with per-exit costs `exit_flops` (which it carries:
        each player of a match is charged its own network's FLOPs), under the budget mode
        `budget` (see the module docstring)."""
        from go_engine import ExitPolicy, Player

        if budget not in BUDGET_MODES:
            raise ValueError(f"unknown budget mode '{budget}': use {' or '.join(BUDGET_MODES)}")
        policy = parse_exit_policy(self.exit)
        policy.resolved_exit(len(exit_flops))  # an exit the network lacks fails here
        flops = tuple(float(f) for f in exit_flops)
        if budget in ("equal-flops", "equal-time"):  # equal-time: the FLOPs budget is one round
            return Player(simulations=self.simulations, exit_policy=policy, exit_flops=flops)
        if policy.kind != "fixed":
            raise ValueError(f"budget equal-sims needs fixed exits, '{self.exit}' spends a FLOPs budget: "
                             "use --budget equal-flops")
        k = policy.resolved_exit(len(exit_flops))
        sims = max(1.0, self.simulations * exit_flops[k] / exit_flops[-1])
        return Player(simulations=sims, exit_policy=ExitPolicy.fixed(k), exit_flops=flops)

    def to_dict(self) -> dict[str, object]:
        """Plain form for JSON reports."""
        return {"name": self.label, "exit": self.exit, "simulations": self.simulations,
                "checkpoint": self.checkpoint}


def snapshot_checkpoint(checkpoint: str, out: str | Path) -> str:
    """A copy of `checkpoint` in the run directory `out` (`network.pt`), so that every game of
    a run plays the same weights while a training run replaces its best.pt; "rollout" and
    files already in `out` are returned as they are."""
    import shutil

    source = Path(checkpoint)
    if checkpoint == ROLLOUT or source.resolve().parent == Path(out).resolve():
        return checkpoint
    target = Path(out) / "network.pt"
    Path(out).mkdir(parents=True, exist_ok=True)
    shutil.copy2(source, target)
    return str(target)
