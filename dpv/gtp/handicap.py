"""Handicap stones as GTP v2 places them (spec section 4.1): `fixed_handicap` on the board's
star points, `place_free_handicap` where the engine chooses, `set_free_handicap` where the
controller says.

The fixed placement follows the spec's order (on 19x19: D4 Q16 D16 Q4, then K10 for an odd
count, D10 Q10 for 6 and more, K4 K16 for 8 and 9) on the 3rd line of boards up to 11x11
and the 4th line of larger ones, as GNU Go places them: at most 9 stones on odd boards from
9x9, at most 4 on 7x7 and on even boards, none below 7x7. The free placement is the fixed
one as far as it goes, then the empty points closest to the centre (Chebyshev distance,
then row-major order).
"""
from __future__ import annotations

MIN_FIXED_SIZE = 7


class HandicapError(ValueError):
    """A handicap that cannot be placed; the message is the GTP failure ("invalid number of
    stones", "bad vertex list")."""


def max_fixed_handicap(size: int) -> int:
    """How many stones `fixed_handicap` may place on a `size` x `size` board (0: none)."""
    if size < MIN_FIXED_SIZE:
        return 0
    return 9 if size % 2 == 1 and size >= 9 else 4


def fixed_handicap(count: int, size: int) -> list[int]:
    """The actions of `count` fixed handicap stones in the spec's order (module docstring)."""
    if not 2 <= count <= max_fixed_handicap(size):
        raise HandicapError("invalid number of stones")
    edge = 4 if size > 11 else 3  # line of the star points
    low, mid, high = edge, (size + 1) // 2, size + 1 - edge
    corners = [(low, low), (high, high), (low, high), (high, low)]
    sides = [(low, mid), (high, mid)]
    ends = [(mid, low), (mid, high)]
    centre = [(mid, mid)]
    lines = corners[:min(count, 4)]
    if count >= 6:
        lines += sides
    if count >= 8:
        lines += ends
    if count >= 5 and count % 2 == 1:
        lines += centre
    return [_action(column, row, size) for column, row in lines]


def free_handicap(count: int, size: int) -> list[int]:
    """The actions of `count` handicap stones placed by the engine (module docstring)."""
    if not 2 <= count < size * size:
        raise HandicapError("invalid number of stones")
    chosen = fixed_handicap(min(count, max_fixed_handicap(size)), size) if max_fixed_handicap(size) >= 2 else []
    centre = (size - 1) / 2
    rest = sorted((action for action in range(size * size) if action not in chosen),
                  key=lambda action: (max(abs(action // size - centre), abs(action % size - centre)), action))
    return chosen + rest[:count - len(chosen)]


def check_free_handicap(actions: list[int], size: int) -> list[int]:
    """`set_free_handicap`'s vertices as actions: at least 2, fewer than the board's points,
    no pass, none twice."""
    if not 2 <= len(actions) < size * size or size * size in actions or len(set(actions)) != len(actions):
        raise HandicapError("bad vertex list")
    return actions


def _action(column: int, row: int, size: int) -> int:
    """The action of the point on `column` (1 = left) and `row` (1 = bottom), GTP's numbering."""
    return (size - row) * size + column - 1
