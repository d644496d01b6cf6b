"""A GTP version 2 engine around a go_engine Board and a Player.

`GtpEngine.handle(line)` answers one command line; `serve(stdin, stdout)` runs the protocol
loop. Every failure, from a malformed line to an illegal move, is answered with a GTP
failure (`? message`) and the engine keeps its state and keeps running.
"""
from __future__ import annotations

import re
import sys
from typing import Callable, TextIO

from go_engine import Board, IllegalMove, action_to_gtp, gtp_to_action

import dpv
from dpv.gtp.players import RESIGN, Player
from dpv.sgf import SgfError, format_score, read_sgf_file

MIN_SIZE, MAX_SIZE = 5, 19
# GTP controllers decide when a game ends; the board's own move cap only guards runaway games.
MOVE_CAP_PER_POINT = 4


class GtpFailure(Exception):
    """A command that cannot be carried out; its message becomes the `? ...` answer."""


def parse_colour(text: str) -> int:
    """+1 for black, -1 for white, from a GTP colour ("b", "black", "W", ...)."""
    colour = text.lower()
    if colour in ("b", "black"):
        return 1
    if colour in ("w", "white"):
        return -1
    raise GtpFailure(f"invalid color '{text}'")


def parse_vertex(text: str, size: int) -> int:
    """The action for a GTP vertex ("D5", "pass"); letters skip I."""
    try:
        return gtp_to_action(text, size)
    except ValueError as err:
        raise GtpFailure(f"invalid vertex '{text}': {err}") from None


def format_vertex(action: int, size: int) -> str:
    """The GTP vertex of an action ("pass" for the pass action)."""
    return action_to_gtp(action, size)


def _clean(line: str) -> str:
    """Apply GTP's preprocessing: drop control characters and comments, tabs to spaces."""
    line = line.split("#", 1)[0]
    line = "".join(ch if ch >= " " or ch == "\t" else "" for ch in line)
    return line.replace("\t", " ").strip()


