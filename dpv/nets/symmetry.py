"""The 8 symmetries of the square board (dihedral group D4) applied to training batches:
input planes [B, C, N, N] and policy targets [B, N*N + 1] (the pass entry stays put), a
random symmetry per sample. One gather with the permutation tables of `go_engine.symmetry`,
so symmetry s means the same transformation here and in the engine.
"""
from __future__ import annotations

import functools

import torch
from go_engine.symmetry import NUM_SYMMETRIES, point_permutations
from torch import Tensor


@functools.lru_cache(maxsize=None)
def _permutations(board_size: int) -> Tensor:
    """[8, N*N] int64: row s maps each target point to its source point under symmetry s
    (see go_engine.symmetry)."""
    return torch.from_numpy(point_permutations(board_size).astype("int64"))


def apply_symmetry(planes: Tensor, pi: Tensor, sym: Tensor) -> tuple[Tensor, Tensor]:
    """Transform sample i of `planes` [B, C, N, N] and `pi` [B, N*N + 1] by symmetry sym[i]
    (int in 0..7, see `_permutations`); symmetry 0 is the identity."""
    b, c, n, _ = planes.shape
    perm = _permutations(n).to(planes.device)[sym]  # [B, N*N]
    flat = planes.reshape(b, c, n * n).gather(2, perm.unsqueeze(1).expand(b, c, n * n))
    board = pi[:, : n * n].gather(1, perm)
    return flat.view(b, c, n, n), torch.cat([board, pi[:, n * n :]], dim=1)


def random_symmetry(
    planes: Tensor, pi: Tensor, generator: torch.Generator | None = None
) -> tuple[Tensor, Tensor]:
    """Apply an independent, uniformly random symmetry to each sample of the batch."""
    sym = torch.randint(NUM_SYMMETRIES, (planes.shape[0],), generator=generator)
    return apply_symmetry(planes, pi, sym.to(planes.device))
