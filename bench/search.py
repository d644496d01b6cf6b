"""Benchmark of go_engine.search on 9x9 from the empty board, against OpenSpiel in the same run.

    .venv/bin/python bench/search.py [--sims 800] [--moves 20] [--games 256] [--big-moves 1]

Three comparisons, each printed as per-simulation cost in microseconds and a ratio:

1. Rollouts: our search with one uniformly random playout per leaf (go_engine.rollout,
   OpenSpiel's playout policy) vs OpenSpiel's C++ `pyspiel.MCTSBot` with
   `RandomRolloutEvaluator(1, seed)`, same simulations per move.
2. Tree overhead: our search with the numpy UniformEvaluator vs OpenSpiel's pure-Python
   `MCTSBot` with a zero-value, uniform-prior evaluator; our PUCT rows, then the same with the
   Gumbel root (`SearchConfig(root="gumbel")`: sequential halving, deterministic selection below).
3. Memory: bytes per tree node and peak RSS of --games trees at --sims simulations per move.

Ours runs at G = 1 and G = --games. Tree reuse is off for the timings (OpenSpiel's bots build a
new tree each move); a simulation is one leaf visit, the root's evaluation included. The
OpenSpiel peers run in subprocesses under `.venv-openspiel` (`open_spiel==2.0.2`, created on
first use), the memory probe in a fresh subprocess of ours.
"""
from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PEER_VENV = ROOT / ".venv-openspiel"
PEER_PYTHON = PEER_VENV / "bin" / "python"
OPENSPIEL = "open_spiel==2.0.2"
sys.path.insert(0, str(ROOT))   # go_engine built in place, installed or not


# ----------------------------------------------------------------------------- peers

def peer_openspiel(kind: str, sims: int, moves: int, seed: int) -> dict[str, float]:
    """Run inside .venv-openspiel: `moves` moves of self-play from the empty 9x9 board."""
    import numpy as np
    import pyspiel
    from open_spiel.python.algorithms import mcts

    game = pyspiel.load_game("go", {"board_size": 9, "komi": 7.5})
    if kind == "cpp":
        bot = pyspiel.MCTSBot(game, pyspiel.RandomRolloutEvaluator(1, seed), 2.0, sims,
                              1000, False, seed, False)
    else:
        class ZeroEvaluator(mcts.Evaluator):
            """Value 0 for both players, uniform priors over the legal actions."""

            def evaluate(self, state):
                return np.zeros(2)

            def prior(self, state):
                legal = state.legal_actions()
                return [(a, 1.0 / len(legal)) for a in legal]

        bot = mcts.MCTSBot(game, 2.0, sims, ZeroEvaluator(), solve=False,
                           random_state=np.random.RandomState(seed),
                           child_selection_fn=mcts.SearchNode.puct_value)
    state = game.new_initial_state()
    start = time.perf_counter()
    played = 0
    while played < moves and not state.is_terminal():
        state.apply_action(bot.step(state))
        played += 1
    seconds = time.perf_counter() - start
    return {"seconds": seconds, "simulations": played * sims}


def ensure_peer_venv() -> None:
    """Create .venv-openspiel with open_spiel from PyPI if it is missing."""
    if PEER_PYTHON.exists():
        return
    print(f"creating {PEER_VENV} with {OPENSPIEL} ...", flush=True)
    subprocess.run([sys.executable, "-m", "venv", str(PEER_VENV)], check=True)
    subprocess.run([str(PEER_PYTHON), "-m", "pip", "install", "--quiet", OPENSPIEL], check=True)


def run_subprocess(python: Path | str, args: list[str]) -> dict:
    """Run this script with `args` under `python`; its last stdout line is a JSON object."""
    out = subprocess.run([str(python), str(Path(__file__).resolve()), *args],
                         check=True, capture_output=True, text=True, cwd=ROOT)
    return json.loads(out.stdout.strip().splitlines()[-1])


# ----------------------------------------------------------------------------- ours

def ours(evaluator_kind: str, games: int, sims: int, moves: int, seed: int, root: str = "puct") -> dict[str, float]:
    """`moves` moves of self-play in `games` concurrent games with our search (`root`: puct or gumbel)."""
    from go_engine.evaluators import UniformEvaluator
    from go_engine.rollout import RolloutEvaluator
    from go_engine.search import BatchedSearch
    from go_engine.search_types import Player, SearchConfig

    if evaluator_kind == "rollout":
        evaluator = RolloutEvaluator(1, seed=seed, fill_own_eyes=True)
    else:
        evaluator = UniformEvaluator()
    config = SearchConfig(temperature_moves=0, reuse_tree=False, root=root)
    search = BatchedSearch(games, config=config, players=Player(sims), seed=seed)
    simulations = 0
    start = time.perf_counter()
    for _ in range(moves):
        if not search.active_games():
            break
        # a leaf visit below the root, or the root's own evaluation (reuse is off)
        simulations += sum(r.simulations + 1 for r in search.run_move(evaluator))
    seconds = time.perf_counter() - start
    return {"seconds": seconds, "simulations": simulations}


