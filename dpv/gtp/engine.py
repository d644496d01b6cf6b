"""A GTP version 2 engine around a go_engine Board and a Player.

`GtpEngine.handle(line)` answers one command line; `serve(stdin, stdout)` runs the protocol
loop over bytes (stdin decoded as UTF-8 with replacement, by a reader thread: dpv.play.lines),
writing long answers (analysis) piece by piece as `responses(line)` yields them. Every
failure, from a malformed line to an illegal move, is answered with a GTP failure
(`? message`) and the engine keeps its state and keeps running.

Handicap (dpv.gtp.handicap): `fixed_handicap`, `place_free_handicap` and `set_free_handicap`
put black stones on an empty board (as black moves with white passes between them, which
`undo` does not take back); white plays next, and komi stays what the controller set.
`final_status_list dead|alive|seki` judges the stones by the network's ownership head, or
where the player's network has none by random playouts of the board (dpv.gtp.status).

`komi` takes any finite value; a network trained at 7.5 (all of dpv's) searches other komi
with its score head's estimate (dpv.gtp.komi), and terminal positions are scored with the real
komi.

Beyond the standard commands: `time_settings`, `kgs-time_settings` and `time_left` (the
player is given a share of the time left per move, dpv.gtp.clock; `move_seconds` fixes it
lower), `kgs-genmove_cleanup` (no pass while dead stones may
remain), and for players that search (MctsPlayer) the analysis commands of Leela Zero and
KataGo (dpv.gtp.analysis), which Lizzie and Sabaki display: `lz-analyze` / `kata-analyze`
search the position, writing an `info` line every INTERVAL centiseconds, until the next
input line arrives (then the answer ends, and that line is answered next; called through
`handle`, where no input can arrive, they run one budgeted search); `lz-genmove_analyze` /
`kata-genmove_analyze COLOR` write the same lines while searching a move, which they play
(`play VERTEX`), and are not interrupted. The interval is measured on the engine's `clock`.

With `ponder` (`--ponder`), a searching player goes on thinking after each of its moves, in
the position the opponent faces, until the next input line (`ponder_until_input`).

After the game's end (two passes) `genmove` answers `pass` for either colour, as GNU Go and
KataGo answer a controller that asks for a move then, and leaves the game as it is.
"""
from __future__ import annotations

import math
import re
import sys
import time
from collections.abc import Callable, Iterator
from typing import BinaryIO

import dpv
from dpv.gtp.analysis import AnalyzeRequest, AnalyzeSyntaxError, PositionEstimator, format_analysis, parse_analyze_args
from dpv.gtp.clock import Clock
from dpv.gtp.handicap import HandicapError, check_free_handicap, fixed_handicap, free_handicap
from dpv.gtp.komi import komi_evaluator
from dpv.gtp.players import RESIGN, Player
from dpv.gtp.status import STATUSES, board_ownership, final_status
from dpv.play.lines import LineQueue, read_lines
from dpv.sgf import SgfError, format_score, read_sgf_file
from go_engine import Board, IllegalMove, action_to_gtp, gtp_to_action

