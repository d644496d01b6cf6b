"""The interface every inference backend implements.

A backend runs the network's forward modes on float32 input planes [n, C, N, N] already on the
backend's device: one fixed exit (`forward_exit`, only the blocks it needs) and the per-sample
dynamic exit (`forward_dynamic`, eq. 6.4 and 6.6). Every backend in this package implements both
for every exit, so nothing falls back. `dpv.nets.evaluator.Evaluator` checks the inputs, splits
mixed batches and turns the logits into priors; the backend only computes.
"""
from __future__ import annotations

from abc import ABC, abstractmethod

import torch
from torch import Tensor

from dpv.nets.model import DPVNet


class BackendUnavailable(RuntimeError):
    """The backend cannot run here: a package is not installed, or the device lacks a feature."""


class InferenceBackend(ABC):
    """The network's inference forward modes over `model` (a DPVNet whose weights are the
    reference: the fp32 model the learner's state dicts load into).

    Attributes:
        name: the backend's name (`dpv.nets.backends.BackendName`).
        model: the fp32 source network; after loading new weights into it, call `reload`.
        device: where the input planes must be.
    """

    name: str
    model: DPVNet
    device: torch.device

    @abstractmethod
    def forward_exit(self, x: Tensor, exit: int) -> tuple[Tensor, Tensor]:
        """Policy logits [n, A] and values [n] of exit `exit` (0-based)."""

    @abstractmethod
    def forward_dynamic(self, x: Tensor, thresholds: Tensor, legal: Tensor | None,
                        vote: Tensor | None = None) -> tuple[Tensor, Tensor, Tensor]:
        """Logits [n, A], values [n] and the exit used [n] (int64): each sample leaves at the
        first exit whose confidence reaches its threshold, voting samples answering with the mean
        logits of the exits they passed (`dpv.nets.model.early_exit`)."""

    @abstractmethod
    def reload(self) -> None:
        """Rebuild whatever the backend derived from `model`'s weights (after they changed)."""
