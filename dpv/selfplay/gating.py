"""Gating (thesis 6.3.1): after each training cycle the candidate plays the current best; it is
promoted when it wins at least 55% of the games.

`play_match` plays two evaluators against each other with equal search budgets through the
match loop of dpv.play.match: half of the games with the first evaluator as black, half as
white, each leaf answered by the network of the player to move. No root noise, no
resignation; moves are sampled with temperature 1 for the first few moves so the games
differ, then the most visited move is played. Trees are not reused between moves: a reused
subtree holds the opponent network's evaluations, which would blur the two networks.
"""
from __future__ import annotations

from dataclasses import dataclass, replace

from dpv.selfplay.config import GatingSection, SearchSection
from dpv.selfplay.messages import GatingResult


@dataclass
class MatchResult:
    """Games won by the first player (`wins`) and the second (`losses`), draws."""

    games: int
    wins: int
    losses: int
    draws: int

    @property
    def win_rate(self) -> float:
        """Wins / games, a draw counted as half."""
        return (self.wins + 0.5 * self.draws) / self.games


def play_match(first, second, games: int, simulations: float, search: SearchSection,
               opening_moves: int = 6, seed: int = 0, board_size: int = 9) -> MatchResult:
    """`first` vs `second` (search evaluators with `exit_flops`, any two networks) over `games`
    games (even), colours alternating, both at `simulations` per move at their deepest exit,
    the first `opening_moves` plies sampled by visit count: dpv.play.match's loop."""
    from dpv.play.match import MatchPlayer, play_games
    from go_engine import ExitPolicy, Player

    sides = [MatchPlayer(ev, Player(simulations, ExitPolicy.fixed(-1), exit_flops=tuple(ev.exit_flops)))
             for ev in (first, second)]
    played = play_games(*sides, range(2 * (games // 2)), replace(search, opening_moves=opening_moves),
                        board_size=board_size, komi=search.komi, max_moves=search.max_moves, seed=seed)
    results = [game.a_result for game in played]
    return MatchResult(games=len(played), wins=results.count(1), losses=results.count(-1), draws=results.count(0))


class GatingEvaluator:
    """Plays candidate checkpoints against the best one (a Ray actor: `ray.remote(GatingEvaluator)`).
    It holds no state between evaluations: when Ray restarts it, the driver submits the
    interrupted evaluation again. With a game store (`store_url`) each start is counted there."""

    def __init__(self, gating: GatingSection, search: SearchSection, board_size: int, device: str = "cpu",
                 store_url: str | None = None, prefix: str = "dpv") -> None:
        import torch

        from dpv.selfplay.inference import pick_device
        from dpv.selfplay.state import RunState

        if store_url:
            RunState.connect(store_url, prefix).count_start("gating")
        torch.set_num_threads(gating.threads)
        self.gating = gating
        self.search = search
        self.board_size = board_size
        self.device = pick_device(device)

    def evaluate(self, candidate: str, best: str, seed: int = 0) -> GatingResult:
        """Candidate vs best over `gating.games` games; `promote` is set when the candidate's
        win rate reaches `gating.threshold`."""
        from dpv.nets.evaluator import Evaluator

        cand = Evaluator.from_checkpoint(candidate, self.device)
        ref = Evaluator.from_checkpoint(best, self.device)
        result = play_match(cand, ref, self.gating.games, self.gating.simulations, self.search,
                            self.gating.opening_moves, seed, self.board_size)
        return GatingResult(games=result.games, wins=result.wins, losses=result.losses, draws=result.draws,
                            win_rate=result.win_rate, promote=result.win_rate >= self.gating.threshold,
                            candidate=candidate)
