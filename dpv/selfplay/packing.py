"""Binary input planes on the wire: the 17 AlphaGo Zero planes are 0/1, so they travel between
actors as bits, 32x smaller than float32 (np.packbits, one row per position)."""
from __future__ import annotations

import numpy as np


def pack_planes(planes: np.ndarray) -> np.ndarray:
    """uint8 [n, ceil(C*N*N / 8)] bits of binary float planes [n, C, N, N]."""
    n = planes.shape[0]
    return np.packbits(planes.reshape(n, -1) != 0, axis=1)


def unpack_planes(packed: np.ndarray, shape: tuple[int, int, int]) -> np.ndarray:
    """float32 [n, *shape] planes from `pack_planes` output."""
    size = shape[0] * shape[1] * shape[2]
    bits = np.unpackbits(packed, axis=1, count=size)
    return bits.astype(np.float32).reshape(packed.shape[0], *shape)


def pack_mask(mask: np.ndarray) -> np.ndarray:
    """uint8 bits of a boolean [n, A] mask (legal moves)."""
    return np.packbits(mask, axis=1)


def unpack_mask(packed: np.ndarray, width: int) -> np.ndarray:
    """The boolean [n, width] mask of `pack_mask` output."""
    return np.unpackbits(packed, axis=1, count=width).astype(bool)
