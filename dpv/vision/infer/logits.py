"""Per-exit logits of a multi-exit classifier on the validation and test splits, computed once
from a checkpoint and cached in an .npz, so that trying collaborative-inference methods
(`dpv.vision.infer.collab`) and budgets (`dpv.vision.infer.budgeted`) never re-runs the network.

Only the first N logits of each exit are kept: the damping neuron of eq. 4.4, when the
checkpoint carries one, is dropped.
"""
from __future__ import annotations

import zipfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

_KEYS = ("val_logits", "val_labels", "test_logits", "test_labels", "exit_flops", "exit_params")


class LogitsError(ValueError):
    """A logits cache that is missing, corrupt or inconsistent (one line naming the file)."""


@dataclass(frozen=True)
class SplitLogits:
    """The logits of every exit on one split: `logits[e, i, c]` (exits x samples x classes)
    and the true `labels[i]`."""

    logits: np.ndarray
    labels: np.ndarray

    def __post_init__(self) -> None:
        if self.logits.ndim != 3 or self.labels.shape != self.logits.shape[1:2]:
            raise ValueError(f"logits {self.logits.shape} and labels {self.labels.shape} "
                             "must be [exits, samples, classes] and [samples]")

    @property
    def num_exits(self) -> int:
        """Number of exits E."""
        return self.logits.shape[0]

    @property
    def num_classes(self) -> int:
        """Number of classes N."""
        return self.logits.shape[2]

    def predictions(self) -> np.ndarray:
        """Each exit's own top-1 label, [E, samples]."""
        return self.logits.argmax(axis=2)


@dataclass(frozen=True)
class ExitLogits:
    """Validation and test logits of one model with the cumulative cost of each exit."""

    val: SplitLogits
    test: SplitLogits
    exit_flops: np.ndarray
    exit_params: np.ndarray
    source: str = ""

    def __post_init__(self) -> None:
        e, n = self.val.num_exits, self.val.num_classes
        if (self.test.num_exits, self.test.num_classes) != (e, n):
            raise ValueError(f"validation logits have {e} exits x {n} classes, test logits "
                             f"{self.test.num_exits} x {self.test.num_classes}")
        if self.exit_flops.shape != (e,) or self.exit_params.shape != (e,):
            raise ValueError(f"need {e} per-exit FLOPs and params, got {self.exit_flops.shape} "
                             f"and {self.exit_params.shape}")

    @property
    def num_exits(self) -> int:
        """Number of exits E."""
        return self.val.num_exits


def save_logits(path: str | Path, logits: ExitLogits) -> None:
    """Write `logits` to the .npz file `path` (atomically: a temporary file, then a rename)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp.npz")
    np.savez_compressed(tmp, val_logits=logits.val.logits, val_labels=logits.val.labels,
                        test_logits=logits.test.logits, test_labels=logits.test.labels,
                        exit_flops=logits.exit_flops, exit_params=logits.exit_params,
                        source=np.array(logits.source))
    tmp.replace(path)


def load_logits(path: str | Path) -> ExitLogits:
    """Read a cache written by `save_logits`; `LogitsError` if it is missing or malformed."""
    path = Path(path)
    if not path.is_file():
        raise LogitsError(f"{path}: no such logits file (write one with --save-logits)")
    try:
        with np.load(path, allow_pickle=False) as data:
            missing = [k for k in _KEYS if k not in data]
            if missing:
                raise LogitsError(f"{path}: not a dpv logits file (no '{missing[0]}')")
            arrays = {k: data[k] for k in _KEYS}
            source = str(data["source"]) if "source" in data else str(path)
        val = SplitLogits(arrays["val_logits"], arrays["val_labels"].astype(np.int64))
        test = SplitLogits(arrays["test_logits"], arrays["test_labels"].astype(np.int64))
        return ExitLogits(val, test,
                          arrays["exit_flops"].astype(np.int64),
                          arrays["exit_params"].astype(np.int64), source)
    except LogitsError:
        raise
    except (OSError, ValueError, zipfile.BadZipFile, EOFError) as err:
        raise LogitsError(f"{path}: unreadable logits file ({str(err).splitlines()[0]})") from None


def compute_logits(checkpoint: str | Path, device: str = "cpu", batch_size: int = 256,
                   data_dir: str | None = None, progress=None) -> ExitLogits:
    """Run the checkpoint `dpv vision-train` wrote over its data set's validation and test
    splits and collect every exit's logits (the first N of each, damping neuron dropped)."""
    import torch
    from torch.utils.data import DataLoader

    from dpv.vision.data.datasets import get_dataset
    from dpv.vision.train.checkpoint import load_vision_checkpoint

    ckpt = load_vision_checkpoint(checkpoint, device=device)
    model, n = ckpt.model.eval(), ckpt.num_classes
    dataset = ckpt.config.dataset
    root = data_dir if data_dir is not None else getattr(ckpt.config, "data_dir", None)
    splits = []
    for split in ("val", "test"):
        data = get_dataset(dataset, split, data_dir=root, seed=getattr(ckpt.config, "data_seed", 0))
        loader = DataLoader(data, batch_size=batch_size)
        chunks, labels, done = [], [], 0
        with torch.no_grad():
            for images, targets in loader:
                outputs = model(images.to(device))
                chunks.append(torch.stack([o[:, :n] for o in outputs]).float().cpu().numpy())
                labels.append(np.asarray(targets, dtype=np.int64))
                done += len(labels[-1])
                if progress is not None:
                    progress.update(f"logits: {split} {done}/{len(loader.dataset)} images")
        splits.append(SplitLogits(np.concatenate(chunks, axis=1), np.concatenate(labels)))
    costs = ckpt.exit_costs
    return ExitLogits(splits[0], splits[1], np.array([c.flops for c in costs], dtype=np.int64),
                      np.array([c.params for c in costs], dtype=np.int64), str(checkpoint))


def synthetic_logits(num_exits: int = 5, num_classes: int = 10, val_size: int = 2000,
                     test_size: int = 2000, seed: int = 0, shared: float = 0.6) -> ExitLogits:
    """Logits of an imaginary multi-exit classifier, for tests and for trying methods without
    a checkpoint: exit k scores the true label with a margin that grows with k, classes come in
    confusable pairs (2i, 2i+1) that share part of the margin, and Gaussian noise is partly
    shared across exits (`shared` in [0, 1], the common backbone) and partly each exit's own.
    FLOPs grow linearly with the exit."""
    rng = np.random.default_rng(seed)
    margins = np.linspace(2.0, 4.0, num_exits)
    splits = []
    for n in (val_size, test_size):
        labels = rng.integers(num_classes, size=n)
        common = rng.standard_normal((n, num_classes))
        own = rng.standard_normal((num_exits, n, num_classes))
        noise = shared * common[None] + np.sqrt(1 - shared ** 2) * own
        logits = 1.2 * noise
        rows = np.arange(n)
        logits[:, rows, labels] += margins[:, None]
        logits[:, rows, labels ^ 1 if num_classes % 2 == 0 else labels] += 0.5 * margins[:, None]
        splits.append(SplitLogits(logits.astype(np.float32), labels.astype(np.int64)))
    flops = np.arange(1, num_exits + 1, dtype=np.int64) * 1_000_000
    return ExitLogits(splits[0], splits[1], flops, flops // 10, f"synthetic-seed{seed}")
