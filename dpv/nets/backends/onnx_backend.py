"""ONNX Runtime backend: the BatchNorm-folded network exported piece by piece (each stage, each
exit's policy head and value head), so fixed exits and the dynamic exit run the same sessions.

Needs `onnxruntime` and, for torch.onnx.export, `onnx` (both on PyPI); without them the backend
is unavailable. Sessions run on the CPU with `threads` intra-op threads and spinning off (ONNX
Runtime's spinning threads are known to slow the torch ops that follow).
"""
from __future__ import annotations

import io
import warnings
from collections.abc import Callable

import numpy as np
import torch
from torch import Tensor, nn

from dpv.nets.backends.base import BackendUnavailable, InferenceBackend
from dpv.nets.model import DPVNet, early_exit, fold_batchnorm


def _require_packages() -> None:
    for package, why in (("onnxruntime", "the runtime"), ("onnx", "torch.onnx.export")):
        try:
            __import__(package)
        except ImportError:
            raise BackendUnavailable(f"{package} is not installed ({why}; pip install onnxruntime onnx)") from None


class OnnxBackend(InferenceBackend):
    """`model` through ONNX Runtime on the CPU with `threads` intra-op threads."""

    def __init__(self, model: DPVNet, device: torch.device, threads: int = 1) -> None:
        if device.type != "cpu":
            raise BackendUnavailable(f"runs on the CPU only (the installed onnxruntime), not {device.type}")
        _require_packages()
        self.name = "onnx-fp32"
        self.device = device
        self.model = model.eval()
        self.threads = threads
        self.reload()

    def reload(self) -> None:
        """Fold and export the current weights, and open one session per piece."""
        net = fold_batchnorm(self.model)
        cfg = net.config
        planes = torch.zeros(2, cfg.input_planes, cfg.board_size, cfg.board_size)
        features = torch.zeros(2, cfg.channels, cfg.board_size, cfg.board_size)
        stages = [nn.Sequential(net.stem, net.stages[0]), *net.stages[1:]]
        self.stages = [self._piece(stage, planes if k == 0 else features) for k, stage in enumerate(stages)]
        self.policies = [self._piece(head.policy, features) for head in net.heads]
        self.values = [self._piece(head.value, features) for head in net.heads]

    def _piece(self, module: nn.Module, example: Tensor) -> Callable[[Tensor], Tensor]:
        """`module` exported and opened as a session, as a function of CPU tensors."""
        import onnxruntime as ort

        buffer = io.BytesIO()
        with warnings.catch_warnings(), torch.inference_mode(False), torch.no_grad():
            warnings.simplefilter("ignore")  # the TorchScript exporter's deprecation notice
            torch.onnx.export(module.eval(), (example,), buffer, dynamo=False, input_names=["x"], output_names=["y"],
                              dynamic_axes={"x": {0: "n"}, "y": {0: "n"}})
        options = ort.SessionOptions()
        options.intra_op_num_threads = self.threads
        options.inter_op_num_threads = 1
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        session = ort.InferenceSession(buffer.getvalue(), options, providers=["CPUExecutionProvider"])

        def run(x: Tensor) -> Tensor:
            return torch.from_numpy(session.run(None, {"x": np.ascontiguousarray(x.numpy(), np.float32)})[0])
        return run

    def forward_exit(self, x: Tensor, exit: int) -> tuple[Tensor, Tensor]:
        """Logits and values of exit `exit`."""
        if not 0 <= exit < len(self.stages):
            raise ValueError(f"exit must be in 0..{len(self.stages) - 1}, got {exit}")
        h = x
        for stage in self.stages[: exit + 1]:
            h = stage(h)
        return self.policies[exit](h), self.values[exit](h)

    def forward_dynamic(self, x: Tensor, thresholds: Tensor, legal: Tensor | None) -> tuple[Tensor, Tensor, Tensor]:
        """The dynamic exit (eq. 6.4, 6.6) over the sessions."""
        return early_exit(x, thresholds, legal, self.model.config.num_actions, self.stages, self.policies, self.values)
