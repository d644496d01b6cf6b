"""`dpv launch selfplay --init-from`: version 0 is the source's weights, the lineage is recorded and
chained across runs, a run whose net adds auxiliary heads grows them from fresh initialisation, and a
checkpoint of another net config is a one-line error naming both."""
from __future__ import annotations

import dataclasses
import json

import pytest
import torch
import yaml

from dpv.cli import main
from dpv.config import from_dict
from dpv.digest import file_sha256
from dpv.nets.checkpoint import load_checkpoint, save_checkpoint
from dpv.nets.config import NetConfig
from dpv.nets.model import DPVNet
from dpv.selfplay.config import SelfPlayConfig
from dpv.selfplay.init_from import LINEAGE_FILE, write_initial
from dpv.selfplay.rundir import RunDir

NET = NetConfig(blocks=2, channels=8, exits=[1, 2], value_hidden=16)


def trained_run(root, step: int, games: int):
    """A run directory whose best.pt is a network at `step` that had seen `games` games."""
    run = RunDir(root)
    run.checkpoints.mkdir(parents=True)
    torch.manual_seed(step)
    save_checkpoint(run.best, DPVNet(NET), step, extra={"games": games})
    return run


def same_weights(a, b) -> bool:
    return all(torch.equal(x, y) for x, y in zip(a.model.state_dict().values(), b.model.state_dict().values()))


def test_version_0_is_the_source_and_the_lineage_chains(tmp_path):
    first = trained_run(tmp_path / "first", step=300, games=1200)
    second = RunDir(tmp_path / "second")
    second.checkpoints.mkdir(parents=True)
    write_initial(second.root, second.initial, NET, seed=0, init_from=str(first.best))
    initial = load_checkpoint(second.initial)
    assert initial.step == 0 and same_weights(initial, load_checkpoint(first.best))
    lineage = json.loads((second.root / LINEAGE_FILE).read_text())["lineage"]
    assert lineage == [{"source": str(first.best.resolve()), "sha256": file_sha256(first.best), "steps": 300,
                        "games": 1200, "cpu_hours": None, "grown_heads": []}]
    assert initial.extra["lineage"] == lineage
    save_checkpoint(second.best, initial.model, 40, extra={"games": 96})  # the second run trained on
    third = RunDir(tmp_path / "third")
    third.checkpoints.mkdir(parents=True)
    write_initial(third.root, third.initial, NET, seed=0, init_from=str(second.best))
    chained = json.loads((third.root / LINEAGE_FILE).read_text())["lineage"]
    assert chained == [*lineage, {"source": str(second.best.resolve()), "sha256": file_sha256(second.best),
                                  "steps": 40, "games": 96, "cpu_hours": None, "grown_heads": []}]


def test_without_init_from_version_0_is_random_and_no_lineage(tmp_path):
    run = RunDir(tmp_path / "run")
    run.checkpoints.mkdir(parents=True)
    write_initial(run.root, run.initial, NET, seed=3, init_from=None)
    torch.manual_seed(3)
    expected = DPVNet(NET).state_dict().values()
    assert all(torch.equal(x, y) for x, y in zip(load_checkpoint(run.initial).model.state_dict().values(), expected))
    assert not (run.root / LINEAGE_FILE).exists()


@pytest.mark.parametrize("heads", [("ownership_head",), ("ownership_head", "score_head")])
def test_a_net_with_heads_the_checkpoint_lacks_grows_them_fresh_and_says_so(tmp_path, capsys, heads):
    source = trained_run(tmp_path / "first", step=300, games=1200).best
    grown = dataclasses.replace(NET, **dict.fromkeys(heads, True))
    run = RunDir(tmp_path / "second")
    run.checkpoints.mkdir(parents=True)
    write_initial(run.root, run.initial, grown, seed=5, init_from=str(source))
    initial = load_checkpoint(run.initial, model=DPVNet(grown))
    weights, old = initial.model.state_dict(), load_checkpoint(source).model.state_dict()
    assert all(torch.equal(weights[key], value) for key, value in old.items())  # every weight it had, loaded
    torch.manual_seed(5)
    fresh = DPVNet(grown).state_dict()  # the heads it lacked: the run's seeded initialisation
    new = set(weights) - set(old)
    assert {key.split(".")[2] for key in new} == {h.removesuffix("_head") for h in heads}
    assert all(torch.equal(weights[key], fresh[key]) for key in new)
    err = capsys.readouterr().err.strip()
    assert "\n" not in err and f"--init-from {source} has no {' and no '.join(heads)}" in err
    lineage = json.loads((run.root / LINEAGE_FILE).read_text())["lineage"]
    assert lineage[-1]["grown_heads"] == list(heads) and initial.extra["lineage"] == lineage


