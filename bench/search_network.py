"""DPV-MCTS under an equal compute budget: the batched Cython search driven by the real DPV
network, one fixed exit at a time, every exit given the same FLOPs budget per move
(`sims x FLOPs(deepest exit)`, thesis ch. 6.2.3). The peer is the deepest exit (the AlphaZero
baseline), measured in the same run.

For each exit it prints simulations per move, network evaluations/s, wall time per move for
all G games, and the wall-time ratio against the deepest exit. Equal FLOPs mean equal wall
time only if the hardware runs each exit at its FLOPs share; the ratio says how far it does.

    python bench/search_network.py --quick                      # tiny net, CPU, seconds
    python bench/search_network.py --net configs/net-paper.yaml --games 256 --sims 100
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from dpv.nets.config import load_net_config
from dpv.nets.evaluator import Evaluator
from dpv.nets.model import DPVNet
from go_engine import BatchedSearch, ExitPolicy, Player, SearchConfig


def parse_args() -> argparse.Namespace:
    """Command-line options."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--net", default="net-paper", help="network preset name or config path")
    parser.add_argument("--games", type=int, default=64, help="G, games searched at once")
    parser.add_argument("--sims", type=float, default=100, help="budget in full-network simulations")
    parser.add_argument("--moves", type=int, default=4, help="moves timed per exit (after one warm-up move)")
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    parser.add_argument("--quick", action="store_true", help="tiny net, 16 games, 16 simulations")
    parser.add_argument("--json", type=Path, help="write the results here")
    args = parser.parse_args()
    if args.quick:
        args.net, args.games, args.sims, args.moves = "net-tiny", 16, 16, 2
    return args


def time_exit(evaluator: Evaluator, exit: int, args: argparse.Namespace) -> dict:
    """Search `args.moves` moves of G games from the empty board with every leaf at `exit`."""
    player = Player(simulations=args.sims, exit_policy=ExitPolicy.fixed(exit))
    config = SearchConfig(root_noise=True, reuse_tree=False)
    search = BatchedSearch(args.games, exit_flops=evaluator.exit_flops.tolist(), players=player,
                           config=config, seed=1)
    search.run_move(evaluator)  # warm-up: allocation, kernels, caches
    sims = evals = 0
    start = time.perf_counter()
    for _ in range(args.moves):
        for r in search.run_move(evaluator):
            sims += r.simulations
            evals += int(r.evals_per_exit.sum())
    if evaluator.device.type == "cuda":
        torch.cuda.synchronize()
    seconds = time.perf_counter() - start
    positions = args.moves * args.games
    return {"exit": exit, "sims_per_move": sims / positions, "evals_per_s": evals / seconds,
            "ms_per_move": 1e3 * seconds / args.moves}


def main() -> None:
    """Run every exit, print the table, optionally write JSON."""
    args = parse_args()
    cuda = args.device.startswith("cuda")
    evaluator = Evaluator(DPVNet(load_net_config(args.net)), device=args.device, channels_last=cuda)
    flops = evaluator.exit_flops
    print(f"{args.net} on {args.device}: G = {args.games}, budget {args.sims:g} full simulations per move, "
          f"{args.moves} moves timed per exit")
    rows = [time_exit(evaluator, k, args) for k in reversed(range(evaluator.num_exits))]
    baseline = rows[0]
    print(f"{'exit':>4} {'FLOPs share':>11} {'sims/move':>9} {'evals/s':>10} {'ms/move':>9} {'time vs deepest':>15}")
    for row in sorted(rows, key=lambda r: r["exit"]):
        row["flops_share"] = float(flops[row["exit"]] / flops[-1])
        row["time_vs_deepest"] = row["ms_per_move"] / baseline["ms_per_move"]
        print(f"{row['exit']:>4} {row['flops_share']:>11.1%} {row['sims_per_move']:>9.1f} {row['evals_per_s']:>10,.0f} "
              f"{row['ms_per_move']:>9.1f} {row['time_vs_deepest']:>15.2f}")
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps({"args": {k: str(v) for k, v in vars(args).items()}, "rows": rows}, indent=2))


if __name__ == "__main__":
    main()
