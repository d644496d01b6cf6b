"""Checkpoints of `dpv vision-train`: the training config, the model's config, per-exit params
and FLOPs, weights, the number of finished epochs, the optimizer state and the metrics so far,
in one file written atomically (temp file + rename). `load_vision_checkpoint` rebuilds the
model in eval mode; any problem is a one-line `VisionCheckpointError` naming the file.
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch

from dpv.checkpoint_io import first_line, load_payload, save_atomic
from dpv.config import ConfigError, from_dict, to_dict
from dpv.vision.models.build import build_model
from dpv.vision.models.config import INPUT_SHAPES, ModelConfig, MSDNetConfig, RANetConfig
from dpv.vision.models.flops import ExitCost, describe
from dpv.vision.models.layers import MultiExitNet
from dpv.vision.train.config import VisionTrainConfig

FORMAT = "dpv-vision/1"
_KINDS: dict[str, type] = {"msdnet": MSDNetConfig, "ranet": RANetConfig}
_KEYS = {"format", "config", "model_kind", "model_config", "exit_costs", "epoch", "model",
         "optimizer", "metrics"}


class VisionCheckpointError(ValueError):
    """A vision checkpoint that cannot be read or does not match its contents."""


@dataclass
class VisionCheckpoint:
    """A loaded checkpoint. `model` is in eval mode and returns a list of logits per exit,
    each with `num_classes` + 1 columns when `damping` (the last column the damping neuron;
    evaluation uses the first `num_classes`). `epoch` counts the finished epochs."""

    path: Path
    model: MultiExitNet
    config: VisionTrainConfig
    model_config: ModelConfig
    epoch: int
    exit_costs: list[ExitCost]
    metrics: dict[str, Any] = field(default_factory=dict)
    optimizer_state: dict[str, Any] | None = None

    @property
    def damping(self) -> bool:
        """Whether every classifier carries the damping neuron (eq. 4.4)."""
        return self.model_config.damping

    @property
    def num_classes(self) -> int:
        """Number of classes N, without the damping neuron."""
        return self.model_config.num_classes


def unwrap(model: torch.nn.Module) -> MultiExitNet:
    """The network inside a DistributedDataParallel wrapper (or `model` itself)."""
    return getattr(model, "module", model)


def model_kind(config: ModelConfig) -> str:
    """'msdnet' or 'ranet'."""
    return next(kind for kind, cls in _KINDS.items() if isinstance(config, cls))


def exit_costs(model: torch.nn.Module) -> list[ExitCost]:
    """Per-exit cumulative params and FLOPs of `model` for one image of its stem's size."""
    net = unwrap(model)
    return describe(net, INPUT_SHAPES[net.config.stem])


def save_vision_checkpoint(path: str | Path, model: torch.nn.Module, config: VisionTrainConfig,
                           epoch: int, optimizer: torch.optim.Optimizer | None = None,
                           metrics: dict[str, Any] | None = None,
                           costs: list[ExitCost] | None = None) -> None:
    """Write `model` (a MultiExitNet, possibly DDP-wrapped), the training `config`, the
    number of finished epochs, the optimizer state and `metrics` (plain values) to `path`
    atomically. `costs` saves recomputing the per-exit params and FLOPs."""
    net = unwrap(model)
    path = Path(path)
    payload = {
        "format": FORMAT,
        "config": to_dict(config),
        "model_kind": model_kind(net.config),
        "model_config": to_dict(net.config),
        "exit_costs": [dataclasses.asdict(c) for c in (costs or exit_costs(net))],
        "epoch": int(epoch),
        "model": {k: v.detach().cpu() for k, v in net.state_dict().items()},
        "optimizer": None if optimizer is None else optimizer.state_dict(),
        "metrics": metrics or {},
    }
    save_atomic(payload, path)


def load_vision_checkpoint(path: str | Path,
                           device: str | torch.device = "cpu") -> VisionCheckpoint:
    """Read the checkpoint at `path` and rebuild its model on `device`, in eval mode.
    Raises `VisionCheckpointError` (one line, naming the file) when the file is missing,
    corrupt, of another format, or its weights do not fit its model config."""
    path = Path(path)
    payload = load_payload(path, device, FORMAT, VisionCheckpointError)
    missing = sorted(_KEYS - set(payload))
    if missing:
        raise VisionCheckpointError(f"{path}: damaged checkpoint, missing '{missing[0]}'")
    if payload["model_kind"] not in _KINDS:
        raise VisionCheckpointError(f"{path}: unknown model kind {payload['model_kind']!r}")
    try:
        config = from_dict(VisionTrainConfig, payload["config"], str(path), "config.")
        model_config = from_dict(_KINDS[payload["model_kind"]], payload["model_config"],
                                 str(path), "model_config.")
        costs = [ExitCost(**c) for c in payload["exit_costs"]]
    except (ConfigError, TypeError) as err:
        raise VisionCheckpointError(first_line(err) if str(path) in str(err)
                                    else f"{path}: {first_line(err)}") from None
    model = build_model(model_config).to(device)
    try:
        model.load_state_dict(payload["model"])
    except (RuntimeError, ValueError) as err:
        raise VisionCheckpointError(f"{path}: weights do not match the model config "
                                    f"({first_line(err)})") from None
    if len(costs) != model.num_exits:
        raise VisionCheckpointError(f"{path}: {len(costs)} exit costs for {model.num_exits} exits")
    return VisionCheckpoint(path=path, model=model.eval(), config=config,
                            model_config=model_config, epoch=int(payload["epoch"]),
                            exit_costs=costs, metrics=payload["metrics"],
                            optimizer_state=payload["optimizer"])
