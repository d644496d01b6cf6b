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


def require_packages(*packages: tuple[str, str]) -> None:
    """Raise `BackendUnavailable` naming the first of `packages` ((name, what it is for) pairs) that
    is not installed."""
    for package, why in packages:
        try:
            __import__(package)
        except ImportError:
            names = " ".join(name for name, _ in packages)
            raise BackendUnavailable(f"{package} is not installed ({why}; pip install {names})") from None


def export_onnx(module: nn.Module, example: Tensor) -> bytes:
    """`module` as an ONNX model with one input "x" and one output "y", dynamic in the batch size."""
    buffer = io.BytesIO()
    with warnings.catch_warnings(), torch.inference_mode(False), torch.no_grad():
        warnings.simplefilter("ignore")  # the TorchScript exporter's deprecation notice
        torch.onnx.export(module.eval(), (example,), buffer, dynamo=False, input_names=["x"], output_names=["y"],
                          dynamic_axes={"x": {0: "n"}, "y": {0: "n"}})
    return buffer.getvalue()


class OnnxBackend(InferenceBackend):
    """`model` through ONNX Runtime on the CPU with `threads` intra-op threads. Subclasses run
    the same exported pieces on another runtime (`_open`)."""

    name = "onnx-fp32"
    packages = (("onnxruntime", "the runtime"), ("onnx", "torch.onnx.export"))
    """What the backend needs installed: (package, what for)."""

    def __init__(self, model: DPVNet, device: torch.device, threads: int = 1) -> None:
        if device.type != "cpu":
            raise BackendUnavailable(f"runs on the CPU only, not {device.type}")
        require_packages(*self.packages)
        self.device = device
        self.model = model.eval()
        self.threads = threads
        self.reload()

    def reload(self) -> None:
        """Fold and export the current weights, and open one session per piece."""
        net = fold_batchnorm(self.model)
        stages = [nn.Sequential(net.stem, net.stages[0]), *net.stages[1:]]
        self.stages, self.policies, self.values = [], [], []
        h = self.sample_planes()
        for stage, head in zip(stages, net.heads):
            self.stages.append(self._piece(stage, h))
            with torch.no_grad():
                h = stage(h)
            self.policies.append(self._piece(head.policy, h))
            self.values.append(self._piece(head.value, h))

    def sample_planes(self) -> Tensor:
        """Input planes the pieces are exported with (only their shape matters here): the
        activations they give are each piece's example input."""
        cfg = self.model.config
        return torch.zeros(2, cfg.input_planes, cfg.board_size, cfg.board_size)

    def _piece(self, module: nn.Module, inputs: Tensor) -> Callable[[Tensor], Tensor]:
        """`module` exported (with example `inputs`) and opened on the runtime, as a function of CPU tensors."""
        return self._open(export_onnx(module, inputs[:2]))

    def _open(self, onnx_model: bytes) -> Callable[[Tensor], Tensor]:
        """An ONNX Runtime session over `onnx_model`, as a function of CPU tensors."""
        import onnxruntime as ort

        options = ort.SessionOptions()
        options.intra_op_num_threads = self.threads
        options.inter_op_num_threads = 1
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        session = ort.InferenceSession(onnx_model, options, providers=["CPUExecutionProvider"])

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

    def forward_dynamic(self, x: Tensor, thresholds: Tensor, legal: Tensor | None,
                        vote: Tensor | None = None) -> tuple[Tensor, Tensor, Tensor]:
        """The dynamic exit (eq. 6.4, 6.6) over the sessions."""
        return early_exit(x, thresholds, legal, self.model.config.num_actions, self.stages, self.policies,
                          self.values, vote)
