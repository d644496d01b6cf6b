"""Inference backends behind one interface: each gives fp32's priors and values within the gate's
bounds, the gate and the auto choice reject a broken one, unavailable ones are skipped."""
from __future__ import annotations

import asyncio
import io
import json
import typing

import numpy as np
import pytest
import torch

from dpv.config import ConfigError, read_config_file
from dpv.nets.backends import BACKEND_NAMES, BackendChoice, choice
from dpv.nets.backends.base import BackendUnavailable
from dpv.nets.backends.choice import FACTORIES, choose_backend, fp32_twin, regate
from dpv.nets.backends.gate import BOUNDS, binomial_tail, board_inputs, bounds_for, gate
from dpv.nets.backends.positions import random_game_boards, replay_boards
from dpv.nets.backends.torch_backend import TorchBackend
from dpv.nets.checkpoint import save_checkpoint
from dpv.nets.config import NetConfig
from dpv.nets.evaluator import Evaluator
from dpv.nets.model import DPVNet
from dpv.selfplay.inference import InferenceServer
from dpv.selfplay.packing import pack_planes

CFG = NetConfig(blocks=3, channels=8, exits=[1, 2, 3], value_hidden=16)
CPU = torch.device("cpu")


def _model(seed: int = 0) -> DPVNet:
    torch.manual_seed(seed)
    model = DPVNet(CFG)
    with torch.no_grad():  # BN statistics away from the identity, so folding has work to do
        for m in model.modules():
            if isinstance(m, torch.nn.BatchNorm2d):
                m.running_mean.uniform_(-0.2, 0.2)
                m.running_var.uniform_(0.5, 1.5)
                m.weight.uniform_(0.5, 1.5)
                m.bias.uniform_(-0.2, 0.2)
    return model.eval()


def _backend(name: str, model: DPVNet):
    """Every backend, bf16 ones included on a CPU without bf16 instructions (emulated: slow but
    correct, and this network is small); onnx-fp32 only where onnxruntime and onnx are installed."""
    if name.endswith("bf16"):
        return TorchBackend(name, model, CPU, bf16=True, channels_last=name.startswith("folded"),
                            fold=name.startswith("folded"))
    try:
        return FACTORIES[name](model, CPU, 1)
    except BackendUnavailable as why:
        pytest.skip(str(why))


