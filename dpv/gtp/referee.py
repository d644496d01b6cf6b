"""A referee that plays one game between two GTP engines and keeps its own board.

Every move an engine generates is checked on the referee's go_engine board and must be
accepted by the other engine; a move either side refuses ends the game with an error that
names the move. The game ends on two passes, a resignation or the referee's move cap.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from go_engine import Board, IllegalMove

from dpv.gtp.client import GtpClient, GtpError
from dpv.gtp.engine import format_vertex, parse_vertex
from dpv.sgf import format_score


@dataclass
class Seat:
    """An engine in a game, with the command it generates moves with (GNU Go plays games out
    to the end, capturing dead stones, with `kgs-genmove_cleanup`)."""

    client: GtpClient
    genmove: str = "genmove"


@dataclass
class GameResult:
    """How a refereed game went."""

    moves: list[int] = field(default_factory=list)
    resigned: int = 0  # colour that resigned, 0 if nobody did
    referee_score: float = 0.0  # black minus white minus komi on the referee's board
    final_scores: dict[str, str] = field(default_factory=dict)  # each engine's final_score

    @property
    def winner(self) -> int:
        """+1 black, -1 white, 0 draw."""
        if self.resigned:
            return -self.resigned
        return (self.referee_score > 0) - (self.referee_score < 0)


def play_game(black: Seat, white: Seat, size: int = 9, komi: float = 7.5, max_moves: int | None = None) -> GameResult:
    """Play one game to its end and ask both engines for their final score."""
    board = Board(size=size, komi=komi, max_moves=max_moves or 4 * size * size)
    seats = {1: black, -1: white}
    for seat in seats.values():
        seat.client.command(f"boardsize {size}")
        seat.client.command("clear_board")
        seat.client.command(f"komi {komi}")
    result = GameResult()
    while not board.is_over():
        colour = board.to_play
        mover, other = seats[colour], seats[-colour]
        name = "b" if colour == 1 else "w"
        answer = mover.client.command(f"{mover.genmove} {name}")
        if answer.lower() == "resign":
            result.resigned = colour
            break
        action = parse_vertex(answer, size)
        try:
            board.play(action)
        except IllegalMove as err:
            raise GtpError(f"{mover.client.name} played illegal {answer} at move {board.move_count + 1}: {err.reason}") from None
        other.client.command(f"play {name} {format_vertex(action, size)}")
        result.moves.append(action)
    result.referee_score = board.score()
    for seat in seats.values():
        result.final_scores[seat.client.name] = seat.client.command("final_score")
    result.final_scores["referee"] = format_score(result.referee_score)
    return result
