"""Networks a program plays with: a checkpoint becomes the search's evaluator and its FLOPs per
exit (cached per process), the `rollout` pseudo checkpoint needs no file, and
`default_network` finds the network a command plays with when none is named: the newest
`runs/**/best.pt`, else the shipped network (`models/` of the repository, installed as the
`dpv.models` package data; `DPV_MODELS_DIR` points the lookup at another folder), else a fresh one.

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

DEFAULT_NET = "net-four"
"""The network config (a preset name, dpv.config.resolve_config_path) of a fresh network when
no checkpoint is found, and the preset the shipped network must have."""

SHIPPED_NETWORK = "dpv-four.pt"
"""File name of the shipped network in the models folder (`models_dir`)."""

MODELS_DIR_ENV = "DPV_MODELS_DIR"
"""Environment variable naming another models folder (tests, a network being prepared)."""

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


def models_dir() -> Path:
    """The folder of the shipped networks: `$DPV_MODELS_DIR` if set, else `dpv/models/` in an
    installed wheel (setup.py maps the repository's `models/` there), else the source checkout's
    `models/` beside the package (editable installs import dpv from the checkout)."""
    if os.environ.get(MODELS_DIR_ENV):
        return Path(os.environ[MODELS_DIR_ENV])
    package = Path(__file__).resolve().parents[1]
    installed = package / "models"
    return installed if installed.is_dir() else package.parent / "models"


def shipped_network_path() -> Path:
    """Where the shipped network lies (it may be absent)."""
    return models_dir() / SHIPPED_NETWORK


def check_shipped_network(path: str | Path) -> None:
    """Load the shipped network at `path` into a `DEFAULT_NET` network: a truncated file, another
    format or another preset is a one-line CheckpointError (a ValueError) naming the file."""
    from dpv.nets.checkpoint import CheckpointError, load_checkpoint
    from dpv.nets.config import load_net_config
    from dpv.nets.model import DPVNet

    try:
        load_checkpoint(path, model=DPVNet(load_net_config(DEFAULT_NET)))
    except CheckpointError as err:
        raise CheckpointError(f"the shipped network is not a usable {DEFAULT_NET} network: {err}") from None


def default_network(checkpoint: str | None, fresh_path: str | Path, runs: str | Path = "runs",
                    net_config: str = DEFAULT_NET, seed: int = 0, quiet: bool = False) -> str:
    """The checkpoint a command plays with: `checkpoint` if given (it must exist, or be
    `rollout`), else the newest `best.pt` under `runs`, else the shipped network
    (`shipped_network_path`; checked by `check_shipped_network`), else a freshly initialised
    network of `net_config` (a preset name or a path; seeded) saved to `fresh_path`, so that
    every worker plays the same weights (callers pass a path of their run directory or of a
    private temporary directory). Says which on stderr unless `quiet`."""
    if checkpoint == ROLLOUT:
        chosen, why = checkpoint, "MCTS with random playouts, no network"
    elif checkpoint:
        if not Path(checkpoint).is_file():
            raise FileNotFoundError(f"no such checkpoint: {checkpoint}")
        chosen, why = checkpoint, "as given"
    elif (best := newest_best_checkpoint(runs)) is not None:
        chosen, why = str(best), f"the newest best.pt under {runs}/"
    elif (shipped := shipped_network_path()).is_file():
        check_shipped_network(shipped)
        chosen, why = str(shipped), f"the shipped network: no best.pt under {runs}/"
    else:
        import torch

        from dpv.nets.checkpoint import save_checkpoint
        from dpv.nets.config import load_net_config
        from dpv.nets.model import DPVNet

        torch.manual_seed(seed)
        save_checkpoint(fresh_path, DPVNet(load_net_config(net_config)), extra={"fresh": True})
        chosen = str(fresh_path)
        why = f"a freshly initialised (untrained) {net_config} network: no best.pt under {runs}/, no {shipped}"
    if not quiet:
        print(f"network: {chosen} ({why})", file=sys.stderr)
    return chosen
