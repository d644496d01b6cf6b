"""`dpv rate` over a run directory built here (tiny checkpoints, no self-play): what is read from
the run (steps, games, hours over sessions, CPUs), which checkpoints are chosen, the whole
command against a network anchor, against GNU Go and `rollout`, resuming from finished
pairings, and one-line errors for bad input."""
from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
import torch

from dpv.cli import main
from dpv.nets.checkpoint import save_checkpoint
from dpv.nets.config import NetConfig
from dpv.nets.model import DPVNet
from dpv.rating.plan import anchor_contestant, plan_pairings
from dpv.rating.runs import chain_lineage, read_run
from dpv.selfplay.init_from import LINEAGE_FILE, write_initial

TINY = NetConfig(blocks=1, channels=4, exits=[1], value_hidden=8)
START = 1_800_000_000.0


def event(time: float, kind: str, **data) -> str:
    return json.dumps({"time": time, "event": kind, **data})


def make_run(root: Path, placement: bool = True, cpu_s: tuple[float | None, ...] = (None,) * 3, seed: int = 0) -> Path:
    """A run directory as `dpv launch selfplay` leaves it: initial.pt, step-10 and step-20 (networks
    seeded from `seed`, step-20 promoted to best.pt), metrics.jsonl over two sessions (a --resume
    after an hour's pause), summary.json with two workers' placement; `cpu_s` recorded (None: not)
    in the first train line, the progress line and the second train line."""
    run = root / "run"
    (run / "checkpoints").mkdir(parents=True)
    for k, (name, games) in enumerate((("initial", 0), ("step-00000010", 40), ("step-00000020", 90))):
        torch.manual_seed(seed + k)
        save_checkpoint(run / "checkpoints" / f"{name}.pt", DPVNet(TINY), step=10 * k, extra={"games": games})
    shutil.copyfile(run / "checkpoints" / "step-00000020.pt", run / "best.pt")
    cpu = [{} if value is None else {"cpu_s": value} for value in cpu_s]
    lines = [event(START, "start", resume=False), event(START + 1800, "train", step=10, games=40, **cpu[0]),
             event(START + 3600, "progress", games=50, **cpu[1]), event(START + 7200, "start", resume=True),
             event(START + 7200 + 900, "train", step=20, games=90, **cpu[2]), '{"time": 1, "event": "tra']
    (run / "metrics.jsonl").write_text("\n".join(lines) + "\n")
    (run / "config.yaml").write_text("net:\n  board_size: 9\nworker:\n  workers: 3\n")
    if placement:
        where = {"resources": {"CPU": 1.0}, "node_id": "n", "ip": "127.0.0.1", "gpu_ids": [], "device": None}
        (run / "summary.json").write_text(json.dumps(
            {"placement": {"worker-0": where, "worker-1": where, "learner": {**where, "resources": {}}}}))
    return run


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory) -> Path:
    return make_run(tmp_path_factory.mktemp("rate"))


@pytest.fixture(scope="module")
def anchor_net(run_dir) -> str:
    """A tiny network outside the run, the anchor of the fast tests."""
    torch.manual_seed(99)
    path = run_dir.parent / "anchor.pt"
    save_checkpoint(path, DPVNet(TINY))
    return str(path)


def rate(capsys, *argv: str) -> tuple[int, str, str]:
    code = main(["rate", *argv])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


FAST = ("--games", "2", "--sims", "2", "--workers", "0", "--max-moves", "24")


