"""SGF game records, read and written with sgfmill.

A `GameRecord` is the project's plain form of one game: board size, komi, the actions
played (go_engine convention: `row * size + col`, row 0 at the top, `size * size` = pass),
an optional comment per move, the result and the players' names. sgfmill does the SGF
syntax, escaping and coordinate letters; this module only maps between the two forms.
"""
from __future__ import annotations

import math
import os
import stat
from dataclasses import dataclass, field
from pathlib import Path

from sgfmill import sgf

RULES = "Chinese"  # area scoring; go_engine scores Tromp-Taylor, which agrees at the end of a played-out game
MAX_FILE_BYTES = 1 << 20
"""The largest SGF file `read_sgf_file` reads (1 MiB; a 9x9 game record is a few KiB)."""


class SgfError(ValueError):
    """An SGF file that cannot be read as one game of Go."""


@dataclass
class GameRecord:
    """One game: everything needed to replay it and to say how it ended."""

    size: int = 9
    komi: float = 7.5
    moves: list[int] = field(default_factory=list)
    comments: list[str | None] = field(default_factory=list)
    result: str | None = None  # SGF RE value: "B+3.5", "W+R", "0", ...
    black: str = "black"
    white: str = "white"
    game_comment: str | None = None

    def __post_init__(self) -> None:
        if len(self.comments) < len(self.moves):
            self.comments = self.comments + [None] * (len(self.moves) - len(self.comments))


def format_score(score: float) -> str:
    """GTP/SGF result form of a black-minus-white score: "B+3.5", "W+0.5" or "0"."""
    if score == 0:
        return "0"
    return f"{'B' if score > 0 else 'W'}+{abs(score):g}"


def _to_sgfmill(action: int, size: int) -> tuple[int, int] | None:
    if action == size * size:
        return None
    row, col = divmod(action, size)
    return size - 1 - row, col  # sgfmill counts rows from the bottom


def _from_sgfmill(point: tuple[int, int] | None, size: int) -> int:
    if point is None:
        return size * size
    row, col = point
    return (size - 1 - row) * size + col


def to_sgf(record: GameRecord) -> bytes:
    """Serialise a game record as SGF (FF[4], GM[1]) with komi, rules, result and comments."""
    game = sgf.Sgf_game(size=record.size)
    root = game.get_root()
    root.set("KM", record.komi)
    root.set("RU", RULES)
    root.set("PB", record.black)
    root.set("PW", record.white)
    root.set("AP", ("dpv", "0.1.0"))
    if record.result is not None:
        root.set("RE", record.result)
    if record.game_comment:
        root.set("GC", record.game_comment)
    colour = "b"
    for action, comment in zip(record.moves, record.comments):
        node = game.extend_main_sequence()
        node.set_move(colour, _to_sgfmill(action, record.size))
        if comment:
            node.set("C", comment)
        colour = "w" if colour == "b" else "b"
    return game.serialise()


def from_sgf(data: bytes, source: str = "<sgf>") -> GameRecord:
    """Parse SGF bytes into a game record. Setup stones and non-alternating moves are refused."""
    try:
        game = sgf.Sgf_game.from_bytes(data)
    except ValueError as err:
        raise SgfError(f"{source}: not a valid SGF file ({err})") from None
    root = game.get_root()
    if root.has_property("GM") and root.get("GM") != 1:
        raise SgfError(f"{source}: not a game of Go (GM[{root.get('GM')}])")
    size = game.get_size()
    if not 5 <= size <= 19:
        raise SgfError(f"{source}: board size {size} is not supported (5..19)")
    if root.has_setup_stones():
        raise SgfError(f"{source}: setup stones (handicap, AB/AW) are not supported")
    try:
        komi = float(game.get_komi())
    except ValueError as err:
        raise SgfError(f"{source}: invalid komi ({err})") from None
    if not math.isfinite(komi):  # sgfmill refuses nan and inf; a huge KM still overflows
        raise SgfError(f"{source}: invalid komi ({komi})")
    record = GameRecord(size=size, komi=komi)
    record.result = root.get("RE") if root.has_property("RE") else None
    record.black = root.get("PB") if root.has_property("PB") else "black"
    record.white = root.get("PW") if root.has_property("PW") else "white"
    record.game_comment = root.get("GC") if root.has_property("GC") else None
    expected = "b"
    for node in game.get_main_sequence()[1:]:
        colour, point = node.get_move()
        if colour is None:
            if node.has_setup_stones():
                raise SgfError(f"{source}: setup stones after the root are not supported")
            continue
        if colour != expected:
            raise SgfError(f"{source}: move {len(record.moves) + 1} is by {colour.upper()} out of turn")
        record.moves.append(_from_sgfmill(point, size))
        record.comments.append(node.get("C") if node.has_property("C") else None)
        expected = "w" if expected == "b" else "b"
    return record


def write_sgf_file(path: str | Path, record: GameRecord) -> None:
    """Write a game record to `path` as SGF."""
    Path(path).write_bytes(to_sgf(record))


def read_sgf_file(path: str | Path, max_bytes: int = MAX_FILE_BYTES) -> GameRecord:
    """Read the game record in the SGF file at `path`: a regular file of at most `max_bytes`
    (a FIFO, a device such as /dev/zero or a directory is refused before anything is read, so
    reading never blocks and never fills the memory)."""
    path = Path(path)
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK)  # opening a FIFO does not wait for a writer
        with open(fd, "rb") as file:
            info = os.fstat(fd)
            if not stat.S_ISREG(info.st_mode):
                raise SgfError(f"{path}: not a regular file")
            if info.st_size > max_bytes:
                raise SgfError(f"{path}: {info.st_size} bytes, larger than the {max_bytes} an SGF file may have")
            data = file.read(max_bytes + 1)  # the file may have grown since fstat
    except OSError as err:
        raise SgfError(f"{path}: cannot read ({err.strerror})") from None
    if len(data) > max_bytes:
        raise SgfError(f"{path}: larger than the {max_bytes} bytes an SGF file may have")
    return from_sgf(data, source=str(path))
