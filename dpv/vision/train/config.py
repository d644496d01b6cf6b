"""The config of a `dpv vision-train` run (configs/vision-*.yaml) and the thesis's training
recipe per data set (sec. 4.3), no torch import."""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Literal

from dpv.vision.models.config import PRESETS

LOSS_NAMES = ("ce", "damping", "power-sqrt", "label-smoothing", "last-only",
              "threshold-last-only", "damping-last-only")
DAMPING_LOSSES = ("damping", "power-sqrt", "damping-last-only")
# Axes along which dynamic training centres its weights (Han et al.'s row / col / mat); the
# default is argued in `dpv.vision.train.losses.dynamic_weights`.
WEIGHT_NORMS = ("exit", "sample", "matrix")
DEFAULT_WEIGHT_NORM = "exit"


@dataclass
class VisionTrainConfig:
    """A `dpv vision-train` run (configs/vision-*.yaml). Fields left None take the data set's
    recipe from `DATASET_RECIPES` (thesis 4.3: SGD, momentum 0.9, lr 0.1 with cosine decay,
    300 epochs at batch 64 on CIFAR, 100 epochs at batch 256 on ImageNet); `resolved()`
    fills them in. `batch_size` is the global batch, split evenly over the `workers` (Ray Train
    DDP workers; 0 trains in the calling process, without Ray).

    `loss` is a name of `LOSS_NAMES`; `lam` is lambda of eq. 4.5 / 4.14, `alpha` the weight
    range of dynamic training (eq. 4.19-4.21), `weight_norm` the axis its weights are centred
    along (one of `WEIGHT_NORMS`: per exit over the batch, per sample over the exits, the
    whole matrix; see `dpv.vision.train.losses.dynamic_weights`), `weight_grad` lets the
    gradient through the dynamic weights (Table 4.8's last row). `threshold` is the
    correct-label softmax above which `threshold-last-only` drops a sample's gradient (the x
    axis of Fig. 4.3; the thesis gives none for Table 4.6, 0.9 is its Fig. 4.3 example). `data_seed` draws the
    held-out splits (keep it 0 to compare runs), `seed` the initialisation, data order and
    augmentation. `stop_after` ends the job after that many epochs of the schedule (a
    later `--resume` continues it). `loader_workers`: data-loading processes per training
    worker (image decoding on ImageNet). `weight_decay` is not given by the thesis; 1e-4 is that
    of MSDNet and of Han et al. (2022).
    """

    dataset: Literal["cifar10", "cifar100", "imagenet", "digits", "synthetic"] = "cifar100"
    data_dir: str = "data"
    data_seed: int = 0
    model: str | None = None
    loss: str = "ce"
    dynamic: bool = False
    weight_grad: bool = False
    weight_norm: str = DEFAULT_WEIGHT_NORM
    threshold: float = 0.9
    lam: float | None = None
    alpha: float | None = None
    epochs: int | None = None
    batch_size: int | None = None
    lr: float = 0.1
    momentum: float = 0.9
    weight_decay: float = 1e-4
    workers: int = 1
    gpu: bool = False
    loader_workers: int | None = None
    seed: int = 0
    stop_after: int | None = None

    def __post_init__(self) -> None:
        for name in ("epochs", "batch_size", "stop_after"):
            value = getattr(self, name)
            if value is not None and value < 1:
                raise ValueError(f"'{name}' must be >= 1, got {value}")
        if self.workers < 0:
            raise ValueError(f"'workers' must be >= 0 (0: train in this process), got {self.workers}")
        if self.loader_workers is not None and self.loader_workers < 0:
            raise ValueError(f"'loader_workers' must be >= 0, got {self.loader_workers}")
        if self.model is not None and self.model not in PRESETS:
            raise ValueError(f"'model' must be one of {sorted(PRESETS)}, got {self.model!r}")
        if self.lr <= 0 or not 0 <= self.momentum < 1 or self.weight_decay < 0:
            raise ValueError("need 'lr' > 0, 0 <= 'momentum' < 1 and 'weight_decay' >= 0")
        if self.loss not in LOSS_NAMES:
            raise ValueError(f"unknown loss '{self.loss}' (known: {', '.join(LOSS_NAMES)})")
        check_weight_norm(self.weight_norm)
        if not 0 < self.threshold <= 1:
            raise ValueError(f"'threshold' must lie in (0, 1], got {self.threshold}")

    def resolved(self) -> VisionTrainConfig:
        """A copy with every None field set from the data set's recipe."""
        from dpv.vision.train.losses import DEFAULT_ALPHA, DEFAULT_LAMBDA  # torch: only when run

        like = self.dataset if self.dataset in DEFAULT_LAMBDA else "cifar10"
        recipe = {**DATASET_RECIPES[self.dataset], "lam": DEFAULT_LAMBDA[like],
                  "alpha": DEFAULT_ALPHA[like]}
        filled = {name: value for name, value in recipe.items() if getattr(self, name) is None}
        return dataclasses.replace(self, **filled)

    def label(self) -> str:
        """The loss as the thesis's tables name it: ce, damping, power-sqrt+dynamic, ..."""
        return self.loss + ("+dynamic" if self.dynamic else "") + \
            ("(weight grad)" if self.dynamic and self.weight_grad else "")

    def loss_settings(self) -> dict[str, object]:
        """The settings that shape this run's loss, those a sweep varies: lambda for the losses
        with the damping neuron (Table 4.7), alpha and the weight normalisation with dynamic
        training, the threshold of threshold-last-only (Fig. 4.3)."""
        settings: dict[str, object] = {}
        if self.loss in DAMPING_LOSSES:
            settings["lam"] = self.lam
        if self.dynamic:
            settings.update(alpha=self.alpha, weight_norm=self.weight_norm)
        if self.loss == "threshold-last-only":
            settings["threshold"] = self.threshold
        return settings



# The thesis's recipe per data set (sec. 4.3); lambda and alpha come from
# dpv.vision.train.losses. digits and synthetic are not in the thesis: short CPU schedules, with
# CIFAR-10's lambda and alpha (10 classes).
DATASET_RECIPES: dict[str, dict[str, object]] = {
    "cifar100": {"model": "msdnet-cifar", "epochs": 300, "batch_size": 64, "loader_workers": 0},
    "cifar10": {"model": "msdnet-cifar", "epochs": 300, "batch_size": 64, "loader_workers": 0},
    "imagenet": {"model": "msdnet-imagenet", "epochs": 100, "batch_size": 256,
                 "loader_workers": 8},
    "digits": {"model": "msdnet-tiny", "epochs": 20, "batch_size": 64, "loader_workers": 0},
    "synthetic": {"model": "msdnet-tiny", "epochs": 3, "batch_size": 64, "loader_workers": 0},
}


def check_weight_norm(norm: str) -> None:
    """ValueError (one line) unless `norm` is one of `WEIGHT_NORMS`."""
    if norm not in WEIGHT_NORMS:
        raise ValueError(f"unknown weight normalisation '{norm}' (known: {', '.join(WEIGHT_NORMS)})")
