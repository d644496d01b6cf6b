"""Checkpoint round trip, atomic writes and one-line errors for bad files; `dpv model-info`."""
import pytest
import torch

from dpv.cli import main
from dpv.nets.checkpoint import CheckpointError, load_checkpoint, save_checkpoint
from dpv.nets.config import LossConfig, NetConfig
from dpv.nets.flops import exit_flops
from dpv.nets.loss import deep_supervision_loss
from dpv.nets.model import DPVNet

CFG = NetConfig(blocks=2, channels=8, exits=[1, 2], value_hidden=16)


def _trained(steps: int = 2):
    torch.manual_seed(0)
    model = DPVNet(CFG)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
    x, pi, z = torch.rand(4, 17, 9, 9), torch.rand(4, 82).softmax(1), torch.zeros(4)
    for _ in range(steps):
        optimizer.zero_grad()
        deep_supervision_loss(model(x), pi, z, LossConfig(), model).total.backward()
        optimizer.step()
    return model, optimizer


def test_round_trip(tmp_path):
    model, optimizer = _trained()
    path = tmp_path / "run" / "last.pt"
    save_checkpoint(path, model, step=7, optimizer=optimizer, extra={"games": 12})
    assert [p.name for p in path.parent.iterdir()] == ["last.pt"]  # no temp file left behind

    loaded = load_checkpoint(path)
    assert loaded.model.config == CFG and loaded.step == 7 and loaded.extra == {"games": 12}
    assert loaded.exit_flops == exit_flops(model)
    for a, b in zip(model.state_dict().values(), loaded.model.state_dict().values()):
        assert torch.equal(a, b)

    fresh = DPVNet(CFG)
    fresh_optimizer = torch.optim.SGD(fresh.parameters(), lr=0.01, momentum=0.9)
    load_checkpoint(path, model=fresh, optimizer=fresh_optimizer)
    assert torch.equal(fresh.heads[0].policy[-1].weight, model.heads[0].policy[-1].weight)
    momentum = [s["momentum_buffer"] for s in optimizer.state_dict()["state"].values()]
    restored = [s["momentum_buffer"] for s in fresh_optimizer.state_dict()["state"].values()]
    assert all(torch.equal(a, b) for a, b in zip(momentum, restored))


def test_overwrite_is_atomic_replace(tmp_path):
    model, _ = _trained(1)
    path = tmp_path / "best.pt"
    save_checkpoint(path, model, step=1)
    save_checkpoint(path, model, step=2)
    assert load_checkpoint(path).step == 2
    assert sorted(p.name for p in tmp_path.iterdir()) == ["best.pt"]


def _one_line_error(path, **kwargs) -> str:
    with pytest.raises(CheckpointError) as info:
        load_checkpoint(path, **kwargs)
    message = str(info.value)
    assert str(path) in message and "\n" not in message
    return message


def test_corrupt_and_foreign_files(tmp_path):
    model, _ = _trained(1)
    good = tmp_path / "good.pt"
    save_checkpoint(good, model)
    truncated = tmp_path / "truncated.pt"
    truncated.write_bytes(good.read_bytes()[: good.stat().st_size // 2])
    assert "not a readable checkpoint" in _one_line_error(truncated)
    garbage = tmp_path / "garbage.pt"
    garbage.write_text("hello")
    assert "not a readable checkpoint" in _one_line_error(garbage)
    foreign = tmp_path / "foreign.pt"
    torch.save({"state_dict": model.state_dict()}, foreign)
    assert "not a dpv-net/1 checkpoint" in _one_line_error(foreign)
    assert "no such checkpoint" in _one_line_error(tmp_path / "missing.pt")


def test_mismatches(tmp_path):
    model, optimizer = _trained(1)
    path = tmp_path / "ckpt.pt"
    save_checkpoint(path, model)
    other = DPVNet(NetConfig(blocks=2, channels=16, exits=[1, 2], value_hidden=16))
    message = _one_line_error(path, model=other)
    assert "'channels' is 8 in the checkpoint, 16 in the network" in message
    assert "no optimizer state" in _one_line_error(path, model=DPVNet(CFG), optimizer=optimizer)

    payload = torch.load(path, weights_only=True)
    del payload["model"]["stem.0.weight"]
    torch.save(payload, path)
    assert "weights do not match" in _one_line_error(path)
    payload["net_config"]["blocks"] = "two"
    torch.save(payload, path)
    assert "'net_config.blocks' must be int" in _one_line_error(path)


def test_model_info_command(tmp_path, monkeypatch, capsys):
    """`dpv model-info` on a checkpoint, on a damaged file (one line, exit 2) and, from another
    directory, on the paper preset by name (the FLOPs of Table 6.1)."""
    model, _ = _trained(1)
    path = tmp_path / "ckpt.pt"
    save_checkpoint(path, model, step=3)
    assert main(["model-info", "--checkpoint", str(path)]) == 0
    out = capsys.readouterr().out
    assert "(step 3)" in out and "100.0%" in out
    bad = tmp_path / "bad.pt"
    bad.write_text("nope")
    assert main(["model-info", "--checkpoint", str(bad)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and str(bad) in err
    monkeypatch.chdir(tmp_path)
    assert main(["model-info", "--config", "net-paper"]) == 0
    out = capsys.readouterr().out
    assert "2.900e+08" in out and "40.3%" in out and "7.199e+08" in out
