"""Build a multi-exit vision model from its config; `dpv model-info --vision PRESET` prints the
per-exit parameters and FLOPs of a preset next to the thesis's figures."""
from __future__ import annotations

from dpv.vision.models.config import INPUT_SHAPES, ModelConfig, MSDNetConfig, preset
from dpv.vision.models.flops import ExitCost, describe
from dpv.vision.models.layers import MultiExitNet
from dpv.vision.models.msdnet import MSDNet
from dpv.vision.models.ranet import RANet

# Per-exit (params x 1e6, FLOPs x 1e6) from thesis Tables 4.1 (CIFAR MSDNet), 4.3 (RANet)
# and 4.4 (ImageNet MSDNet).
THESIS_COSTS: dict[str, list[tuple[float, float]]] = {
    "msdnet-cifar": [(0.30, 6.86), (0.65, 14.35), (1.11, 27.29), (1.73, 48.45), (2.38, 76.43),
                     (3.05, 108.90), (4.00, 137.30)],
    "msdnet-imagenet": [(4.24, 340.0), (8.77, 690.0), (13.07, 1010.0), (16.75, 1250.0),
                        (23.96, 1360.0)],
    "ranet-cifar": [(0.36, 8.37), (0.90, 21.79), (1.30, 32.88), (1.80, 41.57), (2.19, 53.28),
                    (2.62, 58.99)],
}


def build_model(config: ModelConfig) -> MultiExitNet:
    """The MSDNet or RANet that `config` describes."""
    return MSDNet(config) if isinstance(config, MSDNetConfig) else RANet(config)


def preset_costs(name: str) -> list[ExitCost]:
    """Per-exit cost of preset `name` (see `dpv.vision.models.flops` for the convention)."""
    config = preset(name)
    return describe(build_model(config), INPUT_SHAPES[config.stem])