def peak_rss_kib() -> int:
    """Peak resident set of this process in KiB (VmHWM: unlike ru_maxrss, not inherited
    from the parent across exec)."""
    for text in Path("/proc/self/status").read_text().splitlines():
        if text.startswith("VmHWM:"):
            return int(text.split()[1])
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


def memory_probe(games: int, sims: int, seed: int) -> dict[str, float]:
    """Peak RSS and tree sizes after one move of `games` searches at `sims` simulations."""
    from go_engine.evaluators import UniformEvaluator
    from go_engine.search import NODE_BYTES, BatchedSearch
    from go_engine.search_types import Player, SearchConfig

    before = peak_rss_kib()
    search = BatchedSearch(games, config=SearchConfig(temperature_moves=0), players=Player(sims), seed=seed)
    search.search(UniformEvaluator())
    infos = [search.tree_info(g) for g in range(games)]
    peak = peak_rss_kib()
    nodes = sum(i["nodes"] for i in infos)
    allocated = sum(i["bytes"] for i in infos)
    return {"node_bytes": NODE_BYTES, "nodes": nodes, "allocated_bytes": allocated,
            "rss_before_kib": before, "peak_rss_kib": peak}


# ----------------------------------------------------------------------------- report

def per_sim_us(r: dict[str, float]) -> float:
    return 1e6 * r["seconds"] / max(1, r["simulations"])


def line(label: str, r: dict[str, float], peer: dict[str, float] | None = None) -> str:
    text = f"  {label:<44} {per_sim_us(r):9.2f} us/sim  {r['simulations'] / r['seconds']:10.0f} sims/s"
    if peer is not None:
        text += f"   {per_sim_us(peer) / per_sim_us(r):6.1f}x faster than the peer"
    return text


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sims", type=int, default=800, help="simulations per move")
    parser.add_argument("--moves", type=int, default=20, help="moves played at G = 1 and by the peers")
    parser.add_argument("--games", type=int, default=256, help="G of the batched runs")
    parser.add_argument("--big-moves", type=int, default=1, help="moves played at G = --games")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--peer", choices=["cpp", "python"], help=argparse.SUPPRESS)
    parser.add_argument("--probe", choices=["memory"], help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.peer:
        print(json.dumps(peer_openspiel(args.peer, args.sims, args.moves, args.seed)))
        return
    if args.probe:
        print(json.dumps(memory_probe(args.games, args.sims, args.seed)))
        return

    ensure_peer_venv()
    common = ["--sims", str(args.sims), "--moves", str(args.moves), "--seed", str(args.seed)]
    print(f"9x9 from the empty board, {args.sims} simulations per move")

    comparisons = [
        ("1. one random playout per leaf", "cpp", "OpenSpiel C++ MCTSBot + RandomRolloutEvaluator(1)",
         "rollout", "RolloutEvaluator", ("puct",)),
        ("2. tree overhead (no playouts)", "python", "OpenSpiel Python MCTSBot + zero evaluator",
         "uniform", "UniformEvaluator", ("puct", "gumbel")),
    ]
    for title, peer_kind, peer_name, evaluator, evaluator_name, roots in comparisons:
        print(title)
        peer = run_subprocess(PEER_PYTHON, ["--peer", peer_kind, *common])
        print(line(peer_name, peer))
        for root in roots:
            name = f"{evaluator_name}, {root} root"
            print(line(f"ours, G = 1, {name}", ours(evaluator, 1, args.sims, args.moves, args.seed, root), peer))
            print(line(f"ours, G = {args.games}, {name}",
                       ours(evaluator, args.games, args.sims, args.big_moves, args.seed, root), peer))

    print(f"3. memory, G = {args.games} trees after one move at {args.sims} simulations")
    mem = run_subprocess(sys.executable, ["--probe", "memory", "--games", str(args.games), *common])
    print(f"  node struct {mem['node_bytes']} bytes; {mem['nodes'] / args.games:.0f} nodes per tree; "
          f"{mem['allocated_bytes'] / mem['nodes']:.1f} bytes allocated per node; "
          f"trees {mem['allocated_bytes'] / 2**20:.1f} MiB; peak RSS {mem['peak_rss_kib'] / 1024:.0f} MiB "
          f"({mem['rss_before_kib'] / 1024:.0f} MiB before the search)")


if __name__ == "__main__":
    main()
