"""The Cython search driving the real DPV network through the evaluator contract."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from dpv.nets.config import NetConfig
from dpv.nets.evaluator import Evaluator
from dpv.nets.model import DPVNet
from go_engine import BatchedSearch, ExitPolicy, Player, SearchConfig

CFG = NetConfig(blocks=3, channels=8, exits=[1, 2, 3], value_hidden=16)


@pytest.fixture(scope="module")
def evaluator() -> Evaluator:
    torch.manual_seed(0)
    return Evaluator(DPVNet(CFG))


def test_mixed_fixed_and_dynamic_rows_answer_like_separate_calls(evaluator):
    planes = (np.random.default_rng(1).random((6, 17, 9, 9)) < 0.3).astype(np.float32)
    thresholds = np.array([0.0, 0.3, 0.0, 2.0, 0.0, 0.0], dtype=np.float32)
    fixed = np.array([0, -1, 2, -1, 1, -1], dtype=np.int32)
    priors, values, exits = evaluator(planes, thresholds, fixed_exit=fixed)
    assert exits.tolist()[0::2] == [0, 2, 1] and exits[3] == 2 and exits[5] == 0
    for i in range(6):
        alone = evaluator(planes[i : i + 1], thresholds[i : i + 1], fixed_exit=fixed[i : i + 1])
        np.testing.assert_allclose(priors[i], alone[0][0], rtol=1e-5, atol=1e-6)
        np.testing.assert_allclose(values[i], alone[1][0], rtol=1e-5, atol=1e-6)
        assert exits[i] == alone[2][0]


def test_bad_fixed_exit_is_a_clear_error(evaluator):
    planes = np.zeros((2, 17, 9, 9), dtype=np.float32)
    with pytest.raises(ValueError, match="fixed_exit"):
        evaluator(planes, np.zeros(2, np.float32), fixed_exit=np.array([0, 3]))


def test_two_exit_policies_share_a_batch_with_the_network(evaluator):
    flops = evaluator.exit_flops.tolist()
    shallow = Player(simulations=8, exit_policy=ExitPolicy.fixed(0))
    dynamic = Player(simulations=8, exit_policy=ExitPolicy.dynamic(0.02, 0.5))
    search = BatchedSearch(4, exit_flops=flops, players=(shallow, dynamic), config=SearchConfig(), seed=3)
    for _ in range(4):
        results = search.run_move(evaluator)
        for result in results:
            budget = 8 * flops[-1]
            assert result.flops <= budget + max(flops) + 1e-6
            if result.player == 1:  # black: the fixed shallow exit only
                assert result.evals_per_exit[1:].sum() == 0
                assert result.evals_per_exit[0] == int(budget // flops[0]) or result.simulations == 0
            assert abs(result.pi.sum() - 1) < 1e-5
            assert search.board(result.game).move_count > 0
