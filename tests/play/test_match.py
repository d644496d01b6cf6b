"""The one match loop (dpv.play.match): colours alternate, every game ends, each move's search
is charged to the side that moved; any two networks meet, a 3-exit one against a 1-exit one of
another width, each budgeted and charged by its own FLOPs (loop, arena, `dpv arena`, gating)."""
from __future__ import annotations

import json

import pytest
import torch

from dpv.arena.match import MatchConfig, run_match
from dpv.arena.spec import PlayerSpec
from dpv.cli import main
from dpv.nets.checkpoint import save_checkpoint
from dpv.nets.config import NetConfig
from dpv.nets.evaluator import Evaluator
from dpv.nets.model import DPVNet
from dpv.play.match import MatchPlayer, play_games
from dpv.play.settings import SearchSettings, default_settings
from dpv.selfplay.config import SearchSection
from dpv.selfplay.gating import play_match
from go_engine import ExitPolicy, Player, RolloutEvaluator, UniformEvaluator

SMALL = dict(board_size=5, komi=0.5, max_moves=30)


@pytest.mark.parametrize("shared", [True, False])
def test_colours_alternate_and_every_move_is_charged_to_its_side(shared):
    # one network (one search, one batch) or two (two searches routing leaves to the mover's network)
    first = RolloutEvaluator(playouts=1, seed=1) if shared else UniformEvaluator(num_actions=26)
    a = MatchPlayer(first, Player(24, exit_flops=(1.0,)))
    b = MatchPlayer(first if shared else UniformEvaluator(num_actions=26), Player(3, exit_flops=(1.0,)))
    games = play_games(a, b, [4, 5, 6, 7], default_settings("match"), seed=3, **SMALL)
    assert [g.index for g in games] == [4, 5, 6, 7] and [g.a_colour for g in games] == [1, -1, 1, -1]
    for g in games:
        assert len(g.searches) == len(g.moves) > 0
        for n, move in enumerate(g.searches):
            mover = 1 if n % 2 == 0 else -1  # black moves first
            assert move.side == (0 if mover == g.a_colour else 1)
            assert move.flops <= (24 if move.side == 0 else 3)
        assert g.a_result == g.winner * g.a_colour
    if shared:  # 24 random playouts per move beat 3
        assert sum(g.a_result for g in games) > 0


def test_one_shared_evaluator_plays_the_same_games_as_seeded():
    shared = UniformEvaluator(num_exits=2, num_actions=26)
    a = MatchPlayer(shared, Player(8, ExitPolicy.fixed(0), exit_flops=(1.0, 2.0)))
    b = MatchPlayer(shared, Player(8, ExitPolicy.fixed(1), exit_flops=(1.0, 2.0)))
    first = play_games(a, b, range(4), default_settings("match"), seed=5, **SMALL)
    again = play_games(a, b, range(4), default_settings("match"), seed=5, **SMALL)
    assert first == again
    for g in first:
        shallow = [m for m in g.searches if m.side == 0]
        assert all(m.evals_per_exit[1] == 0 and m.flops <= 16 for m in shallow)


def test_a_match_player_needs_its_networks_flops():
    with pytest.raises(ValueError, match="exit_flops"):
        MatchPlayer(UniformEvaluator(), Player(8))


@pytest.fixture(scope="module")
def two_networks(tmp_path_factory):
    """A 3-exit network (3 blocks x 8 channels) and a 1-exit one (2 blocks x 16 channels),
    evaluated with one torch thread (as the arena's workers do: tiny batches, shared CPUs)."""
    folder = tmp_path_factory.mktemp("nets")
    paths = []
    for name, config in (("three", NetConfig(blocks=3, channels=8, exits=[1, 2, 3], value_hidden=16)),
                         ("one", NetConfig(blocks=2, channels=16, exits=[2], value_hidden=16))):
        torch.manual_seed(0)
        save_checkpoint(folder / f"{name}.pt", DPVNet(config))
        paths.append(str(folder / f"{name}.pt"))
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield paths[0], paths[1]
    torch.set_num_threads(threads)


def test_a_three_exit_network_meets_a_one_exit_network(two_networks):
    three, one = (Evaluator.from_checkpoint(path) for path in two_networks)
    assert len(three.exit_flops) == 3 and len(one.exit_flops) == 1 and three.exit_flops[-1] != one.exit_flops[0]
    a = MatchPlayer(three, Player(6, ExitPolicy.dynamic(0.02, 0.05), exit_flops=tuple(three.exit_flops)))
    b = MatchPlayer(one, Player(6, exit_flops=tuple(one.exit_flops)))
    games = play_games(a, b, range(2), SearchSettings(opening_moves=2), max_moves=40)
    assert len(games) == 2
    for g in games:
        for move in g.searches:
            flops = three.exit_flops if move.side == 0 else one.exit_flops
            assert len(move.evals_per_exit) == len(flops)
            # each within its own budget (a dynamic policy overshoots by less than one deepest evaluation)
            assert move.flops <= 6 * flops[-1] + flops[-1]
            assert move.flops == pytest.approx(sum(n * f for n, f in zip(move.evals_per_exit, flops)))


def test_the_arena_and_its_command_line_take_any_two_networks(two_networks, tmp_path, capsys):
    three, one = two_networks
    a = PlayerSpec(exit="0", simulations=4, checkpoint=three)
    b = PlayerSpec(exit="-1", simulations=4, checkpoint=one)
    report = run_match(a, b, MatchConfig(games=2, workers=0, max_moves=30), show_progress=False).to_dict()
    flops = [Evaluator.from_checkpoint(path).exit_flops for path in two_networks]
    for side, table in zip("ab", flops):
        assert report[side]["moves"] > 0 and len(report[side]["evaluations_per_exit"]) == len(table)
        assert report[side]["budget_flops_per_move"] == pytest.approx(4 * table[-1])
        assert report[side]["max_flops_per_move"] <= report[side]["budget_flops_per_move"]
    assert report["a"]["exit_histogram"] == [1.0, 0.0, 0.0] and report["b"]["exit_histogram"] == [1.0]
    assert main(["arena", "--a", f"exit=dynamic:0.02,0.05,sims=4,checkpoint={three}", "--b",
                 f"sims=4,checkpoint={one}", "--games", "2", "--workers", "0", "--max-moves", "30",
                 "--out", str(tmp_path / "arena"), "--json"]) == 0
    cli = json.loads(capsys.readouterr().out)
    assert cli["games"] == 2
    assert len(cli["a"]["evaluations_per_exit"]) == 3 and len(cli["b"]["evaluations_per_exit"]) == 1
    assert cli["a"]["flops_per_move"] > 0 and cli["b"]["flops_per_move"] > 0


def test_gating_plays_through_the_loop_with_any_two_networks(two_networks):
    three, one = (Evaluator.from_checkpoint(path) for path in two_networks)
    result = play_match(three, one, games=4, simulations=3, search=SearchSection(max_moves=30), opening_moves=2)
    assert result.games == 4 and result.wins + result.losses + result.draws == 4
    assert result.win_rate == (result.wins + 0.5 * result.draws) / 4
