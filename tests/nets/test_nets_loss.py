"""Weighted deep supervision (eq. 6.1-6.3): values, weights and where gradients go."""
import pytest
import torch

from dpv.nets.config import LossConfig, NetConfig
from dpv.nets.loss import deep_supervision_loss, l2_penalty
from dpv.nets.model import DPVNet

CFG = NetConfig(blocks=3, channels=8, exits=[1, 2, 3], value_hidden=16)


def _batch(n: int = 6):
    g = torch.Generator().manual_seed(0)
    x = (torch.rand(n, 17, 9, 9, generator=g) < 0.3).float()
    pi = torch.rand(n, 82, generator=g).softmax(1)
    z = torch.randint(0, 2, (n,), generator=g).float() * 2 - 1
    return x, pi, z


def test_loss_is_weighted_sum_of_head_losses():
    torch.manual_seed(0)
    model = DPVNet(CFG)
    x, pi, z = _batch()
    outputs = model(x)
    per_head = [(-(pi * lg.log_softmax(1)).sum(1).mean() + ((v - z) ** 2).mean()).item() for lg, v in outputs]
    for cfg, weights in [(LossConfig(l2=0.0), [1, 1, 2]), (LossConfig(variant="no-weight", l2=0.0), [1, 1, 1]),
                         (LossConfig(deepest_weight=4.0, l2=0.0), [1, 1, 4])]:
        terms = deep_supervision_loss(outputs, pi, z, cfg)
        assert terms.total.item() == pytest.approx(sum(w * h for w, h in zip(weights, per_head)), rel=1e-5)
        assert [p + v for p, v in zip(terms.policy, terms.value)] == pytest.approx(per_head, rel=1e-5)
    with_l2 = deep_supervision_loss(outputs, pi, z, LossConfig(l2=1e-2), model)
    no_l2 = deep_supervision_loss(outputs, pi, z, LossConfig(l2=0.0), model)
    assert with_l2.l2 == pytest.approx(l2_penalty(model).item())
    assert with_l2.total.item() == pytest.approx(no_l2.total.item() + 1e-2 * with_l2.l2, rel=1e-5)


def test_deepest_weight_scales_only_the_deepest_heads_gradient():
    torch.manual_seed(0)
    model = DPVNet(CFG)
    x, pi, z = _batch()

    def head_grads(cfg):
        model.zero_grad()
        deep_supervision_loss(model(x), pi, z, cfg).total.backward()
        return [torch.cat([p.grad.flatten() for p in h.parameters()]) for h in model.heads]

    base = head_grads(LossConfig(variant="no-weight", l2=0.0))
    heavy = head_grads(LossConfig(deepest_weight=3.0, l2=0.0))
    torch.testing.assert_close(heavy[0], base[0])
    torch.testing.assert_close(heavy[1], base[1])
    torch.testing.assert_close(heavy[2], 3.0 * base[2])


@pytest.mark.parametrize("exit", [0, 1])
def test_gradients_reach_only_blocks_below_the_head(exit):
    torch.manual_seed(0)
    model = DPVNet(CFG)
    x, pi, z = _batch()
    outputs = model(x)
    deep_supervision_loss([outputs[exit]], pi, z, LossConfig(l2=0.0)).total.backward()

    def has_grad(module):
        return any(p.grad is not None and p.grad.abs().sum() > 0 for p in module.parameters())

    assert has_grad(model.stem)
    for k, (stage, head) in enumerate(zip(model.stages, model.heads)):
        assert has_grad(stage) == (k <= exit)
        assert has_grad(head) == (k == exit)


def test_a_single_exit_gets_plain_alphazero_loss_whatever_the_deepest_weight():
    """The baseline of the training study (configs/net-four-baseline.yaml): one head, weight 1."""
    torch.manual_seed(0)
    model = DPVNet(NetConfig(blocks=3, channels=8, exits=[3], value_hidden=16))
    x, pi, z = _batch()
    ((logits, value),) = model(x)
    alphazero = -(pi * logits.log_softmax(1)).sum(1).mean() + ((value - z) ** 2).mean()
    for cfg in (LossConfig(l2=0.0), LossConfig(deepest_weight=5.0, l2=0.0), LossConfig(variant="no-weight", l2=0.0)):
        assert deep_supervision_loss(model(x), pi, z, cfg).total.item() == pytest.approx(alphazero.item(), rel=1e-6)
