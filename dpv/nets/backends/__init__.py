"""Inference backends of the DPV network behind one interface (issue 20), and the choice of one.

Modules, one job each: `base` (the `InferenceBackend` interface every backend implements),
`torch_backend` (torch fp32 / bf16 autocast, optionally BatchNorm-folded and channels-last),
`onnx_backend` (ONNX Runtime over the folded network), `openvino_backend` (OpenVINO over the same
exported pieces), `positions` (positions of short
random-policy games for the gate), `gate` (the correctness gate against torch fp32), `choice`
(the registry, the speed measurement, the per-machine cache and `choose_backend`).

Importing this package does not import torch: `BackendName` is what a config may name.
"""
from __future__ import annotations

from typing import Literal, get_args

BackendName = Literal["torch-fp32", "torch-bf16", "folded-fp32", "folded-bf16", "onnx-fp32", "openvino-fp32",
                      "openvino-int8"]
"""The backends by name: torch-fp32 (today's path; channels-last on CUDA), torch-bf16 (bfloat16
autocast), folded-fp32 / folded-bf16 (BatchNorm folded into the convolutions, channels-last),
onnx-fp32 (ONNX Runtime over the folded network), openvino-fp32 / openvino-int8 (OpenVINO over the
same pieces, in fp32 or quantized to int8)."""

BackendChoice = Literal["auto", BackendName]
"""What a config may ask for: a backend by name, or "auto" (the fastest that passes the gate)."""

BACKEND_NAMES: tuple[str, ...] = get_args(BackendName)
"""Every backend's name, the reference (torch-fp32) first."""

__all__ = ["BACKEND_NAMES", "BackendChoice", "BackendName"]