def test_heads_are_grown_not_dropped_and_other_differences_stay_errors(tmp_path):
    run = RunDir(tmp_path / "run")
    run.checkpoints.mkdir(parents=True)
    headed, wider = tmp_path / "headed.pt", tmp_path / "wider.pt"
    save_checkpoint(headed, DPVNet(dataclasses.replace(NET, ownership_head=True)), 10)
    with pytest.raises(ValueError, match="'ownership_head' is True in the checkpoint, False in the network"):
        write_initial(run.root, run.initial, NET, seed=0, init_from=str(headed))
    save_checkpoint(wider, DPVNet(dataclasses.replace(NET, channels=16)), 10)  # heads added, and wider
    with pytest.raises(ValueError, match="'channels' is 16 in the checkpoint, 8 in the network"):
        write_initial(run.root, run.initial, dataclasses.replace(NET, score_head=True), seed=0, init_from=str(wider))
    assert not run.initial.exists() and not (run.root / LINEAGE_FILE).exists()


def test_another_net_config_is_one_line_naming_both(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    source = trained_run(tmp_path / "first", step=10, games=64).best
    config = tmp_path / "wider.yaml"
    config.write_text(yaml.safe_dump({"net": {"blocks": 2, "channels": 16, "exits": [1, 2], "value_hidden": 16}}))
    assert main(["launch", "selfplay", "--config", str(config), "--init-from", str(source),
                 "--run-dir", str(tmp_path / "run")]) == 2
    err = capsys.readouterr().err.strip()
    assert "\n" not in err and f"--init-from {source} does not fit the net of {config}" in err
    assert "'channels' is 8 in the checkpoint, 16 in the network" in err
    assert not (tmp_path / "run").exists()
    assert main(["launch", "selfplay", "--config", str(config), "--init-from", str(tmp_path / "none.pt")]) == 2
    assert "\n" not in capsys.readouterr().err.strip()


def test_a_run_started_from_a_checkpoint_plays_its_weights(ray_session, tmp_path):
    """A real short run on the session's Ray (e2e): its version 0 and best.pt are the source's weights;
    the model card of its best.pt reads the run's command and a real `dpv rate` of it."""
    from dpv.selfplay.launch import launch

    source = trained_run(tmp_path / "first", step=300, games=1200).best
    cfg = from_dict(SelfPlayConfig, {
        "net": {"board_size": 9, "blocks": 2, "channels": 8, "exits": [1, 2], "value_hidden": 16},
        "search": {"simulations": 4, "max_moves": 20, "leaves_per_tree": 2},
        "server": {"device": "cpu"}, "worker": {"workers": 1, "games": 3, "pipelines": 1},
        "learner": {"min_games": 1000, "device": "cpu"}, "metrics": {"port": None}}, source="test")
    run = RunDir(tmp_path / "second")
    summary = launch(cfg, run.root, max_games=3, quiet=True, init_from=str(source))
    assert summary.games >= 3 and summary.best_version == 0
    for version_0 in (run.initial, run.best):
        assert same_weights(load_checkpoint(version_0), load_checkpoint(source))
    assert json.loads((run.root / LINEAGE_FILE).read_text())["lineage"][0]["steps"] == 300
    rate = tmp_path / "rate"  # and reads its Elo row from the rating.json of a real `dpv rate`
    assert main(["rate", str(run.root), "--anchor", "rollout", "--games", "2", "--sims", "2", "--checkpoints", "best",
                 "--workers", "0", "--max-moves", "20", "--out", str(rate)]) == 0
    card = tmp_path / "card.md"  # the card of a network of this run names the command that ran it
    assert main(["model-card", str(run.best), "--runs", str(run.root), "--ratings", str(rate / "rating.json"),
                 "--out", str(card)]) == 0
    rated = json.loads((rate / "rating.json").read_text())["runs"][0]["checkpoints"][-1]
    text = card.read_text()
    # the card's network is best.pt, the rated checkpoint's bytes: its row is marked
    assert f"| **{rated['name']} (this network)** | {rated['step']} | " in text and "](rate/rating.png)" in text
    assert f" | {rated['elo']:.0f} | {rated['se']:.0f} |" in text
    games = json.loads(run.summary.read_text())["games"]
    command = f"dpv launch selfplay --config {run.config} --init-from {source.resolve()}"
    assert f"| `{command}` ([config](second/config.yaml)) | {source.resolve()} | {games} | 0 |" in text
