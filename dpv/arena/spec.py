"""Player specs of a match: a network (checkpoint), a budget in full-network simulations and
an exit policy, and how a budget mode turns them into the search's `Player`.

Exit policies (text form, shared by `dpv arena`, `dpv gtp` and `dpv demo`): `k` or `exit=k`
(fixed exit k, -1 = deepest), `dynamic:TAU0,ALPHA` (tau = tau0 + alpha * r, eq. 6.5) and
`threshold:TAU` (alpha = 0, the ablation of Table 6.3).

Budget modes: `equal-flops` gives every player `sims x FLOPs(deepest exit)` per move, spent on
its own exits (a shallow exit gets more simulations); `equal-sims` gives a fixed exit k the
budget of `sims` evaluations at exit k, i.e. `sims x FLOPs[k] / FLOPs[-1]` simulations of the
full network.
"""
from __future__ import annotations

import re
import sys
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from go_engine import ExitPolicy, Player

BUDGET_MODES = ("equal-flops", "equal-sims")
DEFAULT_NET = "configs/net-tiny.yaml"
_SPEC_KEYS = {"exit": "exit", "sims": "simulations", "simulations": "simulations",
              "checkpoint": "checkpoint", "ckpt": "checkpoint", "name": "name"}


def parse_exit_policy(text: str) -> "ExitPolicy":
    """An ExitPolicy from "k" / "exit=k" (fixed exit k), "dynamic:TAU0,ALPHA" or "threshold:TAU"."""
    from go_engine import ExitPolicy

    body = text.strip()
    if body.startswith("exit="):
        body = body[len("exit="):]
    kind, _, values = body.partition(":")
    try:
        if kind == "dynamic":
            tau0, alpha = (float(v) for v in values.split(","))
            return ExitPolicy.dynamic(tau0, alpha)
        if kind == "threshold":
            return ExitPolicy.threshold(float(values))
        if values:
            raise ValueError
        return ExitPolicy.fixed(int(kind))
    except ValueError:
        raise ValueError(f"bad exit policy '{text}': use k, dynamic:TAU0,ALPHA or threshold:TAU") from None


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
    def parse(cls, text: str, **defaults: object) -> "PlayerSpec":
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

    def with_checkpoint(self, checkpoint: str) -> "PlayerSpec":
        """This spec with `checkpoint` filled in where it has none."""
        return self if self.checkpoint else replace(self, checkpoint=checkpoint)

    def search_player(self, exit_flops: list[float], budget: str = "equal-flops") -> "Player":
        """The search's Player for a network with per-exit costs `exit_flops`, under the
        budget mode `budget` (see the module docstring)."""
        from go_engine import ExitPolicy, Player

        if budget not in BUDGET_MODES:
            raise ValueError(f"unknown budget mode '{budget}': use {' or '.join(BUDGET_MODES)}")
        policy = parse_exit_policy(self.exit)
        policy.resolved_exit(len(exit_flops))  # an exit the network lacks fails here
        if budget == "equal-flops":
            return Player(simulations=self.simulations, exit_policy=policy)
        if policy.kind != "fixed":
            raise ValueError(f"budget equal-sims needs fixed exits, '{self.exit}' spends a FLOPs budget: "
                             "use --budget equal-flops")
        k = policy.resolved_exit(len(exit_flops))
        sims = max(1.0, self.simulations * exit_flops[k] / exit_flops[-1])
        return Player(simulations=sims, exit_policy=ExitPolicy.fixed(k))

    def to_dict(self) -> dict[str, object]:
        """Plain form for JSON reports."""
        return {"name": self.label, "exit": self.exit, "simulations": self.simulations,
                "checkpoint": self.checkpoint}


def newest_best_checkpoint(runs: str | Path = "runs") -> Path | None:
    """The most recently written `best.pt` under `runs` (any depth), or None."""
    found = [p for p in Path(runs).glob("**/best.pt") if p.is_file()]
    return max(found, key=lambda p: p.stat().st_mtime) if found else None


def default_network(checkpoint: str | None, fresh_path: str | Path, runs: str | Path = "runs",
                    net_config: str = DEFAULT_NET, seed: int = 0, quiet: bool = False) -> str:
    """The checkpoint a command plays with: `checkpoint` if given (it must exist), else the
    newest `best.pt` under `runs`, else a freshly initialised network of `net_config` saved to
    `fresh_path` (so that every worker plays the same weights). Says which on stderr."""
    if checkpoint == "rollout":
        chosen, why = checkpoint, "MCTS with random playouts, no network"
    elif checkpoint:
        if not Path(checkpoint).is_file():
            raise FileNotFoundError(f"no such checkpoint: {checkpoint}")
        chosen, why = checkpoint, "as given"
    elif (best := newest_best_checkpoint(runs)) is not None:
        chosen, why = str(best), f"the newest best.pt under {runs}/"
    else:
        import torch

        from dpv.nets.checkpoint import save_checkpoint
        from dpv.nets.config import load_net_config
        from dpv.nets.model import DPVNet

        config_path = Path(net_config)
        if not config_path.exists():  # run outside the repository: the preset shipped beside the package
            config_path = Path(__file__).resolve().parents[2] / net_config
        torch.manual_seed(seed)
        save_checkpoint(fresh_path, DPVNet(load_net_config(config_path)), extra={"fresh": True})
        chosen, why = str(fresh_path), f"a freshly initialised (untrained) {net_config} network: no best.pt under {runs}/"
    if not quiet:
        print(f"network: {chosen} ({why})", file=sys.stderr)
    return chosen


def snapshot_checkpoint(checkpoint: str, out: str | Path) -> str:
    """A copy of `checkpoint` in the run directory `out` (`network.pt`), so that every game of
    a run plays the same weights while a training run replaces its best.pt; "rollout" and
    files already in `out` are returned as they are."""
    import shutil

    source = Path(checkpoint)
    if checkpoint == "rollout" or source.resolve().parent == Path(out).resolve():
        return checkpoint
    target = Path(out) / "network.pt"
    Path(out).mkdir(parents=True, exist_ok=True)
    shutil.copy2(source, target)
    return str(target)
