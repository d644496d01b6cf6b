"""Gating (thesis 6.3.1): after each training cycle the candidate plays the current best; it is
promoted when it wins at least 55% of the games.

`play_match` plays two evaluators against each other with equal search budgets: half of the
games with the first evaluator as black, half as white, each half one BatchedSearch given the
(black, white) evaluator pair, so each leaf is answered by the network of the player to move.
No root noise; moves are sampled with temperature 1 for the first few moves so the games
differ, then the most visited move is played. Trees are not reused between moves: a reused
subtree holds the opponent network's evaluations, which would blur the two networks.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass, replace
from typing import Any

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

    def to_dict(self) -> dict[str, Any]:
        """Plain form with the win rate."""
        return {**asdict(self), "win_rate": self.win_rate}


def play_match(first, second, games: int, simulations: float, search: SearchSection,
               temperature_moves: int = 6, seed: int = 0, board_size: int = 9) -> MatchResult:
    """`first` vs `second` (search evaluators with `exit_flops`) over `games` games (even),
    colours alternating, both at `simulations` per move at the deepest exit."""
    from go_engine import BatchedSearch, ExitPolicy, Player

    from dpv.selfplay.worker import search_config

    config = replace(search_config(search, noise=False), temperature_moves=temperature_moves,
                     reuse_tree=False, resign_threshold=None)
    player = Player(simulations=simulations, exit_policy=ExitPolicy.fixed(-1))
    flops = list(first.exit_flops)
    if len(flops) != len(second.exit_flops):
        raise ValueError("the two networks of a match must have the same number of exits")
    halves = [(BatchedSearch(games // 2, board_size, search.komi, config=config, exit_flops=flops,
                             players=player, seed=seed + side, max_moves=search.max_moves), pair, sign)
              for side, (pair, sign) in enumerate((((first, second), 1), ((second, first), -1)))]
    while any(s.active_games() for s, _, _ in halves):
        for s, pair, _ in halves:
            if s.active_games():
                s.run_move(pair)
    wins = losses = draws = 0
    for s, _, sign in halves:  # sign: +1 where `first` is black
        for g in range(s.num_games):
            outcome = s.winner(g) * sign
            wins += outcome > 0
            losses += outcome < 0
            draws += outcome == 0
    return MatchResult(games=2 * (games // 2), wins=wins, losses=losses, draws=draws)


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
                            self.gating.temperature_moves, seed, self.board_size)
        return GatingResult(games=result.games, wins=result.wins, losses=result.losses, draws=result.draws,
                            win_rate=result.win_rate, promote=result.win_rate >= self.gating.threshold,
                            candidate=candidate)