MIN_SIZE, MAX_SIZE = 5, 19
# GTP controllers decide when a game ends; the board's own move cap only guards runaway games.
MOVE_CAP_PER_POINT = 4
LZ_PROTOCOL_LEVEL = "lz-0.17"
"""The first word of `version`: the Leela Zero analysis protocol dpv speaks; Lizzie reads its
number after the first dot and wants at least 15 (dpv.gtp.analysis says what GUIs read)."""
PV_LENGTH = 10
"""Moves of each analysed move's principal variation."""


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
    """The state of one GTP session: board size, komi, moves played, and the player.
    `clock` (seconds) measures the analysis interval and the time spent on moves."""

    def __init__(self, player: Player, size: int = 9, komi: float = 7.5,
                 clock: Callable[[], float] = time.monotonic, move_seconds: float | None = None,
                 ponder: bool = False) -> None:
        self.player = player
        self.ponder = ponder and hasattr(player, "think")
        """Search on the opponent's time (`--ponder`): see `ponder_until_input`."""
        self._ponder_due = False
        self.now = clock
        self.move_seconds = move_seconds
        """A fixed think time per move (`--ms-per-move`), within what the time control allows; None: none."""
        self.input: LineQueue | None = None
        """The input lines while `serve` / `run` runs (analysis stops when one is waiting)."""
        self.size = size
        self._network = getattr(player, "evaluator", None)
        """The player's own evaluator; at a komi it was not trained on the player searches with
        dpv.gtp.komi's evaluator over it."""
        self._set_komi(komi)
        self.moves: list[int] = []
        self.setup_length = 0
        """How many of `moves` place the handicap (black stones and white passes): undo stops there."""
        self.board = self._new_board(size, komi)
        self.finished = False
        self.clock = Clock()
        self.commands: dict[str, Callable[[list[str]], str | Iterator[str]]] = {
            "protocol_version": lambda args: "2",
            "name": lambda args: "dpv",
            "version": lambda args: f"{LZ_PROTOCOL_LEVEL} dpv-{dpv.__version__} ({self.player.name})",
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
            "kgs-time_settings": self.cmd_kgs_time_settings,
            "kgs-genmove_cleanup": lambda args: self.cmd_genmove(args, cleanup=True),
            "fixed_handicap": lambda args: self.cmd_handicap(args, fixed_handicap, "fixed_handicap"),
            "place_free_handicap": lambda args: self.cmd_handicap(args, free_handicap, "place_free_handicap"),
            "set_free_handicap": self.cmd_set_free_handicap,
            "final_status_list": self.cmd_final_status_list,
        }
        if hasattr(player, "think"):  # a searching player can show its analysis
            for prefix, kata in (("lz", False), ("kata", True)):
                self.commands[f"{prefix}-analyze"] = lambda args, kata=kata: self.cmd_analyze(args, kata)
                self.commands[f"{prefix}-genmove_analyze"] = (
                    lambda args, kata=kata: self.cmd_genmove_analyze(args, kata))

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

    def serve(self, stdin: BinaryIO | None = None, stdout: BinaryIO | None = None) -> None:
        """Answer commands from `stdin` (default: the process's stdin, as bytes) until `quit`
        or end of input, writing UTF-8 to `stdout`."""
        out = stdout or sys.stdout.buffer

        def write(piece: str) -> None:
            out.write(piece.encode("utf-8", errors="replace"))
            out.flush()

        self.run(read_lines(stdin or sys.stdin.buffer), write)

    def run(self, commands: LineQueue, write: Callable[[str], None]) -> None:
        """Answer the lines of `commands` until `quit` or its end, passing every piece of
        every answer to `write`."""
        self.input = commands
        try:
            while (line := commands.get()) is not None:
                for piece in self.responses(line):
                    write(piece)
                if self.finished:
                    return
                self.ponder_until_input()
        finally:
            self.input = None

    def ponder_until_input(self) -> None:
        """With `ponder`, right after a move of ours: search the position the opponent faces
        until an input line waits (at least one batched step), in the player's kept tree, so
        that the next genmove starts from the subtree of the reply the opponent plays."""
        if not (self.ponder and self._ponder_due and self.input is not None) or self.board.is_over():
            return
        self._ponder_due = False
        steps = self.player.think(self.board.copy(), clock=self.now, endless=True)
        for _ in steps:
            if self.input.waiting():
                break
        steps.close()

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
        if not self._playable_size(size):
            raise GtpFailure("unacceptable size")
        self.size = size
        self._reset([])
        self.setup_length = 0
        return ""

    def cmd_clear_board(self, args: list[str]) -> str:
        self._reset([])
        self.setup_length = 0
        return ""

    def cmd_komi(self, args: list[str]) -> str:
        _want(args, 1, "komi VALUE")
        self._set_komi(_parse_number(args[0], float, "komi"))
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

    def cmd_genmove(self, args: list[str], cleanup: bool = False) -> str:
        _want(args, 1, "genmove COLOR")
        colour = parse_colour(args[0])
        if self.board.is_over():
            return "pass"
        board = self._board_for(colour)
        started = self.now()
        action = self.player.genmove(board.copy(), seconds=self._allowance(colour, board), cleanup=cleanup)
        return self._played(colour, board, action, started)

    def _allowance(self, colour: int, board: Board) -> float | None:
        """Seconds `colour` may spend on its move (None: no limit): the clock's allowance, and
        at most `move_seconds`."""
        allowance = self.clock.allowance(colour, self._moves_left(board))
        if self.move_seconds is None:
            return allowance
        return self.move_seconds if allowance is None else min(allowance, self.move_seconds)

    def _played(self, colour: int, board: Board, action: int, started: float) -> str:
        """Charge the move to `colour`'s clock, play it on `board` and keep it; its vertex."""
        self.clock.spend(colour, self.now() - started)
        if action == RESIGN:
            return "resign"
        board.play(action)
        self._commit(board)
        self._ponder_due = True
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

    def cmd_kgs_time_settings(self, args: list[str]) -> str:
        """kgs-time_settings none | absolute MAIN | byoyomi MAIN PERIOD_TIME PERIODS |
        canadian MAIN BYO_YOMI_TIME STONES (dpv.gtp.clock)."""
        usage = "syntax error: kgs-time_settings none|absolute MAIN|byoyomi MAIN TIME PERIODS|canadian MAIN TIME STONES"
        system = args[0].lower() if args else ""
        wanted = {"none": 1, "absolute": 2, "byoyomi": 4, "canadian": 4}.get(system)
        if wanted is None or len(args) != wanted:
            raise GtpFailure(usage)
        numbers = [_parse_number(text, kind, what) for text, kind, what in
                   zip(args[1:], (float, float, int), ("main time", "byo-yomi time", "byo-yomi count"))]
        try:
            if system == "none":
                self.clock.set_unlimited()
            elif system == "byoyomi":
                self.clock.set_japanese(*numbers)
            elif system == "absolute":
                self.clock.set(numbers[0], 0.0, 0)
            else:
                self.clock.set(*numbers)
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

    def cmd_analyze(self, args: list[str], kata: bool) -> Iterator[str]:
        """lz-analyze / kata-analyze: search until the next input line (see the module docstring)."""
        request = _analyze_request(args)
        board = self._board_for(self.board.to_play if request.colour is None else request.colour)
        if board.is_over():
            raise GtpFailure("the game is over")
        endless = self.input is not None
        steps = self.player.think(board.copy(), clock=self.now, endless=endless)
        estimator = PositionEstimator(getattr(self.player, "evaluator", None), board) if kata else None

        def stream() -> Iterator[str]:
            yield from self._reported(steps, request, estimator, interruptible=True)
            if endless:  # the tree is full: the answer ends with the next input line
                self.input.waiting(timeout=None)
        return stream()

    def cmd_genmove_analyze(self, args: list[str], kata: bool) -> Iterator[str]:
        """lz-genmove_analyze / kata-genmove_analyze COLOR: genmove, writing analysis lines."""
        request = _analyze_request(args)
        if request.colour is None:
            raise GtpFailure("syntax error: missing color")
        colour = request.colour
        if self.board.is_over():
            return iter(["play pass\n"])
        board = self._board_for(colour)  # fails now, before the answer begins

        def stream() -> Iterator[str]:
            started = self.now()
            steps = self.player.think(board.copy(), self._allowance(colour, board), clock=self.now)
            estimator = PositionEstimator(getattr(self.player, "evaluator", None), board) if kata else None
            yield from self._reported(steps, request, estimator, interruptible=False)
            yield f"play {self._played(colour, board, self.player.play_chosen(board), started)}\n"
        return stream()

    def _reported(self, steps: Iterator[None], request: AnalyzeRequest, estimator: PositionEstimator | None,
                  interruptible: bool) -> Iterator[str]:
        """Drive the search `steps`, yielding an analysis line every `request.interval` seconds
        on the clock and one at the end; with `interruptible`, stop as soon as an input line
        is waiting (checked after every step). `estimator`: kata-analyze's lines (scoreLead,
        ownership), None for lz-analyze's."""
        next_report = self.now() + request.interval
        for _ in steps:
            if self.now() >= next_report:
                yield from self._analysis_line(request, estimator)
                next_report = self.now() + request.interval
            if interruptible and self.input is not None and self.input.waiting():
                steps.close()
                break
        yield from self._analysis_line(request, estimator)

    def _analysis_line(self, request: AnalyzeRequest, estimator: PositionEstimator | None) -> Iterator[str]:
        moves = self.player.analysis(request.min_moves, request.max_moves)
        if not moves:  # an empty line would end the GTP answer
            return
        variations = self.player.variations(PV_LENGTH)
        progress = self.player.search_progress() if request.dpv else None
        if estimator is None:
            yield format_analysis(moves, self.size, variations=variations, progress=progress) + "\n"
            return
        ownership = estimator.ownership() if request.ownership else None
        yield format_analysis(moves, self.size, True, variations, estimator.score_leads([m.action for m in moves]),
                              ownership, progress) + "\n"

    def _moves_left(self, board: Board) -> int:
        """Rough number of our own moves left in the game, for spreading main time."""
        return max(10, (board.size * board.size - board.move_count // 2) // 2)

    def cmd_handicap(self, args: list[str], placement: Callable[[int, int], list[int]], name: str) -> str:
        """fixed_handicap / place_free_handicap (`name`) N: place N black stones where
        `placement` puts them, white to play next; the vertices."""
        _want(args, 1, f"{name} NUMBER_OF_STONES")
        count = _parse_number(args[0], int, "number of stones")
        self._refuse_handicap_on_stones()
        try:
            actions = placement(count, self.size)
        except HandicapError as err:
            raise GtpFailure(str(err)) from None
        self._place_handicap(actions)
        return " ".join(format_vertex(action, self.size) for action in actions)

    def cmd_set_free_handicap(self, args: list[str]) -> str:
        """set_free_handicap VERTEX...: black stones where the controller says, white to play next."""
        self._refuse_handicap_on_stones()
        try:
            actions = check_free_handicap([gtp_to_action(vertex, self.size) for vertex in args], self.size)
        except (ValueError, HandicapError):
            raise GtpFailure("bad vertex list") from None
        self._place_handicap(actions)
        return ""

    def _refuse_handicap_on_stones(self) -> None:
        if self.board.stones().any():
            raise GtpFailure("board not empty")

    def _place_handicap(self, actions: list[int]) -> None:
        """A fresh board holding the handicap stones `actions` (komi kept), white to play: the
        stones are black moves with a white pass between two."""
        setup: list[int] = []
        for action in actions:
            setup += [self.size * self.size, action] if setup else [action]
        self._reset(setup)
        self.setup_length = len(setup)

    def cmd_final_status_list(self, args: list[str]) -> str:
        """final_status_list dead|alive|seki: the stones of that status, one chain a line
        (dpv.gtp.status: from the ownership head of the player's network, else random playouts)."""
        if len(args) != 1 or args[0].lower() not in STATUSES:
            raise GtpFailure("syntax error: final_status_list dead|alive|seki")
        ownership = board_ownership(self.board, getattr(self.player, "evaluator", None))
        chains = final_status(self.board, ownership)[args[0].lower()]
        return "\n".join(" ".join(format_vertex(point, self.size) for point in chain) for chain in chains)

    def cmd_undo(self, args: list[str]) -> str:
        if len(self.moves) <= self.setup_length:
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
        if not self._playable_size(record.size):
            raise GtpFailure(f"cannot load file: board size {record.size} is unacceptable")
        moves = record.moves
        if len(args) == 2:  # the position before move MOVE_NUMBER is played
            moves = moves[: max(0, _parse_number(args[1], int, "move number") - 1)]
        board = self._new_board(record.size, record.komi)
        for number, action in enumerate(moves, start=1):
            try:
                board.play(action)
            except IllegalMove as err:
                raise GtpFailure(f"cannot load file: move {number} is illegal ({err.reason})") from None
        self.size = record.size
        self._set_komi(record.komi)
        self.moves, self.board, self.setup_length = list(moves), board, 0
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

    def _playable_size(self, size: int) -> bool:
        """Whether the rules and the player (a network knows one size) allow boards of `size`."""
        return MIN_SIZE <= size <= MAX_SIZE and getattr(self.player, "board_size", None) in (None, size)

    def _set_komi(self, komi: float) -> None:
        """Play at `komi`: the board's (terminal scoring, exact) and the player's evaluator's
        (dpv.gtp.komi: the score head's estimate where the network was not trained on it)."""
        self.komi = komi
        if self._network is not None:
            self.player.evaluator = komi_evaluator(self._network, komi)

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
    """`text` as an int or a finite float; nan and inf are refused (komi, times)."""
    try:
        value = kind(text)
    except ValueError:
        raise GtpFailure(f"syntax error: invalid {what} '{text}'") from None
    if not math.isfinite(value):
        raise GtpFailure(f"syntax error: {what} must be a finite number, not '{text}'")
    return value


def _analyze_request(args: list[str]) -> AnalyzeRequest:
    try:
        return parse_analyze_args(args)
    except AnalyzeSyntaxError as err:
        raise GtpFailure(str(err)) from None