def test_a_run_s_checkpoints_carry_steps_games_and_hours_summed_over_sessions(run_dir, tmp_path):
    run = read_run(run_dir)
    assert [(c.name, c.step, c.selfplay_games) for c in run.checkpoints] == [
        ("initial", 0, 0), ("step-00000010", 10, 40), ("step-00000020", 20, 90)]
    assert [c.best for c in run.checkpoints] == [False, False, True]
    assert run.checkpoints[-1].path.endswith("step-00000020.pt")  # best.pt is played from the file it copies
    # session 1 ran an hour (its last line at +3600 s), session 2 had run 900 s at step 20
    assert [c.wall_hours for c in run.checkpoints] == pytest.approx([0.0, 0.5, 1.25])
    assert run.cpus == 2.0 and "summary.json placement" in run.cpu_source
    assert [c.cpu_hours for c in run.checkpoints] == pytest.approx([0.0, 1.0, 2.5])
    fallback = read_run(make_run(tmp_path, placement=False))
    assert fallback.cpus == 3.0 and "worker.workers" in fallback.cpu_source


def test_recorded_cpu_seconds_are_preferred_summed_over_sessions_and_all_or_none(tmp_path):
    run = read_run(make_run(tmp_path / "a", cpu_s=(3600.0, 5400.0, 1800.0)))
    assert "recorded by the run" in run.cpu_source
    # session 1 used 5400 CPU s to its last line, session 2 had used 1800 at step 20
    assert [c.cpu_hours for c in run.checkpoints] == pytest.approx([0.0, 1.0, 2.0])
    mixed = read_run(make_run(tmp_path / "b", cpu_s=(3600.0, 5400.0, None)))  # a session that recorded none
    assert "summary.json placement" in mixed.cpu_source
    assert [c.cpu_hours for c in mixed.checkpoints] == pytest.approx([0.0, 1.0, 2.5])


def test_a_lineage_counts_steps_games_and_hours_on_from_the_checkpoint_it_started_from(run_dir, tmp_path):
    second_dir = make_run(tmp_path / "b", seed=10)  # a second session's run, started from step-10 of the first
    initial = second_dir / "checkpoints" / "initial.pt"
    write_initial(second_dir, initial, TINY, seed=0, init_from=str(run_dir / "checkpoints" / "step-00000010.pt"))
    first, second = chain_lineage([read_run(second_dir), read_run(run_dir)])  # parents first, whatever the order
    assert first == read_run(run_dir)
    # its initial.pt holds step-10's weights, which the first run rates: left out
    assert [(c.name, c.step) for c in second.checkpoints] == [("step-00000010", 20), ("step-00000020", 30)]
    assert [c.selfplay_games for c in second.checkpoints] == [80, 130]
    assert [c.wall_hours for c in second.checkpoints] == pytest.approx([1.0, 1.75])
    assert [c.cpu_hours for c in second.checkpoints] == pytest.approx([2.0, 3.5])
    assert f"counted on from {run_dir}:step-00000010 (--lineage)" in second.cpu_source
    parent = run_dir / "checkpoints" / "step-00000010.pt"
    shipped = tmp_path / "shipped.pt"  # the same network, copied out of its run (as models/ holds it)
    shipped.write_bytes(parent.read_bytes())
    third_dir = make_run(tmp_path / "c", seed=11)
    write_initial(third_dir, third_dir / "checkpoints" / "initial.pt", TINY, seed=0, init_from=str(shipped))
    shipped.write_bytes(b"another network shipped since")
    _, third = chain_lineage([read_run(run_dir), read_run(third_dir)])
    assert [c.step for c in third.checkpoints] == [20, 30]  # found by the digest recorded at --init-from
    assert f"counted on from {run_dir}:step-00000010 (--lineage)" in third.cpu_source
    alone = chain_lineage([read_run(second_dir)])[0]  # the parent run not rated: lineage.json's numbers
    assert [(c.step, c.selfplay_games, c.cpu_hours) for c in alone.checkpoints] == [
        (10, 40, None), (20, 80, None), (30, 130, None)]
    assert chain_lineage([first]) == [first]  # a run from random weights is a lineage's start
    chosen = [(run, run.select("2")) for run in (first, second)]
    anchor = anchor_contestant("rollout", simulations=2)
    names = [(p.a.id.split("/")[-1], p.b.id.split("/")[-1]) for p in plan_pairings(chosen, [anchor], lineage=True)]
    assert names == [("run:initial", "rollout"), ("run:initial", "run:step-00000020"),
                     ("run:step-00000020", "rollout"), ("run:step-00000020", "run:step-00000010"),
                     ("run:step-00000010", "rollout"), ("run:step-00000010", "run:step-00000020"),
                     ("run:step-00000020", "rollout")]
    assert len(plan_pairings(chosen, [anchor])) == 6  # apart, the runs meet only through the anchors
    lineage = json.loads((second_dir / LINEAGE_FILE).read_text())
    lineage["lineage"][-1]["grown_heads"] = ["score_head"]
    (second_dir / LINEAGE_FILE).write_text(json.dumps(lineage))
    grown = chain_lineage([read_run(run_dir), read_run(second_dir)])[1]
    assert [c.step for c in grown.checkpoints] == [10, 20, 30]  # heads grown on step-10's weights: another network
    (second_dir / LINEAGE_FILE).write_text('{"lineage": [{"steps": 3}]}')
    with pytest.raises(ValueError, match=f"damaged {LINEAGE_FILE}"):
        read_run(second_dir)


