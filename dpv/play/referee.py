"""A referee that plays one game between two seats and keeps its own board.

A seat is an external GTP engine (`GtpSeat`, over a `GtpClient`) or our own search player in
this process (`SearchSeat`, an `MctsPlayer`). Every move a seat generates is checked on the
referee's go_engine board and must be accepted by the other seat. A seat that generates a move
the referee's rules forbid (an occupied point, suicide, positional superko: GNU Go checks simple
ko only) forfeits the game, as computer-Go servers rule (CGOS); a move the other seat refuses
ends the game with a GtpError that names the move. The game ends on two passes, a
resignation, a forfeit or the referee's move cap. Both seats generate moves the `kgs-genmove_cleanup`
way where they can, so that games are played out until dead stones are captured and the
referee's area score agrees with the engines' `final_score`.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol

from dpv.play.gtp_client import GtpClient, GtpError
from dpv.play.player import MctsPlayer
from dpv.sgf import format_score
from go_engine import Board, IllegalMove, MoveResult, action_to_gtp, gtp_to_action

RESIGN = -1
"""What a seat's `genmove` returns to resign."""
MOVE_CAP_PER_POINT = 4
"""A refereed game's default move cap: 4 x size^2 (the referee, not the board, ends games)."""


class Seat(Protocol):
    """A player in a refereed game."""

    name: str

    def new_game(self, size: int, komi: float) -> None:
        """Start an empty board of `size` with `komi`."""
        ...

    def genmove(self, colour: int) -> int:
        """The move of `colour` (+1 black, -1 white), played on the seat's board, or RESIGN."""
        ...

    def play(self, colour: int, action: int) -> None:
        """The opponent's move; GtpError when the seat refuses it."""
        ...

    def final_score(self) -> str:
        """The seat's own count of the finished game ("B+3.5", "W+0.5", "0")."""
        ...


class GtpSeat:
    """An engine behind a GtpClient; `genmove` is the command it generates moves with
    (None: `kgs-genmove_cleanup` where the engine knows it, else `genmove`)."""

    def __init__(self, client: GtpClient, genmove: str | None = None) -> None:
        self.client = client
        self.name = client.name
        if genmove is None:
            known = client.command("known_command kgs-genmove_cleanup") == "true"
            genmove = "kgs-genmove_cleanup" if known else "genmove"
        self.genmove_command = genmove
        self._size = 19

    def new_game(self, size: int, komi: float) -> None:
        """boardsize, clear_board and komi."""
        self._size = size
        for line in (f"boardsize {size}", "clear_board", f"komi {komi}"):
            self.client.command(line)

    def genmove(self, colour: int) -> int:
        """The engine's move; a vertex it cannot mean is a GtpError."""
        answer = self.client.command(f"{self.genmove_command} {_colour_name(colour)}")
        if answer.lower() == "resign":
            return RESIGN
        try:
            return gtp_to_action(answer, self._size)
        except ValueError as err:
            raise GtpError(f"{self.name} answered '{answer}' to genmove: {err}") from None

    def play(self, colour: int, action: int) -> None:
        """`play COLOR VERTEX`."""
        self.client.command(f"play {_colour_name(colour)} {action_to_gtp(action, self._size)}")

    def final_score(self) -> str:
        """The engine's `final_score`."""
        return self.client.command("final_score")


class SearchSeat:
    """Our search player in this process. `searches` maps each move number it played (0-based,
    both colours counted) to that move's go_engine.MoveResult."""

    def __init__(self, player: MctsPlayer, name: str = "dpv") -> None:
        self.player = player
        self.name = name
        self.board = Board()
        self.searches: dict[int, MoveResult] = {}

    def new_game(self, size: int, komi: float) -> None:
        """A fresh board (the player's tree follows it at its next move)."""
        self.board = Board(size=size, komi=komi, max_moves=MOVE_CAP_PER_POINT * size * size)
        self.searches = {}

    def genmove(self, colour: int) -> int:
        """The search's move, with no pass while dead stones may remain (cleanup)."""
        if self.board.to_play != colour:
            raise GtpError(f"{self.name}: asked to move for the colour that just moved")
        number = self.board.move_count
        action = self.player.genmove(self.board.copy(), cleanup=True)
        self.searches[number] = self.player.last
        self.board.play(action)
        return action

    def play(self, colour: int, action: int) -> None:
        """The opponent's move on our board."""
        try:
            self.board.play(action)
        except IllegalMove as err:
            raise GtpError(f"{self.name} refused {action_to_gtp(action, self.board.size)}: {err.reason}") from None

    def final_score(self) -> str:
        """Tromp-Taylor area score of our board."""
        return format_score(self.board.score())


@dataclass
class GameResult:
    """How a refereed game went."""

    moves: list[int] = field(default_factory=list)
    """The moves played, both colours, black first."""
    resigned: int = 0
    """The colour that resigned, 0 if nobody did."""
    forfeited: int = 0
    """The colour that generated an illegal move and so lost the game, 0 if neither did."""
    illegal: str = ""
    """The referee's ruling on that move ("gnugo played illegal H4 at move 104: superko"), else ""."""
    referee_score: float = 0.0
    """Black minus white minus komi on the referee's board."""
    final_scores: dict[str, str] = field(default_factory=dict)
    """Each seat's `final_score`, and the referee's."""

    @property
    def winner(self) -> int:
        """+1 black, -1 white, 0 draw."""
        if self.resigned or self.forfeited:
            return -(self.resigned or self.forfeited)
        return (self.referee_score > 0) - (self.referee_score < 0)


def play_game(black: Seat, white: Seat, size: int = 9, komi: float = 7.5, max_moves: int | None = None) -> GameResult:
    """Play one game to its end and ask both seats for their final score."""
    board = Board(size=size, komi=komi, max_moves=max_moves or MOVE_CAP_PER_POINT * size * size)
    seats = {1: black, -1: white}
    for seat in seats.values():
        seat.new_game(size, komi)
    result = GameResult()
    while not board.is_over():
        colour = board.to_play
        mover, other = seats[colour], seats[-colour]
        action = mover.genmove(colour)
        if action == RESIGN:
            result.resigned = colour
            break
        try:
            board.play(action)
        except IllegalMove as err:
            result.forfeited = colour
            result.illegal = (f"{mover.name} played illegal {action_to_gtp(action, size)} at move "
                              f"{board.move_count + 1}: {err.reason}")
            break
        other.play(colour, action)
        result.moves.append(action)
    result.referee_score = board.score()
    for seat in seats.values():
        result.final_scores[seat.name] = seat.final_score()
    result.final_scores["referee"] = format_score(result.referee_score)
    return result


def _colour_name(colour: int) -> str:
    return "b" if colour == 1 else "w"
