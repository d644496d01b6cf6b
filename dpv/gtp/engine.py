"""A GTP version 2 engine around a go_engine Board and a Player.

`GtpEngine.handle(line)` answers one command line; `serve(stdin, stdout)` runs the protocol
loop, writing long answers (analysis) piece by piece as `responses(line)` yields them. Every
failure, from a malformed line to an illegal move, is answered with a GTP failure
(`? message`) and the engine keeps its state and keeps running.

Beyond the standard commands: `time_settings` / `time_left` (the player is given a share of
the time left per move, dpv.gtp.clock), `kgs-genmove_cleanup` (no pass while dead stones may
remain), and for players that search (MctsPlayer) Leela Zero's `lz-analyze [COLOR] [INTERVAL]`
(one budgeted search from the position, an `info` line every INTERVAL centiseconds, ending
with the search) and `lz-genmove_analyze COLOR [INTERVAL]` (the same, then `play VERTEX`),
which Sabaki and Lizzie display.
"""
from __future__ import annotations

import queue
import re
import sys
import threading
import time
from collections.abc import Callable, Iterator
from typing import TextIO

import dpv
from dpv.gtp.clock import Clock
from dpv.gtp.players import RESIGN, Player, format_analysis
from dpv.sgf import SgfError, format_score, read_sgf_file
from go_engine import Board, IllegalMove, action_to_gtp, gtp_to_action

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
        self.clock = Clock()
        self.commands: dict[str, Callable[[list[str]], str | Iterator[str]]] = {
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
            "time_settings": self.cmd_time_settings,
            "time_left": self.cmd_time_left,
            "kgs-genmove_cleanup": lambda args: self.cmd_genmove(args, cleanup=True),
        }
        if hasattr(player, "search"):  # a searching player can show its analysis
            self.commands["lz-analyze"] = self.cmd_lz_analyze
            self.commands["lz-genmove_analyze"] = self.cmd_lz_genmove_analyze

    # -- protocol -------------------------------------------------------------------------

    def handle(self, line: str) -> str | None:
        """The full response to one input line (ending in a blank line), or None for a line
        that holds no command."""
        pieces = list(self.responses(line))
        return "".join(pieces) if pieces else None

    def responses(self, line: str) -> Iterator[str]:
        """The response to one input line in pieces, to be written as they come (nothing for
        a line that holds no command). A streamed answer that fails midway is ended early."""
        line = _clean(line)
        if not line:
            return
        words = line.split()
        ident = ""
        if re.fullmatch(r"\d+", words[0]):
            ident, words = words[0], words[1:]
            if not words:
                yield f"?{ident} missing command\n\n"
                return
        name, args = words[0].lower(), words[1:]
        command = self.commands.get(name)
        if command is None:
            yield f"?{ident} unknown command\n\n"
            return
        try:
            result = command(args)
        except GtpFailure as failure:
            yield f"?{ident} {failure}\n\n"
            return
        except Exception as err:  # an engine bug must not end the session
            yield f"?{ident} internal error: {type(err).__name__}: {err}\n\n"
            return
        if isinstance(result, str):
            yield f"={ident} {result}\n\n" if result else f"={ident}\n\n"
            return
        yield f"={ident}\n"
        try:
            yield from result
        except Exception as err:  # the answer has begun: end it, say why on stderr
            print(f"dpv gtp: {name} stopped: {type(err).__name__}: {err}", file=sys.stderr)
        yield "\n"

    def serve(self, stdin: TextIO = sys.stdin, stdout: TextIO = sys.stdout) -> None:
        """Answer commands from `stdin` until `quit` or end of input."""
        for line in stdin:
            for piece in self.responses(line):
                stdout.write(piece)
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
        if not MIN_SIZE <= size <= MAX_SIZE or getattr(self.player, "board_size", None) not in (None, size):
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

    def cmd_genmove(self, args: list[str], cleanup: bool = False, **options: object) -> str:
        _want(args, 1, "genmove COLOR")
        colour = parse_colour(args[0])
        board = self._board_for(colour)
        if board.is_over():
            return "pass"
        started = time.monotonic()
        seconds = self.clock.allowance(colour, self._moves_left(board))
        action = self.player.genmove(board.copy(), seconds=seconds, cleanup=cleanup, **options)
        self.clock.spend(colour, time.monotonic() - started)
        if action == RESIGN:
            return "resign"
        board.play(action)
        self._commit(board)
        return format_vertex(action, self.size)

    def cmd_time_settings(self, args: list[str]) -> str:
        _want(args, 3, "time_settings MAIN_TIME BYO_YOMI_TIME BYO_YOMI_STONES")
        main = _parse_number(args[0], float, "main time")
        byo = _parse_number(args[1], float, "byo-yomi time")
        stones = _parse_number(args[2], int, "byo-yomi stones")
        try:
            self.clock.set(main, byo, stones)
        except ValueError as err:
            raise GtpFailure(f"syntax error: {err}") from None
        return ""

    def cmd_time_left(self, args: list[str]) -> str:
        _want(args, 3, "time_left COLOR TIME STONES")
        colour = parse_colour(args[0])
        try:
            self.clock.update(colour, _parse_number(args[1], float, "time"), _parse_number(args[2], int, "stones"))
        except ValueError as err:
            raise GtpFailure(f"syntax error: {err}") from None
        return ""

    def cmd_lz_analyze(self, args: list[str]) -> Iterator[str]:
        colour, interval = self._analyze_args(args, self.board.to_play)
        board = self._board_for(colour)
        if board.is_over():
            raise GtpFailure("the game is over")
        return self._streamed(lambda report: self.player.search(board.copy(), report=report, interval=interval))

    def cmd_lz_genmove_analyze(self, args: list[str]) -> Iterator[str]:
        if not args:
            raise GtpFailure("syntax error: lz-genmove_analyze COLOR [INTERVAL]")
        colour, interval = self._analyze_args(args, None)
        self._board_for(colour)  # fails now, before the answer begins

        def stream() -> Iterator[str]:
            vertex = yield from self._streamed(
                lambda report: self.cmd_genmove([args[0]], report=report, interval=interval))
            yield f"play {vertex}\n"
        return stream()

    def _streamed(self, work: Callable[[Callable], object]) -> Iterator[str]:
        """Run `work(report)` in a thread and yield an `info` line for every `report(moves)`
        as it happens; returns what `work` returned (re-raises what it raised)."""
        lines: queue.Queue[str | None] = queue.Queue()
        outcome: dict[str, object] = {}

        def target() -> None:
            def report(moves: list) -> None:
                if moves:  # an empty line would end the GTP answer
                    lines.put(format_analysis(moves, self.size) + "\n")

            try:
                outcome["value"] = work(report)
            except BaseException as err:  # handed to the caller's thread
                outcome["error"] = err
            finally:
                lines.put(None)

        thread = threading.Thread(target=target, name="gtp-analysis", daemon=True)
        thread.start()
        while (line := lines.get()) is not None:
            yield line
        thread.join()
        if "error" in outcome:
            raise outcome["error"]  # type: ignore[misc]
        return outcome.get("value")

    def _analyze_args(self, args: list[str], colour: int | None) -> tuple[int, float]:
        """COLOR and INTERVAL (centiseconds, default 100) of the lz-analyze commands, in any
        order; `interval N` and unknown keywords (minmoves, ...) are accepted."""
        interval = 100.0
        for word in args:
            if word.lower() in ("b", "w", "black", "white"):
                colour = parse_colour(word)
            elif re.fullmatch(r"\d+(\.\d+)?", word):
                interval = float(word)
        if colour is None:
            raise GtpFailure("syntax error: missing color")
        return colour, max(1.0, interval) / 100.0

    def _moves_left(self, board: Board) -> int:
        """Rough number of our own moves left in the game, for spreading main time."""
        return max(10, (board.size * board.size - board.move_count // 2) // 2)

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
