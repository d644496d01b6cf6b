"""The search's evaluator contract: numpy in, numpy out, over a DPV network.

`Evaluator(planes, thresholds, legal=None)` takes input planes float32 [n, 17, N, N]
(AlphaGo Zero layout) and per-leaf exit thresholds float32 [n], and returns
`(priors float32 [n, A], values float32 [n], exit_used int32 [n])`: priors are the softmax over
all A = N*N + 1 actions, values lie in [-1, 1] from the view of the player to move, and each
leaf leaves at the first exit whose confidence (eq. 6.4, over legal moves when `legal` is
given) reaches its threshold (eq. 6.6). A threshold above 1 means the last exit.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from dpv.nets.checkpoint import load_checkpoint
from dpv.nets.flops import exit_flops
from dpv.nets.model import DPVNet

Result = tuple[np.ndarray, np.ndarray, np.ndarray]


class Evaluator:
    """Wraps a DPVNet on a device for batched, inference-mode evaluation.

    `bf16` runs under bfloat16 autocast and `channels_last` uses the NHWC memory layout. On an
    H200 with the paper preset (bench/nets.py) channels_last gave about +20% positions/s at
    batch 64-256 and bf16 was slower, so use `channels_last=True, bf16=False` on CUDA.
    `exit_flops[k]` is the cost of exit k for one position, which the search charges per leaf.
    """

    def __init__(self, model: DPVNet, device: str | torch.device = "cpu",
                 bf16: bool = False, channels_last: bool = False) -> None:
        self.device = torch.device(device)
        self.memory_format = torch.channels_last if channels_last else torch.contiguous_format
        self.model = model.to(self.device, memory_format=self.memory_format).eval()
        self.bf16 = bf16
        cfg = model.config
        self.input_shape = (cfg.input_planes, cfg.board_size, cfg.board_size)
        self.num_exits = model.num_exits
        self.exit_flops = np.asarray(exit_flops(model), dtype=np.float64)

    @classmethod
    def from_checkpoint(cls, path: str | Path, device: str | torch.device = "cpu", **options: bool) -> "Evaluator":
        """An evaluator over the network saved at `path` (see `load_checkpoint`)."""
        return cls(load_checkpoint(path, device=device).model, device, **options)

    def __call__(self, planes: np.ndarray, thresholds: np.ndarray | float,
                 legal: np.ndarray | None = None) -> Result:
        """Dynamic early exit per leaf (eq. 6.4-6.6); see the module docstring."""
        x = self._planes(planes)
        n = x.shape[0]
        t = torch.as_tensor(np.asarray(thresholds, dtype=np.float32))
        if t.shape not in ((), (n,)):
            raise ValueError(f"thresholds must have shape [{n}] or be a scalar, got {list(t.shape)}")
        mask = None
        if legal is not None:
            legal = np.asarray(legal, dtype=bool)
            if legal.shape != (n, self.model.config.num_actions):
                raise ValueError(f"legal must have shape {(n, self.model.config.num_actions)}, got {legal.shape}")
            mask = torch.from_numpy(legal).to(self.device, non_blocking=True)
        with torch.inference_mode(), self._autocast():
            logits, values, exits = self.model.forward_dynamic(x, t.to(self.device).expand(n), mask)
            return self._result(logits, values, exits)

    def evaluate(self, planes: np.ndarray, exit: int) -> Result:
        """Every leaf at the fixed exit `exit` (0-based); only the blocks it needs run."""
        x = self._planes(planes)
        with torch.inference_mode(), self._autocast():
            logits, values = self.model.forward_exit(x, exit)
            exits = torch.full((x.shape[0],), exit, dtype=torch.int32)
            return self._result(logits, values, exits)

    def _planes(self, planes: np.ndarray) -> torch.Tensor:
        planes = np.asarray(planes)
        if planes.ndim != 4 or planes.shape[1:] != self.input_shape:
            raise ValueError(f"planes must have shape [n, {', '.join(map(str, self.input_shape))}], got {list(planes.shape)}")
        x = torch.from_numpy(np.ascontiguousarray(planes, dtype=np.float32))
        return x.to(self.device, non_blocking=True).contiguous(memory_format=self.memory_format)

    def _autocast(self) -> torch.autocast:
        return torch.autocast(self.device.type, dtype=torch.bfloat16, enabled=self.bf16)

    @staticmethod
    def _result(logits: torch.Tensor, values: torch.Tensor, exits: torch.Tensor) -> Result:
        priors = logits.float().softmax(dim=1)
        return (priors.cpu().numpy(), values.float().cpu().numpy(),
                exits.to(torch.int32).cpu().numpy())