def test_dpv_rate_lineage_plots_the_runs_as_one_curve(run_dir, anchor_net, tmp_path, capsys):
    second_dir = make_run(tmp_path / "b", seed=10)
    write_initial(second_dir, second_dir / "checkpoints" / "initial.pt", TINY, seed=0,
                  init_from=str(run_dir / "best.pt"))
    out = tmp_path / "rating"
    code, _, err = rate(capsys, str(run_dir), str(second_dir), "--lineage", "--anchor", anchor_net,
                        "--checkpoints", "best", *FAST, "--out", str(out))
    assert code == 0 and "counted on from" in err
    data = json.loads((out / "rating.json").read_text())
    assert data["lineage"] is True
    assert [(c["step"], c["selfplay_games"], c["cpu_hours"]) for run in data["runs"] for c in run["checkpoints"]] == [
        (20, 90, pytest.approx(2.5)), (40, 180, pytest.approx(5.0))]
    assert (out / "rating.png").stat().st_size > 1000


def test_checkpoints_are_chosen_every_best_or_n_spread_over_the_steps(run_dir):
    run = read_run(run_dir)
    assert [c.name for c in run.select("every")] == ["initial", "step-00000010", "step-00000020"]
    assert [c.name for c in run.select("best")] == ["step-00000020"]
    assert [c.name for c in run.select("2")] == ["initial", "step-00000020"]
    with pytest.raises(ValueError, match="every, best or a number >= 2"):
        run.select("1")


def test_dpv_rate_against_a_network_writes_json_markdown_and_png_and_resumes(run_dir, anchor_net, tmp_path, capsys):
    out = tmp_path / "rating"
    code, stdout, err = rate(capsys, str(run_dir), "--anchor", anchor_net, "--anchor-elo", "100",
                             "--checkpoints", "every", *FAST, "--out", str(out))
    assert code == 0
    data = json.loads((out / "rating.json").read_text())
    assert data["pinned"] == {"id": anchor_net, "elo": 100.0}
    assert data["anchors"][0]["elo"] == 100.0 and data["anchors"][0]["se"] == 0.0
    checkpoints = data["runs"][0]["checkpoints"]
    assert [c["step"] for c in checkpoints] == [0, 10, 20]
    assert [c["cpu_hours"] for c in checkpoints] == pytest.approx([0.0, 1.0, 2.5])
    # three checkpoints x the anchor, and initial-step10, step10-step20: 5 pairings of 2 games
    assert len(data["pairings"]) == 5 and all(p["games"] == 2 for p in data["pairings"])
    assert [c["rated_games"] for c in checkpoints] == [4, 6, 4]
    for entry in checkpoints:
        assert entry["se"] > 0 and abs(entry["elo"] - 100) < 2000
    assert (out / "rating.png").stat().st_size > 1000
    markdown = (out / "rating.md").read_text()
    assert markdown == stdout
    assert "| step-00000020 (best) | 20 | 90 | 2.50 | 4 |" in markdown
    assert "0 read back" in err and "5 to play" in err and "[8/10 games, ETA" in err

    # resume: a finished pairing is read back, not played (its made-up result is kept)
    first = Path(data["pairings"][0]["folder"])
    result = json.loads((first / "pairing.json").read_text())
    result["a_points"] = 0.0 if data["pairings"][0]["a_points"] else 2.0
    (first / "pairing.json").write_text(json.dumps(result))
    sgf_times = {p: p.stat().st_mtime_ns for p in out.glob("pairings/*/*.sgf")}
    code, _, err = rate(capsys, str(run_dir), "--anchor", anchor_net, "--anchor-elo", "100",
                        "--checkpoints", "every", *FAST, "--out", str(out))
    assert code == 0 and "5 read back" in err and "0 to play" in err
    again = json.loads((out / "rating.json").read_text())
    assert again["pairings"][0]["a_points"] == result["a_points"]
    assert {p: p.stat().st_mtime_ns for p in out.glob("pairings/*/*.sgf")} == sgf_times

    # other settings are other games: a new budget plays everything again
    code, _, err = rate(capsys, str(run_dir), "--anchor", anchor_net, "--anchor-elo", "100", "--checkpoints", "best",
                        *FAST, "--sims", "3", "--out", str(out))
    assert code == 0 and "0 read back" in err and "1 to play" in err


