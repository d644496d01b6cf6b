"""Ownership and score heads at every exit (issue 14's auxiliary targets): forward, FLOPs,
loss terms, gradients and checkpoints."""
from __future__ import annotations

import dataclasses

import pytest
import torch

from dpv.nets.checkpoint import load_checkpoint, save_checkpoint
from dpv.nets.config import LossConfig, NetConfig
from dpv.nets.flops import exit_flops
from dpv.nets.loss import deep_supervision_loss, ownership_loss, score_loss
from dpv.nets.model import DPVNet, ExitOutput, score_as_value

PLAIN = NetConfig(blocks=3, channels=8, exits=[1, 2, 3], value_hidden=16)
AUX = dataclasses.replace(PLAIN, ownership_head=True, score_head=True)


def _model(cfg: NetConfig = AUX, seed: int = 0) -> DPVNet:
    torch.manual_seed(seed)
    return DPVNet(cfg)


def _targets(batch: int = 4, seed: int = 1):
    g = torch.Generator().manual_seed(seed)
    x = torch.rand(batch, 17, 9, 9, generator=g)
    pi = torch.rand(batch, 82, generator=g).softmax(1)
    z = torch.tensor([1.0, -1.0, 1.0, -1.0])[:batch]
    ownership = torch.randint(-1, 2, (batch, 81), generator=g).float()
    score = torch.tensor([12.5, -3.5, 80.5, -81.5])[:batch]
    return x, pi, z, ownership, score


def test_heads_are_off_by_default_and_forward_keeps_its_pairs():
    assert not PLAIN.has_aux_heads and not NetConfig().has_aux_heads
    outputs = _model(PLAIN)(torch.zeros(2, 17, 9, 9))
    assert all(type(out) is tuple and len(out) == 2 for out in outputs)
    assert all(head.ownership is None and head.score is None for head in _model(PLAIN).heads)


def test_every_exit_predicts_ownership_and_score_and_exit_outputs_agree():
    model = _model().eval()
    x = _targets()[0]
    with torch.no_grad():
        outputs = model(x)
        assert len(outputs) == 3
        for k, out in enumerate(outputs):
            assert isinstance(out, ExitOutput)
            assert out.policy.shape == (4, 82) and out.value.shape == (4,)
            assert out.ownership.shape == (4, 81) and out.score.shape == (4,)
            assert out.ownership.abs().max() <= 1
            single = model.exit_outputs(x, k)
            for a, b in zip(out, single):
                torch.testing.assert_close(a, b)
            policy, value = model.forward_exit(x, k)  # the search's path is unchanged
            torch.testing.assert_close(policy, out.policy)
            torch.testing.assert_close(value, out.value)


def test_score_as_value_answers_each_exits_score_head_in_the_value_slot_and_leaves_the_model_alone():
    model = _model().eval()
    scored = score_as_value(model)
    x = _targets()[0]
    with torch.no_grad():
        for k in range(model.num_exits):
            out = model.exit_outputs(x, k)
            policy, value = scored.forward_exit(x, k)
            torch.testing.assert_close(policy, out.policy)
            torch.testing.assert_close(value, out.score)
            torch.testing.assert_close(model.forward_exit(x, k)[1], out.value)
        logits, values, exits = scored.forward_dynamic(x, torch.full((4,), 0.5))
        for i, k in enumerate(exits.tolist()):
            torch.testing.assert_close(values[i], model.exit_outputs(x[i:i + 1], k).score[0])
    with pytest.raises(ValueError, match="no score head"):
        score_as_value(_model(PLAIN))


def test_only_the_configured_head_is_built():
    out = _model(dataclasses.replace(PLAIN, score_head=True))(torch.zeros(1, 17, 9, 9))[0]
    assert out.ownership is None and out.score.shape == (1,)