@pytest.fixture(autouse=True, scope="module")
def one_thread():
    """One torch thread, as the server runs (and fast on shared CPUs)."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture
def quick(monkeypatch):
    """Short speed measurements: one round of 10 ms at batches 16 and 32."""
    monkeypatch.setattr(choice, "ROUNDS", 1)
    monkeypatch.setattr(choice, "ROUND_S", 0.01)
    monkeypatch.setattr(choice, "MEASURE_BATCHES", (16, 32))


@pytest.fixture(scope="module")
def inputs() -> tuple[np.ndarray, np.ndarray]:
    return board_inputs(random_game_boards(64, seed=3))


def _kl(p: np.ndarray, q: np.ndarray) -> float:
    return float(np.mean(np.sum(p * (np.log(np.maximum(p, 1e-30)) - np.log(np.maximum(q, 1e-30))), axis=1)))


@pytest.mark.parametrize("name", BACKEND_NAMES)
def test_every_backend_gives_fp32_priors_and_values_within_the_gate(name, inputs):
    planes, legal = inputs
    n = len(planes)
    reference = Evaluator(_model())
    model = _model()
    candidate = Evaluator(model, backend=_backend(name, model))
    bounds = bounds_for(name)
    for k in range(CFG.num_exits):
        p, v, _ = reference.evaluate(planes, exit=k)
        q, w, e = candidate.evaluate(planes, exit=k)
        assert (e == k).all() and q.dtype == np.float32 and w.shape == (n,)
        assert _kl(p, q) <= bounds.max_kl and np.abs(v - w).max() <= bounds.max_value_error
    thresholds = np.full(n, np.median(reference.evaluate(planes, exit=0)[0].max(1)), np.float32)
    p, v, e = reference(planes, thresholds, legal)
    q, w, f = candidate(planes, thresholds, legal)
    assert len(np.unique(e)) > 1  # rows leave at several exits
    same = e == f
    assert same.mean() >= bounds.min_same_exit
    assert _kl(p[same], q[same]) <= bounds.max_kl and np.abs(v[same] - w[same]).max() <= bounds.max_value_error
    mixed = np.where(np.arange(n) % 2 == 0, -1, np.arange(n) % CFG.num_exits)  # fixed and dynamic rows in one call
    np.testing.assert_array_equal(candidate(planes, thresholds, legal, mixed)[2][mixed >= 0], mixed[mixed >= 0])


@pytest.mark.parametrize("name", ["folded-fp32", "onnx-fp32", "openvino-fp32"])
def test_new_weights_rebuild_the_backend(name, inputs):
    planes, _ = inputs
    model = _model(0)
    evaluator = Evaluator(model, backend=_backend(name, model))
    evaluator.load_state_dict(_model(1).state_dict())
    np.testing.assert_allclose(evaluator.evaluate(planes, exit=2)[0], Evaluator(_model(1)).evaluate(planes, exit=2)[0],
                               rtol=1e-4, atol=1e-6)


def test_new_weights_quantize_the_int8_backend_again(inputs):
    planes, _ = inputs
    model = _model(0)
    evaluator = Evaluator(model, backend=_backend("openvino-int8", model))
    evaluator.load_state_dict(_model(1).state_dict())
    q = evaluator.evaluate(planes, exit=2)[0]
    new, old = Evaluator(_model(1)).evaluate(planes, exit=2)[0], Evaluator(_model(0)).evaluate(planes, exit=2)[0]
    assert _kl(new, q) <= bounds_for("openvino-int8").max_kl < _kl(old, q)


def test_promoted_weights_are_gated_again_before_the_backend_answers(tmp_path, monkeypatch, quick, inputs, capsys):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))  # a fresh cache: gated at start
    monkeypatch.setattr(choice, "GATE_S", 0.0)  # on the fewest positions (256)
    save_checkpoint(tmp_path / "best.pt", _model(0))
    server = InferenceServer(str(tmp_path / "best.pt"), "cpu", backend="folded-fp32")
    planes, _ = inputs
    n = len(planes)

    async def promote_and_evaluate():
        await server.set_weights(_model(1).state_dict(), 1)  # a second network's weights
        return await server.evaluate(pack_planes(planes), np.ones(n, np.float32), None, np.full(n, 2)), \
            await server.stats()

    (priors, values, _, version), stats = asyncio.run(promote_and_evaluate())
    expected, expected_values, _ = Evaluator(_model(1)).evaluate(planes, exit=2)
    np.testing.assert_allclose(priors, expected, rtol=1e-4, atol=1e-6)
    np.testing.assert_allclose(values, expected_values, atol=1e-5)
    assert version == 1 and (stats.swaps, stats.backend) == (1, "folded-fp32")
    lines = [line for line in capsys.readouterr().err.splitlines() if "gated again" in line]
    assert len(lines) == 1 and lines[0].startswith("dpv: inference backend folded-fp32 gated again on the weights "
                                                   "of v1 (") and "passed the gate on 256 positions" in lines[0]


def _offset_logits(seed: int) -> dict:
    """Weights whose policy logits carry an offset of 1,000 (softmax ignores it, bf16 rounds such
    logits to steps of 4)."""
    weights = _model(seed).state_dict()
    for key in weights:
        if ".policy." in key and key.endswith("bias") and len(weights[key]) == CFG.num_actions:
            weights[key] = weights[key] + 1000.0
    return weights


def test_a_backend_that_fails_on_new_weights_falls_back_to_fp32():
    """bf16 (emulated here) passes on the untrained network; on offset logits it fails the gate,
    and torch fp32 answers instead when no other candidate is left."""
    model = _model(0)
    reference, bf16 = Evaluator(model), Evaluator(model, backend=_backend("torch-bf16", model))
    boards = random_game_boards(256, seed=9)
    log = io.StringIO()
    assert regate(reference, [bf16], boards, "test", 0, log=log) is bf16
    bf16.load_state_dict(_offset_logits(1))
    assert regate(reference, [bf16], boards, "test", 1, log=log) is reference
    passed, failed = log.getvalue().splitlines()
    assert passed.startswith("dpv: inference backend torch-bf16 gated again on the weights of v0")
    assert failed.startswith("dpv: inference backend torch-bf16 falls back to torch-fp32 on the weights of v1 (")
    assert "FAILED the gate on 256 positions (test)" in failed


def test_a_bf16_backend_that_fails_falls_back_to_its_fp32_twin_before_torch_fp32():
    model = _model(0)
    reference = Evaluator(model)
    bf16, twin = (Evaluator(model, backend=_backend(name, model)) for name in ("folded-bf16", "folded-fp32"))
    assert fp32_twin("folded-bf16") == twin.backend.name
    boards = random_game_boards(256, seed=9)
    log = io.StringIO()
    for candidate in (bf16, twin):
        candidate.load_state_dict(_offset_logits(1))
    assert regate(reference, [bf16, twin], boards, "test", 1, log=log) is twin
    failed, passed = log.getvalue().splitlines()
    assert failed.startswith("dpv: inference backend folded-bf16 falls back to folded-fp32 on the weights of v1 (")
    assert passed.startswith("dpv: inference backend folded-fp32 gated again on the weights of v1 (")


def test_fp32_twin_is_the_full_precision_backend_of_the_same_kind():
    assert fp32_twin("folded-bf16") == "folded-fp32"
    assert fp32_twin("openvino-int8") == "openvino-fp32"
    assert fp32_twin("torch-bf16") is None  # its twin is the reference, which answers last anyway
    assert fp32_twin("folded-fp32") is None and fp32_twin("onnx-fp32") is None
    assert fp32_twin("folded-bf16", {"torch-fp32": None}) is None  # not available here


def test_same_move_fails_only_when_the_searches_show_a_share_below_the_bound():
    """One-sided binomial test at 5 % of "share >= 95 %" (hand-computed tails: P(X >= 3 | 16, 0.05)
    = 0.043, P(X >= 2) = 0.189; P(X >= 7 | 64, 0.05) = 0.040, P(X >= 6) = 0.100)."""
    assert binomial_tail(0, 16, 0.05) == pytest.approx(1.0)
    assert binomial_tail(1, 16, 0.05) == pytest.approx(1 - 0.95**16)
    assert binomial_tail(3, 16, 0.05) == pytest.approx(0.0429, abs=1e-4)
    assert [BOUNDS.same_move_ok(agreed, 16) for agreed in (16, 15, 14, 13)] == [True, True, True, False]
    assert [BOUNDS.same_move_ok(agreed, 64) for agreed in (58, 57)] == [True, False]
    assert BOUNDS.same_move_ok(0, 0)


class Broken(TorchBackend):
    """A backend that answers at once and wrongly: uniform priors and zero values."""

    def __init__(self, model: DPVNet, device: torch.device, threads: int) -> None:
        super().__init__("broken", model, device)

    def forward_exit(self, x, exit):
        return x.new_zeros(len(x), CFG.num_actions), x.new_zeros(len(x))

    def forward_dynamic(self, x, thresholds, legal):
        n = len(x)
        return x.new_zeros(n, CFG.num_actions), x.new_zeros(n), torch.full((n,), CFG.num_exits - 1)


def test_gate_passes_a_correct_backend_and_fails_a_broken_one():
    model = _model()
    boards = random_game_boards(128, seed=5)
    reference = Evaluator(model)
    folded = gate(reference, Evaluator(model, backend=FACTORIES["folded-fp32"](model, CPU, 1)), boards, "test",
                  searches=16, simulations=8)
    assert folded.passed and folded.kl < 1e-6 and folded.same_move == 1.0, folded.summary()
    broken = gate(reference, Evaluator(model, backend=Broken(model, CPU, 1)), boards, "test", searches=0)
    assert not broken.passed and broken.kl > BOUNDS.max_kl and broken.same_move is None
    assert "FAILED" in broken.summary() and "128 positions (test)" in broken.summary()


def test_auto_never_picks_a_backend_that_fails_the_gate(tmp_path, quick):
    model = _model()
    factories = {"torch-fp32": FACTORIES["torch-fp32"], "folded-fp32": FACTORIES["folded-fp32"], "broken": Broken}
    boards = random_game_boards(32, seed=7)
    cache = tmp_path / "backends.json"
    for _ in range(2):  # measured and gated, then from the cache
        log = io.StringIO()
        chosen = choose_backend(model, CPU, 1, "auto", boards, "test", cache=cache, factories=factories, log=log)
        assert chosen.name != "broken"
        assert "inference backend broken skipped: broken: FAILED the gate" in log.getvalue()
        assert log.getvalue().count("\n") == 2  # the broken one skipped, the choice
        assert log.getvalue().splitlines()[1].startswith(f"dpv: inference backend {chosen.name}, ")
    entry = next(iter(json.loads(cache.read_text()).values()))
    assert entry["ranking"][0] == "broken" and entry["passed"]["broken"] is False  # fastest, and refused


def test_unavailable_backend_is_skipped_with_one_line(tmp_path, quick):
    def unavailable(model, device, threads):
        raise BackendUnavailable("its package is not installed")

    for requested in ("gone", "auto"):
        log = io.StringIO()
        chosen = choose_backend(_model(), CPU, 1, requested, factories={"torch-fp32": FACTORIES["torch-fp32"],
                                                                         "gone": unavailable},
                                cache=tmp_path / "backends.json", log=log)
        assert chosen.name == "torch-fp32"
        skipped, choice_line = log.getvalue().splitlines()
        assert skipped == "dpv: inference backend gone skipped: its package is not installed"
        assert choice_line.startswith("dpv: inference backend torch-fp32")
    with pytest.raises(ValueError, match="unknown inference backend 'nope'"):
        choose_backend(_model(), CPU, 1, "nope")


def test_replayed_games_give_their_positions():
    boards = replay_boards([[40, 41, 81], [0]], 3)
    assert [b.move_count for b in boards] == [0, 1, 2]
    assert replay_boards([[40, 41], [0]], 10)[2].move_count == 0  # the second game's empty board


def test_config_names_every_backend(tmp_path):
    from dpv.selfplay.config import load_selfplay_config

    assert typing.get_args(BackendChoice) == ("auto", *BACKEND_NAMES) and set(BACKEND_NAMES) == set(FACTORIES)
    _, data = read_config_file("local")
    assert load_selfplay_config("local").server.backend == "auto"
    for value, ok in (("onnx-fp32", True), ("onnx", False)):
        data["server"]["backend"] = value
        path = tmp_path / "run.yaml"
        path.write_text(json.dumps(data))
        if ok:
            assert load_selfplay_config(path).server.backend == value
        else:
            with pytest.raises(ConfigError, match=r"'server.backend' must be one of \['auto', 'torch-fp32'"):
                load_selfplay_config(path)
