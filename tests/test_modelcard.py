"""`dpv model-card`: the card's numbers come from the checkpoint and the JSON a real `dpv arena`
match against GNU Go wrote; bad inputs are one line."""
from __future__ import annotations

import json

import pytest
import torch

from dpv.cli import main
from dpv.nets.checkpoint import save_checkpoint
from dpv.nets.config import load_net_config
from dpv.nets.model import DPVNet


@pytest.fixture
def model(tmp_path):
    """A net-tiny network that records its training counts and one ancestor."""
    path = tmp_path / "models" / "dpv-test.pt"
    path.parent.mkdir()
    torch.manual_seed(0)
    lineage = [{"source": "/runs/first/best.pt", "steps": 300, "games": 1200, "cpu_hours": None}]
    save_checkpoint(path, DPVNet(load_net_config("net-tiny")), step=77, extra={"games": 456, "lineage": lineage})
    return path


def test_the_card_reads_every_number_from_the_match_json(gnugo, model, tmp_path, capsys):
    match = tmp_path / "vs-gnugo"
    assert main(["arena", "--opponent", gnugo, "--checkpoint", str(model), "--a", "sims=3,exit=1", "--games", "2",
                 "--workers", "0", "--out", str(match)]) == 0
    report = json.loads((match / "match.json").read_text())
    assert report["a"]["seconds_per_move"] > 0 and report["b"]["seconds_per_move"] is None  # GNU Go is not timed
    assert main(["model-card", str(model), "--ratings", str(match / "match.json")]) == 0
    card = model.with_suffix(".md").read_text()
    a, (low, high) = report["a"], report["a_win_rate_wilson95"]
    row = (f"| `{report['b']['name']}` | 1 | 3 | {a['wins']} / 2 | {report['a_win_rate']:.0%} [{low:.0%}, {high:.0%}] "
           f"| {a['seconds_per_move']:.2f} | `{match / 'match.json'}` |")
    assert row in card
    assert "| preset | `net-tiny`: 6 residual blocks x 32 channels, 9x9, exits after blocks 2, 4, 6 |" in card
    assert "| learner steps | 77 |" in card and "| self-play games seen by its learner | 456 |" in card
    assert "| `/runs/first/best.pt` | 300 | 1200 | - |" in card


@pytest.mark.parametrize("bad", ["missing", "not json", "other json"])
def test_a_bad_ratings_file_is_one_line(bad, model, tmp_path, capsys):
    path = tmp_path / "r.json"
    if bad == "not json":
        path.write_text("{")
    elif bad == "other json":
        path.write_text('{"games": 3}')
    assert main(["model-card", str(model), "--ratings", str(path)]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith(f"dpv model-card: error: {path}") and "\n" not in err
    assert not model.with_suffix(".md").exists()


def test_a_damaged_model_is_one_line(tmp_path, capsys):
    model = tmp_path / "dpv-four.pt"
    model.write_bytes(b"not a checkpoint")
    assert main(["model-card", str(model), "--ratings", str(tmp_path / "none.json")]) == 2
    assert "\n" not in capsys.readouterr().err.strip()
