"""Torch backends: fp32, bfloat16 autocast, and a BatchNorm-folded channels-last copy of either."""
from __future__ import annotations

import torch
from torch import Tensor

from dpv.nets.backends.base import BackendUnavailable, InferenceBackend
from dpv.nets.model import DPVNet, fold_batchnorm


def require_native_bf16(device: torch.device) -> None:
    """Raise `BackendUnavailable` on a CPU without bf16 instructions (AVX512-BF16 or AMX):
    there oneDNN emulates bfloat16, about 50x slower than fp32 (measured on an AVX2 EPYC)."""
    if device.type == "cpu" and not torch.ops.mkldnn._is_mkldnn_bf16_supported():
        raise BackendUnavailable("this CPU has no bf16 instructions (AVX512-BF16 or AMX): emulated bf16 is ~50x slower")


class TorchBackend(InferenceBackend):
    """`model` on `device`, run under bfloat16 autocast when `bf16`, in the NHWC memory layout
    when `channels_last`, and as a BatchNorm-folded copy when `fold` (the copy is made again on
    `reload`). Without `fold` the backend runs `model` itself (moved to `device` and layout)."""

    def __init__(self, name: str, model: DPVNet, device: str | torch.device = "cpu", *, bf16: bool = False,
                 channels_last: bool = False, fold: bool = False) -> None:
        self.name = name
        self.device = torch.device(device)
        self.bf16 = bf16
        self.fold = fold
        self.memory_format = torch.channels_last if channels_last else torch.contiguous_format
        self.model = model.to(self.device).eval()
        self.net = self.model if fold else self.model.to(memory_format=self.memory_format)
        self.reload()

    def reload(self) -> None:
        """Fold the current weights again (a folded backend); nothing to do otherwise."""
        if self.fold:
            self.net = fold_batchnorm(self.model).to(memory_format=self.memory_format)

    def forward_exit(self, x: Tensor, exit: int) -> tuple[Tensor, Tensor]:
        """Logits and values of exit `exit`."""
        with self._autocast():
            return self.net.forward_exit(x.contiguous(memory_format=self.memory_format), exit)

    def forward_dynamic(self, x: Tensor, thresholds: Tensor, legal: Tensor | None,
                        vote: Tensor | None = None) -> tuple[Tensor, Tensor, Tensor]:
        """The dynamic exit (eq. 6.4, 6.6)."""
        with self._autocast():
            return self.net.forward_dynamic(x.contiguous(memory_format=self.memory_format), thresholds, legal, vote)

    def _autocast(self) -> torch.autocast:
        return torch.autocast(self.device.type, dtype=torch.bfloat16, enabled=self.bf16)


def torch_backend(name: str, model: DPVNet, device: torch.device) -> TorchBackend:
    """The torch backend called `name` (torch-fp32, torch-bf16, folded-fp32, folded-bf16);
    `BackendUnavailable` for bf16 on a CPU without bf16 instructions. torch-fp32 is today's path:
    channels-last on CUDA (about +20 % there), the plain layout on a CPU."""
    bf16 = name.endswith("bf16")
    if bf16:
        require_native_bf16(device)
    if name.startswith("folded"):
        return TorchBackend(name, model, device, bf16=bf16, channels_last=True, fold=True)
    return TorchBackend(name, model, device, bf16=bf16, channels_last=device.type == "cuda")
