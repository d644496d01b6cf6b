"""Collaborative exits (dpv.nets.model.early_exit's `vote`): a voting leaf answers with the mean
policy logits of the exits it passed, leaves at the exit it would leave at without voting (so
it is charged the same FLOPs) and keeps that exit's value."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from dpv.nets.config import NetConfig
from dpv.nets.evaluator import Evaluator
from dpv.nets.flops import dynamic_exit_flops
from dpv.nets.model import DPVNet
from go_engine import BatchedSearch, ExitPolicy, Player, SearchConfig

CFG = NetConfig(blocks=3, channels=8, exits=[1, 2, 3], value_hidden=16)


@pytest.fixture(scope="module")
def evaluator() -> Evaluator:
    torch.manual_seed(0)
    return Evaluator(DPVNet(CFG))


def test_voting_leaves_answer_with_the_mean_logits_of_the_exits_they_passed(evaluator):
    n = 24
    planes = (np.random.default_rng(0).random((n, 17, 9, 9)) < 0.3).astype(np.float32)
    with torch.inference_mode():
        logits = [evaluator.model.forward_exit(torch.from_numpy(planes), k)[0].float() for k in range(3)]
    conf = torch.stack([z.softmax(1).amax(1) for z in logits[:2]]).numpy()
    thresholds = np.random.default_rng(1).uniform(conf.min(), conf.max(), n).astype(np.float32)
    vote = np.arange(n) % 2 == 0
    plain = evaluator(planes, thresholds)
    voted = evaluator(planes, thresholds, vote=vote)
    np.testing.assert_array_equal(voted[2], plain[2])                  # same exits: the same FLOPs charged
    np.testing.assert_allclose(voted[1], plain[1], rtol=1e-5, atol=1e-6)
    assert len(set(plain[2].tolist())) > 1
    for i in range(n):
        k = int(plain[2][i])
        expected = torch.stack([z[i] for z in logits[:k + 1]]).mean(0).softmax(0).numpy() if vote[i] else plain[0][i]
        np.testing.assert_allclose(voted[0][i], expected, rtol=1e-4, atol=1e-6)
    assert np.any(np.abs(voted[0][vote & (plain[2] > 0)] - plain[0][vote & (plain[2] > 0)]) > 1e-4)
    with pytest.raises(ValueError, match="vote"):
        evaluator(planes, thresholds, vote=vote[:3])


def test_a_collaborative_player_is_charged_its_exits_flops_only(evaluator):
    flops = [float(f) for f in dynamic_exit_flops(evaluator.model)]
    player = Player(24, ExitPolicy.dynamic(0.02, 0.05, vote=True), exit_flops=tuple(flops))
    search = BatchedSearch(2, config=SearchConfig(leaves_per_tree=4), players=player)
    for result in search.search(evaluator):
        assert result.flops == pytest.approx(float(np.dot(result.evals_per_exit, flops)))
        assert result.flops <= 24 * flops[-1] + flops[-1]
    with pytest.raises(ValueError, match="vote"):
        ExitPolicy(kind="fixed", exit=0, vote=True)
