"""The default network: a given checkpoint, else the newest runs/**/best.pt, else the shipped network of
the models folder (DPV_MODELS_DIR here), else a fresh one; a damaged shipped network is a one-line error."""
from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
import torch

from dpv.cli import main
from dpv.nets.checkpoint import CheckpointError, load_checkpoint, save_checkpoint
from dpv.nets.config import load_net_config
from dpv.nets.model import DPVNet
from dpv.play.networks import (
    DEFAULT_NET,
    MODELS_DIR_ENV,
    SHIPPED_NETWORK,
    default_network,
    models_dir,
    shipped_network_path,
)

ROOT = Path(__file__).resolve().parents[2]


def write_network(path: Path, preset: str = DEFAULT_NET, step: int = 0) -> Path:
    """A freshly initialised network of `preset` saved at `path` with `step`."""
    path.parent.mkdir(parents=True, exist_ok=True)
    torch.manual_seed(step)
    save_checkpoint(path, DPVNet(load_net_config(preset)), step=step)
    return path


@pytest.fixture
def models(tmp_path, monkeypatch) -> Path:
    """An empty models folder the lookup reads (DPV_MODELS_DIR)."""
    folder = tmp_path / "models"
    folder.mkdir()
    monkeypatch.setenv(MODELS_DIR_ENV, str(folder))
    return folder


def test_the_models_folder_is_the_checkout_s_without_the_variable(monkeypatch):
    monkeypatch.delenv(MODELS_DIR_ENV, raising=False)
    assert models_dir() == ROOT / "models"
    assert shipped_network_path() == ROOT / "models" / SHIPPED_NETWORK


def test_lookup_order_given_then_runs_then_shipped_then_fresh(models, tmp_path, capsys):
    fresh, runs = tmp_path / "fresh.pt", tmp_path / "runs"
    assert default_network(None, fresh, runs=runs) == str(fresh)
    assert load_checkpoint(fresh).extra == {"fresh": True}
    assert "freshly initialised (untrained) net-four network" in capsys.readouterr().err
    shipped = write_network(models / SHIPPED_NETWORK, step=7)
    assert default_network(None, tmp_path / "other.pt", runs=runs) == str(shipped)
    assert f"network: {shipped} (the shipped network" in capsys.readouterr().err
    assert not (tmp_path / "other.pt").exists()
    best = write_network(runs / "r1" / "best.pt", step=3)
    assert default_network(None, fresh, runs=runs) == str(best)
    given = write_network(tmp_path / "given.pt", step=5)
    assert default_network(str(given), fresh, runs=runs) == str(given)


@pytest.mark.parametrize("damage", ["truncated", "not a checkpoint", "another preset"])
def test_a_damaged_shipped_network_is_a_one_line_error(damage, models, tmp_path, monkeypatch, capsys):
    shipped = models / SHIPPED_NETWORK
    if damage == "truncated":
        data = write_network(tmp_path / "whole.pt").read_bytes()
        shipped.write_bytes(data[: len(data) // 2])
    elif damage == "not a checkpoint":
        shipped.write_text("weights: none\n")
    else:
        write_network(shipped, preset="net-tiny")
    with pytest.raises(CheckpointError, match=f"the shipped network is not a usable {DEFAULT_NET} network"):
        default_network(None, tmp_path / "fresh.pt", runs=tmp_path / "runs")
    monkeypatch.chdir(tmp_path)
    assert main(["arena", "--exits", "0,3", "--games", "2", "--workers", "0", "--out", str(tmp_path / "m")]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("dpv arena: error: the shipped network is not") and "\n" not in err and str(shipped) in err


def test_arena_exits_0_3_runs_on_the_default_network_without_runs(ray_session, tmp_path, monkeypatch, capsys):
    """The user's command, from a directory without runs/: the shipped network when the checkout
    has one, else a fresh net-four network. Two short games on the session's Ray (e2e)."""
    monkeypatch.delenv(MODELS_DIR_ENV, raising=False)
    monkeypatch.chdir(tmp_path)
    argv = ["arena", "--exits", "0,3", "--games", "2", "--sims", "2", "--max-moves", "20",
            "--out", str(tmp_path / "match"), "--json"]
    assert main(argv) == 0
    captured = capsys.readouterr()
    report = json.loads(captured.out)
    assert report["games"] == 2 and report["a"]["wins"] + report["b"]["wins"] + report["draws"] == 2
    shipped = ROOT / "models" / SHIPPED_NETWORK
    expected = f"{shipped} (the shipped network" if shipped.is_file() else "freshly initialised (untrained) net-four"
    assert expected in captured.err
    assert not os.path.exists(tmp_path / "runs")
