"""Checkpoints of a DPV network: config, per-exit FLOPs, weights, training step and optimizer
state in one file, written atomically (temp file + rename). Any problem reading one is a
one-line `CheckpointError` naming the file and what is wrong.
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch

from dpv.checkpoint_io import first_line, load_payload, save_atomic
from dpv.config import ConfigError, from_dict, to_dict
from dpv.nets.config import NetConfig
from dpv.nets.flops import exit_flops
from dpv.nets.model import DPVNet

FORMAT = "dpv-net/1"


class CheckpointError(ValueError):
    """A checkpoint that cannot be read or does not match what the caller expects."""


@dataclass
class Checkpoint:
    """A loaded checkpoint: the network (weights loaded, on the requested device) and its
    training state."""

    path: Path
    model: DPVNet
    step: int
    exit_flops: list[int]
    optimizer_state: dict[str, Any] | None
    extra: dict[str, Any] = field(default_factory=dict)


def save_checkpoint(
    path: str | Path,
    model: DPVNet,
    step: int = 0,
    optimizer: torch.optim.Optimizer | None = None,
    extra: dict[str, Any] | None = None,
) -> None:
    """Write `model` (config, per-exit FLOPs, weights), `step`, the optimizer state and
    `extra` (plain values: ints, floats, strings, lists, dicts) to `path` atomically."""
    path = Path(path)
    payload = {
        "format": FORMAT,
        "net_config": to_dict(model.config),
        "exit_flops": exit_flops(model),
        "step": int(step),
        "model": model.state_dict(),
        "optimizer": None if optimizer is None else optimizer.state_dict(),
        "extra": extra or {},
    }
    save_atomic(payload, path)


def load_checkpoint(
    path: str | Path,
    model: DPVNet | None = None,
    optimizer: torch.optim.Optimizer | None = None,
    device: str | torch.device = "cpu",
) -> Checkpoint:
    """Read the checkpoint at `path`.

    With `model`, the checkpoint's NetConfig must equal `model.config` and the weights are
    loaded into it; without, a network is built from the saved config on `device`. With
    `optimizer` (over `model`'s parameters), the saved optimizer state is loaded into it.
    Raises `CheckpointError` (one line, naming the file) when the file is missing, corrupt,
    of another format, or mismatched.
    """
    path = Path(path)
    payload = load_payload(path, device, FORMAT, CheckpointError)
    missing = sorted({"net_config", "exit_flops", "step", "model", "optimizer", "extra"} - set(payload))
    if missing:
        raise CheckpointError(f"{path}: damaged checkpoint, missing '{missing[0]}'")
    try:
        cfg = from_dict(NetConfig, payload["net_config"], source=str(path), prefix="net_config.")
    except ConfigError as err:
        raise CheckpointError(str(err)) from None
    if model is None:
        model = DPVNet(cfg).to(device)
    elif cfg != model.config:
        key = next(f.name for f in dataclasses.fields(NetConfig)
                   if getattr(cfg, f.name) != getattr(model.config, f.name))
        raise CheckpointError(
            f"{path}: net config mismatch: '{key}' is {getattr(cfg, key)!r} in the checkpoint, "
            f"{getattr(model.config, key)!r} in the network"
        )
    try:
        model.load_state_dict(payload["model"])
    except (RuntimeError, ValueError) as err:
        raise CheckpointError(f"{path}: weights do not match the network ({first_line(err)})") from None
    if optimizer is not None:
        if payload["optimizer"] is None:
            raise CheckpointError(f"{path}: holds no optimizer state")
        try:
            optimizer.load_state_dict(payload["optimizer"])
        except (RuntimeError, ValueError, KeyError) as err:
            raise CheckpointError(f"{path}: optimizer state does not match ({first_line(err)})") from None
    return Checkpoint(
        path=path,
        model=model,
        step=int(payload["step"]),
        exit_flops=list(payload["exit_flops"]),
        optimizer_state=payload["optimizer"],
        extra=payload["extra"],
    )


AUX_HEADS = ("ownership_head", "score_head")
"""The NetConfig switches of heads a network may grow (KataGo grew its net during its run)."""


def load_grown(path: str | Path, model: DPVNet) -> tuple[Checkpoint, tuple[str, ...]]:
    """`load_checkpoint(path, model)`, except that a checkpoint whose config equals `model.config`
    but for auxiliary heads (AUX_HEADS) that `model` has and the checkpoint lacks loads every one
    of its weights strictly into `model` while those heads keep `model`'s initialisation. Returns
    the checkpoint and the AUX_HEADS switches grown (empty: an ordinary load). Any other difference
    is load_checkpoint's one-line CheckpointError."""
    saved = load_checkpoint(path)
    grown = tuple(name for name in AUX_HEADS if getattr(model.config, name) and not getattr(saved.model.config, name))
    if not grown or dataclasses.replace(model.config, **dict.fromkeys(grown, False)) != saved.model.config:
        return load_checkpoint(path, model), ()
    missing, unexpected = model.load_state_dict(saved.model.state_dict(), strict=False)
    modules = tuple(name.removesuffix("_head") for name in grown)
    if unexpected or any(key.split(".")[2] not in modules for key in missing):
        raise CheckpointError(f"{saved.path}: weights do not match the network beyond the heads {', '.join(grown)}")
    return dataclasses.replace(saved, model=model), grown
