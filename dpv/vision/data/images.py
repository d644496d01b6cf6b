"""What every image data set of `dpv.vision.data` builds on: the one-line `DatasetError`,
images held as one uint8 tensor (`TensorImages`) and fixed random splits."""
from __future__ import annotations

import torch
from torch.nn import functional as F
from torch.utils.data import Dataset


class DatasetError(ValueError):
    """A data set that is missing, unknown or unreadable (one line, says what to do)."""


class TensorImages(Dataset):
    """Images held as one uint8 tensor [n, C, H, W], normalised per channel on access; with
    `pad` > 0 a random crop of the zero-padded image, with `flip` a random horizontal flip
    (torch's global RNG, so a seeded worker sees the same augmentation again)."""

    def __init__(self, images: torch.Tensor, labels: torch.Tensor, mean: list[float],
                 std: list[float], pad: int = 0, flip: bool = False) -> None:
        self.images, self.labels = images, labels.long()
        self.mean = torch.tensor(mean, dtype=torch.float32)[:, None, None]
        self.std = torch.tensor(std, dtype=torch.float32)[:, None, None]
        self.pad, self.flip = pad, flip

    def __len__(self) -> int:
        return len(self.labels)

    def __getitem__(self, i: int) -> tuple[torch.Tensor, int]:
        x = (self.images[i].float() / 255 - self.mean) / self.std
        if self.pad:
            h, w = x.shape[-2:]
            dy, dx = torch.randint(0, 2 * self.pad + 1, (2,)).tolist()
            x = F.pad(x, (self.pad,) * 4)[:, dy:dy + h, dx:dx + w]
        if self.flip and torch.rand(()) < 0.5:
            x = x.flip(-1)
        return x, int(self.labels[i])


def split_indices(n: int, held_out: int, seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    """(train, held-out) indices of a fixed random split of range(n)."""
    order = torch.randperm(n, generator=torch.Generator().manual_seed(seed))
    return order[held_out:].sort().values, order[:held_out].sort().values
