"""The numpy evaluator contract the search calls."""
import numpy as np
import pytest
import torch

from dpv.nets.checkpoint import save_checkpoint
from dpv.nets.config import NetConfig
from dpv.nets.evaluator import Evaluator
from dpv.nets.flops import exit_flops
from dpv.nets.model import DPVNet

CFG = NetConfig(blocks=3, channels=8, exits=[1, 2, 3], value_hidden=16)


@pytest.fixture(scope="module")
def evaluator() -> Evaluator:
    torch.manual_seed(0)
    return Evaluator(DPVNet(CFG))


def _planes(n: int) -> np.ndarray:
    return (np.random.default_rng(0).random((n, 17, 9, 9)) < 0.3).astype(np.float32)


def _check_contract(result, n):
    priors, values, exits = result
    assert priors.dtype == np.float32 and priors.shape == (n, 82)
    assert values.dtype == np.float32 and values.shape == (n,)
    assert exits.dtype == np.int32 and exits.shape == (n,)
    np.testing.assert_allclose(priors.sum(1), 1, rtol=1e-5)
    assert np.all(np.abs(values) <= 1)


def test_contract_types_and_fixed_exits(evaluator):
    planes = _planes(10)
    assert not evaluator.model.training
    for k in range(3):
        fixed = evaluator.evaluate(planes, exit=k)
        _check_contract(fixed, 10)
        assert (fixed[2] == k).all()
    dynamic = evaluator(planes, np.full(10, 1.5, np.float32))
    _check_contract(dynamic, 10)
    assert (dynamic[2] == 2).all()
    np.testing.assert_allclose(dynamic[0], evaluator.evaluate(planes, exit=2)[0], rtol=1e-5, atol=1e-6)
    assert (evaluator(planes, np.zeros(10, np.float32))[2] == 0).all()
    assert (evaluator(planes, 0.0)[2] == 0).all()  # a scalar threshold applies to every leaf
    np.testing.assert_array_equal(evaluator.exit_flops, exit_flops(evaluator.model))


def test_legal_mask_renormalises_confidence(evaluator):
    planes = _planes(3)
    legal = np.zeros((3, 82), bool)
    legal[:, 81] = True
    priors, _, exits = evaluator(planes, np.full(3, 0.99, np.float32), legal)
    assert (exits == 0).all()
    # Priors stay the softmax over all actions; the search renormalises over legal moves.
    np.testing.assert_allclose(priors, evaluator.evaluate(planes, exit=0)[0], rtol=1e-5, atol=1e-6)


def test_bad_inputs_are_one_line_errors(evaluator):
    with pytest.raises(ValueError, match=r"planes must have shape \[n, 17, 9, 9\]"):
        evaluator(np.zeros((2, 16, 9, 9), np.float32), np.zeros(2, np.float32))
    with pytest.raises(ValueError, match="thresholds must have shape"):
        evaluator(_planes(2), np.zeros(3, np.float32))
    with pytest.raises(ValueError, match="legal must have shape"):
        evaluator(_planes(2), np.zeros(2, np.float32), np.ones((2, 81), bool))
    with pytest.raises(ValueError, match="exit must be in 0..2"):
        evaluator.evaluate(_planes(1), exit=3)


def test_from_checkpoint(tmp_path):
    torch.manual_seed(0)
    model = DPVNet(CFG)
    save_checkpoint(tmp_path / "m.pt", model)
    loaded = Evaluator.from_checkpoint(tmp_path / "m.pt")
    planes = _planes(4)
    np.testing.assert_allclose(loaded.evaluate(planes, exit=1)[1], Evaluator(model).evaluate(planes, exit=1)[1],
                               rtol=1e-6)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
@pytest.mark.parametrize("fast", [False, True], ids=["fp32", "bf16-channels-last"])
def test_cuda_dynamic_matches_fixed_exits(fast):
    torch.manual_seed(0)
    evaluator = Evaluator(DPVNet(CFG), "cuda", bf16=fast, channels_last=fast)
    planes = _planes(64)
    fixed = [evaluator.evaluate(planes, exit=k) for k in range(3)]
    thresholds = np.full(64, np.median(fixed[0][0].max(1)), np.float32)
    priors, values, exits = evaluator(planes, thresholds)
    _check_contract((priors, values, exits), 64)
    tol = dict(rtol=5e-2, atol=5e-3) if fast else dict(rtol=1e-3, atol=1e-4)  # bf16 / TF32 kernels
    for k in range(3):
        rows = exits == k
        np.testing.assert_allclose(priors[rows], fixed[k][0][rows], **tol)
        np.testing.assert_allclose(values[rows], fixed[k][1][rows], **tol)
    assert (evaluator(planes, np.zeros(64, np.float32))[2] == 0).all()
    assert (evaluator(planes, np.full(64, 1.5, np.float32))[2] == 2).all()
