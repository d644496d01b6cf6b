"""The 8 dihedral symmetries of the square board, for feature planes and policy vectors.

Symmetry ``k`` in ``0..7`` first mirrors left-right if ``k >= 4``, then rotates
counter-clockwise by ``k % 4`` quarter turns (``np.rot90``); ``k = 0`` is the identity.
Every symmetry is stored as an index table over the row-major points of an ``n x n`` board,
``perm[k]``, with ``transformed.flat[i] == original.flat[perm[k][i]]``; planes and policies
(whose last entry, pass, never moves) are transformed by one fancy-indexing gather.
"""
from __future__ import annotations

from functools import cache
from math import isqrt

import numpy as np

NUM_SYMMETRIES = 8


def _transform_grid(grid: np.ndarray, k: int) -> np.ndarray:
    if k >= 4:
        grid = np.flip(grid, axis=-1)
    return np.rot90(grid, k % 4, axes=(-2, -1))


@cache
def point_permutations(n: int) -> np.ndarray:
    """int array [8, n*n]: perm[k] for an n x n board (see the module docstring). Other
    implementations (the network's torch augmentation) gather with these same tables."""
    points = np.arange(n * n).reshape(n, n)
    return np.stack([_transform_grid(points, k).ravel() for k in range(NUM_SYMMETRIES)])


@cache
def _policy_tables(n: int) -> np.ndarray:
    """perm tables over the n*n+1 actions (pass maps to itself)."""
    passes = np.full((NUM_SYMMETRIES, 1), n * n)
    return np.concatenate([point_permutations(n), passes], axis=1)


@cache
def _action_tables(n: int) -> np.ndarray:
    """table[k][a]: where action a lands under symmetry k (the inverse permutation of perm[k])."""
    return np.argsort(_policy_tables(n), axis=1)


def _check(k: int) -> None:
    if not 0 <= k < NUM_SYMMETRIES:
        raise ValueError(f"symmetry index must be in 0..7, got {k}")


def transform_planes(planes: np.ndarray, k: int) -> np.ndarray:
    """Apply symmetry k to the last two (square) axes of planes [..., n, n]; returns a new array."""
    _check(k)
    n = planes.shape[-1]
    if planes.shape[-2] != n:
        raise ValueError(f"planes must end in two equal axes, got shape {planes.shape}")
    flat = planes.reshape(*planes.shape[:-2], n * n)
    return flat[..., point_permutations(n)[k]].reshape(planes.shape)


def transform_policy(policy: np.ndarray, k: int) -> np.ndarray:
    """Apply symmetry k to policies [..., n*n+1] (last entry = pass, unchanged); returns a new array."""
    _check(k)
    n = isqrt(policy.shape[-1] - 1)
    if n * n + 1 != policy.shape[-1]:
        raise ValueError(f"policy length must be n*n+1, got {policy.shape[-1]}")
    return policy[..., _policy_tables(n)[k]]


def transform_action(action: int, k: int, size: int) -> int:
    """The action that `action` becomes under symmetry k on a size x size board (pass stays)."""
    _check(k)
    return int(_action_tables(size)[k][action])


def inverse_symmetry(k: int) -> int:
    """The symmetry that undoes k: rotations by the opposite turn, mirror images by themselves."""
    _check(k)
    return (4 - k) % 4 if k < 4 else k


def compose_symmetries(first: int, second: int) -> int:
    """The symmetry equal to applying `first`, then `second`."""
    _check(first)
    _check(second)
    return _composition_table()[first][second]


@cache
def _composition_table() -> tuple[tuple[int, ...], ...]:
    tables = point_permutations(3)    # 3x3 is the smallest board where all 8 symmetries differ
    index = {tuple(row): k for k, row in enumerate(tables.tolist())}
    return tuple(
        tuple(index[tuple(tables[a][tables[b]].tolist())] for b in range(NUM_SYMMETRIES))
        for a in range(NUM_SYMMETRIES)
    )
