"""`dpv model-card`: the card's numbers come from the checkpoint and the JSON a real `dpv arena`
match against GNU Go wrote; matches of one (opponent, level, exit, simulations, budget) are one strength row,
issue 15's table says "not measured" where no match was played; the lineage comes from the checkpoint
or the run's lineage.json; a rating.json's Elo table marks the card's network by its bytes; bad inputs are one line."""
from __future__ import annotations

import dataclasses
import json

import pytest
import torch

from dpv.arena.stats import wilson_interval
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
    opponent = gnugo.removesuffix(" --level 1")  # the fixture's GNU Go plays level 1
    row = (f"| `{opponent}` | 1 | 1 | 3 | equal-flops | 2 | {a['wins']} "
           f"| {report['a_win_rate']:.0%} [{low:.0%}, {high:.0%}] | {a['seconds_per_move']:.2f} "
           f"| `{match / 'match.json'}` |")
    assert row in card
    assert "| preset | `net-tiny`: 6 residual blocks x 32 channels, 9x9, exits after blocks 2, 4, 6 |" in card
    assert "| learner steps | 77 |" in card and "| self-play games seen by its learner | 456 |" in card
    assert "| `/runs/first/best.pt` | - | 300 | 1200 | - | - |" in card


def match_json(path, level: int | None, exit: str, sims: float, wins: int, games: int, moves: int, seconds: float,
               budget: str = "equal-flops"):
    """A match.json as `dpv arena` writes it (the fields the card reads) of the network against GNU Go."""
    gnugo = "/usr/games/gnugo --mode gtp" + ("" if level is None else f" --level {level}") + " --capture-all-dead"
    path.parent.mkdir(parents=True)
    path.write_text(json.dumps({
        "games": games, "budget": budget, "draws": 0, "a_win_rate": wins / games,
        "a_win_rate_wilson95": list(wilson_interval(wins, games)),
        "a": {"name": f"exit={exit} sims={sims:g}", "exit": exit, "simulations": sims, "wins": wins, "moves": moves,
              "seconds_per_move": seconds},
        "b": {"name": gnugo, "exit": "-1", "simulations": 100.0, "wins": games - wins, "moves": 0,
              "seconds_per_move": None}}))
    return path


def test_matches_of_one_opponent_level_exit_sims_and_budget_are_one_row_and_the_issue_table_names_the_gaps(
        model, tmp_path):
    files = [match_json(tmp_path / "a" / "match.json", 1, "-1", 200.0, 10, 40, 1000, 0.2),
             # exit 2 of 3 is the deepest, where equal sims and equal FLOPs agree
             match_json(tmp_path / "b" / "match.json", 1, "2", 200.0, 20, 40, 3000, 0.6, budget="equal-sims"),
             match_json(tmp_path / "c" / "match.json", None, "0", 800.0, 3, 40, 2000, 1.0),  # GNU Go's default: 10
             match_json(tmp_path / "d" / "match.json", None, "0", 800.0, 1, 40, 2000, 0.5, budget="equal-sims")]
    card = tmp_path / "card.md"
    assert main(["model-card", str(model), "--ratings", *map(str, files), "--out", str(card)]) == 0
    text = card.read_text()
    low, high = wilson_interval(30, 80)
    opponent = "`/usr/games/gnugo --mode gtp --capture-all-dead`"
    # 30 / 80 games; seconds per move over the moves: (1000 x 0.2 + 3000 x 0.6) / 4000 = 0.5
    assert (f"| {opponent} | 1 | 2 | 200 | - | 80 | 30 | {30 / 80:.0%} [{low:.0%}, {high:.0%}] | 0.50 "
            f"| `{files[0]}`, `{files[1]}` |") in text
    assert f"| {opponent} | 10 | 0 | 800 | equal-flops | 40 | 3 | 8% " in text
    assert f"| {opponent} | 10 | 0 | 800 | equal-sims | 40 | 1 | 2% " in text
    cell = f"30 / 80, {30 / 80:.0%} [{low:.0%}, {high:.0%}]"
    flops, sims = wilson_interval(3, 40), wilson_interval(1, 40)
    assert f"| 2 (deepest) | {cell} |{' not measured |' * 5}" in text
    assert (f"| 0 | - | not measured | - | not measured | - "
            f"| 3 / 40, 8% [{flops[0]:.0%}, {flops[1]:.0%}] (equal FLOPs); "
            f"1 / 40, 2% [{sims[0]:.0%}, {sims[1]:.0%}] (equal sims) |") in text
    assert "| 1 | - | not measured | - | not measured | - | not measured |" in text
    assert "![Win rate against GNU Go by level and by exit](card-strength.png)" in text
    assert (tmp_path / "card-strength.png").read_bytes()[:4] == b"\x89PNG"