class GtpEngine:
    """The state of one GTP session: board size, komi, moves played, and the player."""

    def __init__(self, player: Player, size: int = 9, komi: float = 7.5) -> None:
        self.player = player
        self.size = size
        self.komi = komi
        self.moves: list[int] = []
        self.board = self._new_board(size, komi)
        self.finished = False
        self.commands: dict[str, Callable[[list[str]], str]] = {
            "protocol_version": lambda args: "2",
            "name": lambda args: "dpv",
            "version": lambda args: f"{dpv.__version__} ({self.player.name})",
            "known_command": self.cmd_known_command,
            "list_commands": lambda args: "\n".join(sorted(self.commands)),
            "quit": self.cmd_quit,
            "boardsize": self.cmd_boardsize,
            "clear_board": self.cmd_clear_board,
            "komi": self.cmd_komi,
            "play": self.cmd_play,
            "genmove": self.cmd_genmove,
            "undo": self.cmd_undo,
            "showboard": lambda args: "\n" + str(self.board),
            "final_score": lambda args: format_score(self.board.score()),
            "loadsgf": self.cmd_loadsgf,
            "is_legal": self.cmd_is_legal,
        }

    # -- protocol -------------------------------------------------------------------------

    def handle(self, line: str) -> str | None:
        """The full response to one input line (ending in a blank line), or None for a line
        that holds no command."""
        line = _clean(line)
        if not line:
            return None
        words = line.split()
        ident = ""
        if re.fullmatch(r"\d+", words[0]):
            ident, words = words[0], words[1:]
            if not words:
                return f"?{ident} missing command\n\n"
        name, args = words[0].lower(), words[1:]
        command = self.commands.get(name)
        if command is None:
            return f"?{ident} unknown command\n\n"
        try:
            result = command(args)
        except GtpFailure as failure:
            return f"?{ident} {failure}\n\n"
        except Exception as err:  # an engine bug must not end the session
            return f"?{ident} internal error: {type(err).__name__}: {err}\n\n"
        return f"={ident} {result}\n\n" if result else f"={ident}\n\n"

    def serve(self, stdin: TextIO = sys.stdin, stdout: TextIO = sys.stdout) -> None:
        """Answer commands from `stdin` until `quit` or end of input."""
        for line in stdin:
            response = self.handle(line)
            if response is not None:
                stdout.write(response)
                stdout.flush()
            if self.finished:
                return

    # -- commands -------------------------------------------------------------------------

    def cmd_known_command(self, args: list[str]) -> str:
        _want(args, 1, "known_command COMMAND")
        return "true" if args[0].lower() in self.commands else "false"

    def cmd_quit(self, args: list[str]) -> str:
        self.finished = True
        return ""

    def cmd_boardsize(self, args: list[str]) -> str:
        _want(args, 1, "boardsize SIZE")
        size = _parse_number(args[0], int, "board size")
        if not MIN_SIZE <= size <= MAX_SIZE:
            raise GtpFailure("unacceptable size")
        self.size = size
        self._reset([])
        return ""

    def cmd_clear_board(self, args: list[str]) -> str:
        self._reset([])
        return ""

    def cmd_komi(self, args: list[str]) -> str:
        _want(args, 1, "komi VALUE")
        self.komi = _parse_number(args[0], float, "komi")
        self._reset(self.moves)
        return ""

    def cmd_play(self, args: list[str]) -> str:
        _want(args, 2, "play COLOR VERTEX")
        colour = parse_colour(args[0])
        action = parse_vertex(args[1], self.size)
        board = self._board_for(colour)
        try:
            board.play(action)
        except IllegalMove as err:
            raise GtpFailure(f"illegal move: {err.reason}") from None
        self._commit(board)
        return ""

    def cmd_genmove(self, args: list[str]) -> str:
        _want(args, 1, "genmove COLOR")
        board = self._board_for(parse_colour(args[0]))
        if board.is_over():
            return "pass"
        action = self.player.genmove(board.copy())
        if action == RESIGN:
            return "resign"
        board.play(action)
        self._commit(board)
        return format_vertex(action, self.size)

    def cmd_undo(self, args: list[str]) -> str:
        if not self.moves:
            raise GtpFailure("cannot undo")
        self._reset(self.moves[:-1])
        return ""

    def cmd_loadsgf(self, args: list[str]) -> str:
        if len(args) not in (1, 2):
            raise GtpFailure("syntax error: loadsgf FILENAME [MOVE_NUMBER]")
        try:
            record = read_sgf_file(args[0])
        except SgfError as err:
            raise GtpFailure(f"cannot load file: {err}") from None
        moves = record.moves
        if len(args) == 2:  # the position before move MOVE_NUMBER is played
            moves = moves[: max(0, _parse_number(args[1], int, "move number") - 1)]
        board = self._new_board(record.size, record.komi)
        for number, action in enumerate(moves, start=1):
            try:
                board.play(action)
            except IllegalMove as err:
                raise GtpFailure(f"cannot load file: move {number} is illegal ({err.reason})") from None
        self.size, self.komi = record.size, record.komi
        self.moves, self.board = list(moves), board
        return ""

    def cmd_is_legal(self, args: list[str]) -> str:
        _want(args, 2, "is_legal COLOR VERTEX")
        colour = parse_colour(args[0])
        action = parse_vertex(args[1], self.size)
        try:
            board = self._board_for(colour)
        except GtpFailure:
            return "0"
        return "1" if board.is_legal(action) else "0"

    # -- state ----------------------------------------------------------------------------

    def _new_board(self, size: int, komi: float) -> Board:
        return Board(size=size, komi=komi, max_moves=MOVE_CAP_PER_POINT * size * size)

    def _reset(self, moves: list[int]) -> None:
        board = self._new_board(self.size, self.komi)
        for action in moves:
            board.play(action)
        self.moves, self.board = list(moves), board

    def _board_for(self, colour: int) -> Board:
        """A copy of the board with `colour` to play: a move out of turn is preceded by a
        pass of the other side (GTP lets controllers play either colour at any time)."""
        board = self.board.copy()
        if board.to_play != colour:
            if self.moves and self.moves[-1] == self.size * self.size:
                raise GtpFailure("two moves in a row by one colour right after a pass would end the game")
            board.play(self.size * self.size)
        return board

    def _commit(self, board: Board) -> None:
        self.moves.extend(board.history[len(self.moves):])
        self.board = board


def _want(args: list[str], count: int, usage: str) -> None:
    if len(args) != count:
        raise GtpFailure(f"syntax error: {usage}")


def _parse_number(text: str, kind: type, what: str):
    try:
        return kind(text)
    except ValueError:
        raise GtpFailure(f"syntax error: invalid {what} '{text}'") from None