def test_dpv_rate_against_gnu_go_and_rollout(gnugo, run_dir, tmp_path, capsys):
    """The external anchors: GNU Go (pinned) and `rollout` (served by `dpv gtp`), 2 games each at 1 simulation."""
    out = tmp_path / "rating"
    anchor = f"{gnugo} --capture-all-dead"
    code, stdout, _ = rate(capsys, str(run_dir), "--anchor", anchor, "--anchor", "rollout", "--checkpoints", "best",
                           "--games", "2", "--sims", "1", "--workers", "0", "--out", str(out))
    assert code == 0
    data = json.loads((out / "rating.json").read_text())
    assert [(p["b"], p["games"]) for p in data["pairings"]] == [(anchor, 2), ("rollout", 2)]
    assert [(a["kind"], a["pinned"]) for a in data["anchors"]] == [("gtp", True), ("gtp", False)]
    assert data["anchors"][0]["elo"] == 0.0 and data["anchors"][1]["se"] > 0
    for pairing in data["pairings"]:
        match = json.loads((Path(pairing["folder"]) / "match.json").read_text())
        assert [g["a_colour"] for g in match["game_list"]] == ["black", "white"]
        assert all(g["final_scores"]["referee"] == g["result"] for g in match["game_list"])
    assert f"| `{anchor}` | 2 |" in stdout and "(pinned)" in stdout


@pytest.mark.parametrize("make_input, message", [
    (lambda tmp: tmp, "no checkpoints (checkpoints/initial.pt, checkpoints/step-*.pt or best.pt)"),
    (lambda tmp: tmp / "missing", "no such run directory"),
])
def test_a_run_dir_without_checkpoints_is_a_one_line_error(tmp_path, capsys, make_input, message):
    code, _, err = rate(capsys, str(make_input(tmp_path)), "--anchor", "rollout")  # fails before the anchor starts
    assert code == 2 and message in err and len(err.strip().splitlines()) == 1


def test_an_anchor_that_does_not_start_is_a_one_line_error_before_any_game(run_dir, tmp_path, capsys):
    out = tmp_path / "rating"
    code, _, err = rate(capsys, str(run_dir), "--anchor", "/nonexistent/gnugo --mode gtp", "--out", str(out))
    assert code == 2 and len(err.strip().splitlines()) == 1
    assert "anchor '/nonexistent/gnugo --mode gtp' does not start: cannot start GTP engine" in err
    assert not out.exists()
    code, _, err = rate(capsys, str(run_dir), "--anchor", str(tmp_path / "nothing.pt"))
    assert code == 2 and "no such checkpoint" in err and len(err.strip().splitlines()) == 1