def test_the_lineage_of_a_network_trained_from_another_comes_from_its_run(tmp_path):
    """best.pt of a run started with --init-from carries no lineage: the run's lineage.json (real code) has it."""
    from dpv.digest import file_sha256
    from dpv.selfplay.init_from import write_initial
    from dpv.selfplay.rundir import RunDir

    net = load_net_config("net-tiny")
    parent, run = tmp_path / "parent.pt", RunDir(tmp_path / "run")
    save_checkpoint(parent, DPVNet(net), step=300, extra={"games": 1200})
    run.checkpoints.mkdir(parents=True)
    grown = dataclasses.replace(net, ownership_head=True)
    write_initial(run.root, run.initial, grown, seed=0, init_from=str(parent))
    save_checkpoint(run.best, DPVNet(grown), step=50, extra={"games": 64})
    (run.root / "summary.json").write_text(json.dumps({"games": 64, "learner_step": 50, "seconds": 360.0}))
    card = tmp_path / "card.md"
    assert main(["model-card", str(run.best), "--runs", str(run.root), "--out", str(card)]) == 0
    digest = file_sha256(parent)[:12]  # names the network after the path holds another
    assert f"| `{parent.resolve()}` | {digest} | 300 | 1200 | - | ownership_head |" in card.read_text()


def test_a_resumed_runs_hours_and_cpu_hours_are_those_of_every_session(model, tmp_path):
    run = tmp_path / "run"
    run.mkdir()
    (run / "config.yaml").write_text("seed: 0\n")
    (run / "summary.json").write_text(json.dumps({"games": 20, "learner_step": 200, "seconds": 1800.0}))  # last session
    events = [{"time": 0, "event": "start"},
              {"time": 3600, "event": "train", "step": 100, "games": 10, "cpu_s": 7200},
              {"time": 10000, "event": "start"},
              {"time": 11800, "event": "train", "step": 200, "games": 20, "cpu_s": 3600}]
    (run / "metrics.jsonl").write_text("".join(json.dumps(e) + "\n" for e in events))
    card = tmp_path / "card.md"
    assert main(["model-card", str(model), "--runs", str(run), "--out", str(card)]) == 0
    assert "| random weights | 20 | 200 | 1.50 | 3.00 |" in card.read_text()


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


def test_the_elo_section_lists_a_rating_s_checkpoints_and_marks_the_card_s_network(model, tmp_path):
    from dpv.digest import file_sha256
    from dpv.rating.report import FORMAT

    def checkpoint(name: str, sha256: str, step: int, elo: float) -> dict:
        return {"id": f"runs/r:{name}", "name": name, "sha256": sha256, "step": step, "selfplay_games": step // 3,
                "cpu_hours": step / 1000, "elo": elo, "se": 50.0}

    rating = tmp_path / "rate" / "rating.json"
    rating.parent.mkdir()
    rating.write_text(json.dumps({
        "format": FORMAT, "pinned": {"id": "gnugo --level 1", "elo": 0.0},
        "settings": {"games": 20, "simulations": 200},
        "runs": [{"run": "runs/r", "checkpoints": [checkpoint("step-00000100", "0" * 64, 300, -120.0),
                                                    checkpoint("step-00000200", file_sha256(model), 600, 35.0)]}]}))
    card = tmp_path / "card.md"
    assert main(["model-card", str(model), "--ratings", str(rating), "--out", str(card)]) == 0
    text = card.read_text()
    assert "| `runs/r` | step-00000100 | 300 | 100 | 0.30 | -120 | 50 |" in text
    assert "| `runs/r` | **step-00000200 (this network)** | 600 | 200 | 0.60 | 35 | 50 |" in text
    assert "![Elo against self-play CPU-hours](rate/rating.png)" in text
