"""OpenVINO backends: the ONNX backend's exported pieces (the BatchNorm-folded network, stage by
stage and head by head) compiled for OpenVINO's CPU plugin, in fp32 or with int8 post-training
quantization.

openvino-fp32 needs `openvino` and, for torch.onnx.export, `onnx`; openvino-int8 also needs
`onnxruntime`, whose static quantizer writes each piece in QDQ form (int8 weights per channel,
uint8 activations, MinMax ranges calibrated on CALIBRATION_POSITIONS positions of random-policy
games), which OpenVINO runs on int8 kernels. All are on PyPI (the `openvino` and `onnx` extras);
without them a backend is unavailable. Each piece is compiled with `threads` inference threads,
one stream, the latency hint, and fp32 inference precision (OpenVINO would otherwise run bf16 on
a CPU that has it). New weights (`reload`) quantize the pieces again.
"""
from __future__ import annotations

import tempfile
from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch
from torch import Tensor, nn

from dpv.nets.backends.onnx_backend import OnnxBackend, export_onnx

CALIBRATION_POSITIONS = 256
"""Positions the int8 backend's activation ranges are calibrated on."""
CALIBRATION_BATCH = 32


class OpenvinoBackend(OnnxBackend):
    """`model` through OpenVINO on the CPU with `threads` inference threads."""

    name = "openvino-fp32"
    packages = (("openvino", "the runtime"), ("onnx", "torch.onnx.export"))

    def _open(self, onnx_model: bytes) -> Callable[[Tensor], Tensor]:
        """`onnx_model` compiled for the CPU, as a function of CPU tensors."""
        import openvino as ov

        core = ov.Core()
        compiled = core.compile_model(core.read_model(onnx_model), "CPU", {
            "INFERENCE_NUM_THREADS": self.threads, "NUM_STREAMS": 1, "PERFORMANCE_HINT": "LATENCY",
            "INFERENCE_PRECISION_HINT": "f32"})
        request = compiled.create_infer_request()

        def run(x: Tensor) -> Tensor:
            request.infer({0: np.ascontiguousarray(x.numpy(), np.float32)})
            return torch.from_numpy(request.get_output_tensor(0).data.copy())
        return run


class OpenvinoInt8Backend(OpenvinoBackend):
    """`model` through OpenVINO with int8 weights and activations (see the module docstring)."""

    name = "openvino-int8"
    packages = (("openvino", "the runtime"), ("onnx", "torch.onnx.export"), ("onnxruntime", "its quantizer"))

    def sample_planes(self) -> Tensor:
        """The calibration positions' input planes (the activations they give calibrate each piece)."""
        from dpv.nets.backends.gate import board_inputs
        from dpv.nets.backends.positions import random_game_boards

        return torch.from_numpy(board_inputs(random_game_boards(CALIBRATION_POSITIONS,
                                                                self.model.config.board_size))[0])

    def _piece(self, module: nn.Module, inputs: Tensor) -> Callable[[Tensor], Tensor]:
        """`module` exported, quantized with `inputs` as calibration data, and compiled."""
        from onnxruntime.quantization import QuantFormat, QuantType, quantize_static

        batches = iter([{"x": inputs[i:i + CALIBRATION_BATCH].numpy()} for i in range(0, len(inputs),
                                                                                    CALIBRATION_BATCH)])

        class Reader:
            def get_next(self) -> dict[str, np.ndarray] | None:
                return next(batches, None)

        with tempfile.TemporaryDirectory() as tmp:
            fp32, int8 = Path(tmp) / "fp32.onnx", Path(tmp) / "int8.onnx"
            fp32.write_bytes(export_onnx(module, inputs[:2]))
            quantize_static(str(fp32), str(int8), Reader(), quant_format=QuantFormat.QDQ, per_channel=True,
                            activation_type=QuantType.QUInt8, weight_type=QuantType.QInt8)
            return self._open(int8.read_bytes())
