"""Forward modes, FLOPs and params of DPVNet (real torch, tiny networks)."""
import pytest
import torch

from dpv.nets.config import NetConfig
from dpv.nets.flops import count_flops, dynamic_exit_flops, exit_flops, exit_params
from dpv.nets.model import DPVNet, confidence

SMALL = NetConfig(blocks=4, channels=16, exits=[1, 2, 4], value_hidden=32)


def _model(seed: int = 0) -> DPVNet:
    torch.manual_seed(seed)
    model = DPVNet(SMALL)
    # Non-trivial BN statistics so that eval mode differs from the identity.
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, torch.nn.BatchNorm2d):
                m.running_mean.uniform_(-0.2, 0.2)
                m.running_var.uniform_(0.5, 1.5)
    return model.eval()


def _planes(n: int, seed: int = 1) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    return (torch.rand(n, 17, 9, 9, generator=g) < 0.3).float()


def test_output_shapes_and_ranges():
    model = _model()
    outputs = model(_planes(5))
    assert len(outputs) == 3
    for logits, value in outputs:
        assert logits.shape == (5, 82) and value.shape == (5,)
        assert value.abs().max() <= 1
    with torch.no_grad():
        for k, (logits, value) in enumerate(outputs):
            single = model.forward_exit(_planes(5), k)
            torch.testing.assert_close(single[0], logits)
            torch.testing.assert_close(single[1], value)
    with pytest.raises(ValueError, match="exit"):
        model.forward_exit(_planes(1), 3)


def test_forward_exit_runs_only_the_blocks_it_needs():
    model = _model()
    ran = []
    for i, stage in enumerate(model.stages):
        stage.register_forward_hook(lambda *_, i=i: ran.append(("stage", i)))
    for i, head in enumerate(model.heads):
        head.register_forward_hook(lambda *_, i=i: ran.append(("head", i)))
    with torch.no_grad():
        model.forward_exit(_planes(2), 1)
    assert ran == [("stage", 0), ("stage", 1), ("head", 1)]


def test_confidence_is_max_softmax_over_legal_moves():
    logits = torch.tensor([[2.0, 1.0, 0.0], [0.0, 0.0, 0.0]])
    assert torch.allclose(confidence(logits), logits.softmax(1).amax(1))
    legal = torch.tensor([[False, True, True], [True, False, False]])
    expected = torch.tensor([torch.tensor([1.0, 0.0]).softmax(0).max(), 1.0])
    assert torch.allclose(confidence(logits, legal), expected)


def test_dynamic_matches_single_exit_per_sample():
    model = _model()
    x = _planes(64)
    with torch.no_grad():
        singles = [model.forward_exit(x, k) for k in range(model.num_exits)]
        conf = confidence(singles[0][0])
        # Thresholds around the median confidence of exit 0 give a mix of exits.
        thresholds = conf.median() + (torch.rand(64, generator=torch.Generator().manual_seed(2)) - 0.5) * 0.01
        logits, values, exits = model.forward_dynamic(x, thresholds)
    assert len(exits.unique()) >= 2
    assert torch.equal(exits == 0, conf >= thresholds)
    for k, (single_logits, single_values) in enumerate(singles):
        rows = exits == k
        # Equal up to float rounding: BLAS kernels may differ with the (shrinking) batch size.
        torch.testing.assert_close(logits[rows], single_logits[rows], rtol=1e-5, atol=1e-6)
        torch.testing.assert_close(values[rows], single_values[rows], rtol=1e-5, atol=1e-6)


def test_dynamic_extreme_thresholds():
    model = _model()
    x = _planes(8)
    with torch.no_grad():
        _, _, exits = model.forward_dynamic(x, torch.zeros(8))
        assert exits.tolist() == [0] * 8
        logits, values, exits = model.forward_dynamic(x, torch.full((8,), 1.01))
        assert exits.tolist() == [2] * 8
        last = model.forward_exit(x, 2)
    torch.testing.assert_close(logits, last[0], rtol=1e-5, atol=1e-6)
    torch.testing.assert_close(values, last[1], rtol=1e-5, atol=1e-6)


def test_dynamic_uses_legal_mask():
    model = _model()
    x = _planes(4)
    legal = torch.zeros(4, 82, dtype=torch.bool)
    legal[:, 81] = True  # only pass is legal: confidence 1 at every exit
    with torch.no_grad():
        _, _, free = model.forward_dynamic(x, torch.full((4,), 0.5))
        _, _, forced = model.forward_dynamic(x, torch.full((4,), 0.5), legal)
    assert free.tolist() == [2] * 4 and forced.tolist() == [0] * 4


def test_paper_flops_match_table_6_1():
    model = DPVNet(NetConfig())
    flops = exit_flops(model)
    for measured, table in zip(flops, [2.90e8, 4.33e8, 5.77e8, 7.20e8]):
        assert abs(measured / table - 1) < 0.05
    params = exit_params(model)
    assert params[-1] == sum(p.numel() for p in model.parameters()) - sum(
        p.numel() for h in model.heads[:-1] for p in h.parameters())


def test_flops_grow_with_exit_and_plain_resnet_equals_last_exit():
    multi = DPVNet(SMALL)
    plain = DPVNet(NetConfig(blocks=4, channels=16, exits=[4], value_hidden=32))
    flops = exit_flops(multi)
    assert flops == sorted(flops) and flops[-1] == exit_flops(plain)[0]
    x = torch.zeros(1, 17, 9, 9)
    assert count_flops(multi, x) > flops[-1]  # all exits: the earlier heads cost extra
    assert exit_params(multi)[-1] == sum(p.numel() for p in plain.parameters())


def test_dynamic_flops_add_the_heads_passed():
    model = _model()
    x = _planes(6)
    thresholds = torch.tensor([0.0, 0.0, 2.0, 2.0, 2.0, 2.0])
    per_exit = dynamic_exit_flops(model)
    assert per_exit[0] == exit_flops(model)[0] and per_exit[-1] > exit_flops(model)[-1]
    assert count_flops(model.forward_dynamic, x, thresholds) == 2 * per_exit[0] + 4 * per_exit[-1]
