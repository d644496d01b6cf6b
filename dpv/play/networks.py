"""Networks a program plays with: a checkpoint becomes the search's evaluator and its FLOPs per
exit (cached per process), the `rollout` pseudo checkpoint needs no file, and
`default_network` finds the network a command plays with when none is named.

torch is imported only when a network is loaded or created.
"""
from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any

ROLLOUT = "rollout"
"""A checkpoint name that needs no file: MCTS with one random playout per leaf and uniform
priors (go_engine.RolloutEvaluator), a network-free baseline; its one "exit" costs 1 FLOP."""

DEFAULT_NET = "net-tiny"
"""The network config (a preset name, dpv.config.resolve_config_path) of a fresh network when
no checkpoint is found."""

_EVALUATORS: dict[tuple[str, float, str], tuple[Any, list[float]]] = {}


def load_evaluator(checkpoint: str, device: str = "cpu") -> tuple[Any, list[float]]:
    """The evaluator of `checkpoint` and its per-exit FLOPs, cached per process (Ray workers
    and process pools run many tasks); a checkpoint written again is loaded again."""
    if checkpoint == ROLLOUT:
        from go_engine import RolloutEvaluator

        key = (ROLLOUT, 0.0, device)
        if key not in _EVALUATORS:
            _EVALUATORS[key] = (RolloutEvaluator(playouts=1, seed=os.getpid()), [1.0])
        return _EVALUATORS[key]
    from dpv.nets.evaluator import Evaluator

    key = (str(Path(checkpoint).resolve()), Path(checkpoint).stat().st_mtime, device)
    if key not in _EVALUATORS:
        evaluator = Evaluator.from_checkpoint(checkpoint, device=device)
        _EVALUATORS[key] = (evaluator, evaluator.exit_flops.tolist())
    return _EVALUATORS[key]


def network_flops(checkpoint: str) -> list[float]:
    """Per-exit FLOPs of the network saved at `checkpoint` (FileNotFoundError if missing),
    without building an evaluator."""
    if checkpoint == ROLLOUT:
        return [1.0]
    if not os.path.isfile(checkpoint):
        raise FileNotFoundError(f"no such checkpoint: {checkpoint}")
    from dpv.nets.checkpoint import load_checkpoint

    return [float(f) for f in load_checkpoint(checkpoint).exit_flops]


def newest_best_checkpoint(runs: str | Path = "runs") -> Path | None:
    """The most recently written `best.pt` under `runs` (any depth), or None."""
    found = [p for p in Path(runs).glob("**/best.pt") if p.is_file()]
    return max(found, key=lambda p: p.stat().st_mtime) if found else None


def default_network(checkpoint: str | None, fresh_path: str | Path, runs: str | Path = "runs",
                    net_config: str = DEFAULT_NET, seed: int = 0, quiet: bool = False) -> str:
    """The checkpoint a command plays with: `checkpoint` if given (it must exist, or be
    `rollout`), else the newest `best.pt` under `runs`, else a freshly initialised network of
    `net_config` (a preset name or a path; seeded) saved to `fresh_path`, so that every worker plays the same weights
    (callers pass a path of their run directory or of a private temporary directory). Says
    which on stderr unless `quiet`."""
    if checkpoint == ROLLOUT:
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

        torch.manual_seed(seed)
        save_checkpoint(fresh_path, DPVNet(load_net_config(net_config)), extra={"fresh": True})
        chosen = str(fresh_path)
        why = f"a freshly initialised (untrained) {net_config} network: no best.pt under {runs}/"
    if not quiet:
        print(f"network: {chosen} ({why})", file=sys.stderr)
    return chosen