def test_exit_flops_add_exactly_the_new_heads():
    plain, aux = exit_flops(_model(PLAIN)), exit_flops(_model(AUX))
    ownership = 2 * PLAIN.channels * 81       # 1x1 conv to one plane over 81 points
    score = 2 * PLAIN.value_hidden            # linear from the value head's hidden layer
    assert [a - p for a, p in zip(aux, plain)] == [ownership + score] * 3


def test_aux_loss_terms_are_zero_at_the_target_and_grow_away_from_it():
    _, pi, z, ownership, score = _targets()
    assert float(ownership_loss(ownership, ownership)) == 0.0
    assert float(score_loss(score / 81, score, 81)) == 0.0
    near, far = ownership * 0.9, ownership * 0.5
    assert 0 < float(ownership_loss(near, ownership)) < float(ownership_loss(far, ownership))
    assert 0 < float(score_loss(score / 81 + 0.1, score, 81)) < float(score_loss(score / 81 + 0.3, score, 81))
    # In deep_supervision_loss: exact aux predictions add nothing, wrong ones add w * weight * term.
    logits, value = pi.log(), z
    exact = [ExitOutput(logits, value, ownership, score / 81)] * 3
    cfg = LossConfig(l2=0.0)
    base = deep_supervision_loss([(logits, value)] * 3, pi, z, cfg)
    terms = deep_supervision_loss(exact, pi, z, cfg, ownership=ownership, score=score)
    assert terms.ownership == [0.0] * 3 and terms.score == [0.0] * 3
    torch.testing.assert_close(terms.total, base.total)
    wrong = [ExitOutput(logits, value, torch.zeros_like(ownership), torch.zeros(4))] * 3
    worse = deep_supervision_loss(wrong, pi, z, cfg, ownership=ownership, score=score)
    weights = sum(cfg.exit_weights(3))
    expected = base.total + weights * (cfg.ownership_weight * ownership.pow(2).mean()
                                       + cfg.score_weight * (score / 81).pow(2).mean())
    torch.testing.assert_close(worse.total, expected)


def test_a_head_without_its_target_is_an_error():
    x, pi, z, ownership, _ = _targets()
    with pytest.raises(ValueError, match="score head but no score target"):
        deep_supervision_loss(_model()(x), pi, z, LossConfig(), ownership=ownership)


def test_the_heads_at_every_exit_get_gradients():
    model = _model()
    x, pi, z, ownership, score = _targets()
    deep_supervision_loss(model(x), pi, z, LossConfig(), model, ownership, score).total.backward()
    for head in model.heads:
        for module in (head.ownership, head.score):
            assert all(p.grad is not None and p.grad.abs().sum() > 0 for p in module.parameters())


def test_loss_weights_are_checked():
    with pytest.raises(ValueError, match="'ownership_weight' must be >= 0"):
        LossConfig(ownership_weight=-1.0)
    with pytest.raises(ValueError, match="'score_weight' must be >= 0"):
        LossConfig(score_weight=-0.5)


def test_checkpoint_with_heads_round_trips_and_one_without_the_flags_still_loads(tmp_path):
    model = _model()
    save_checkpoint(tmp_path / "aux.pt", model, step=3)
    loaded = load_checkpoint(tmp_path / "aux.pt").model
    assert loaded.config == AUX
    x = _targets()[0]
    with torch.no_grad():
        for a, b in zip(model.eval()(x), loaded.eval()(x)):
            for u, v in zip(a, b):
                torch.testing.assert_close(u, v)
    # A checkpoint written before the flags existed: its net_config has no such keys.
    plain = _model(PLAIN)
    save_checkpoint(tmp_path / "old.pt", plain)
    payload = torch.load(tmp_path / "old.pt", weights_only=False)
    for key in ("ownership_head", "score_head"):
        del payload["net_config"][key]
    torch.save(payload, tmp_path / "old.pt")
    assert load_checkpoint(tmp_path / "old.pt").model.config == PLAIN
    load_checkpoint(tmp_path / "old.pt", _model(PLAIN, seed=1))
