"""`dpv demo` (what `make demo` runs): self-play games on local defaults.

G games are played at once through the batched Cython search, every leaf answered by the
tiny DPV network (untrained unless a checkpoint is given), with root noise and a temperature
schedule as in self-play. It shows progress on the terminal and writes one SGF per game, with
the root value, simulations and exits used in each move's comment. Training, the replay buffer
and gating come with `dpv launch selfplay`.
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

from dpv.play.exits import parse_exit_policy
from dpv.progress import Progress


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the `demo` subcommand."""
    parser = subparsers.add_parser("demo", help="play self-play games with the search and the tiny network")
    parser.add_argument("--games", type=int, default=16, help="games played at once (default 16)")
    parser.add_argument("--sims", type=float, default=64, help="budget per move in full-network simulations")
    parser.add_argument("--exit", default="-1", help="exit policy: an exit index (-1 = deepest) or dynamic:TAU0,ALPHA")
    parser.add_argument("--net", default="net-tiny", help="network config (ignored with --checkpoint)")
    parser.add_argument("--checkpoint", help="play with a trained network instead of a fresh one")
    parser.add_argument("--out", default="runs/demo", help="directory for the SGF files")
    parser.add_argument("--seed", type=int, default=0)
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    """Play the games, print progress, write the SGFs and a summary."""
    import torch

    from dpv.nets.config import load_net_config
    from dpv.nets.evaluator import Evaluator
    from dpv.nets.model import DPVNet
    from go_engine import BatchedSearch, Player, SearchConfig

    if args.games < 1 or args.sims < 1:
        raise ValueError("--games and --sims must be at least 1")
    policy = parse_exit_policy(args.exit)
    torch.manual_seed(args.seed)
    torch.set_num_threads(max(1, torch.get_num_threads()))
    device = "cuda" if torch.cuda.is_available() else "cpu"
    if args.checkpoint:
        evaluator = Evaluator.from_checkpoint(args.checkpoint, device=device)
        source = args.checkpoint
    else:
        evaluator = Evaluator(DPVNet(load_net_config(args.net)), device=device)
        source = f"{args.net} (untrained)"
    print(f"dpv demo: {args.games} games, {args.sims:g} simulations/move, exit policy {args.exit}, "
          f"network {source} on {device}", file=sys.stderr)

    player = Player(simulations=args.sims, exit_policy=policy)
    config = SearchConfig(root_noise=True, temperature=1.0, temperature_moves=16)
    search = BatchedSearch(args.games, exit_flops=evaluator.exit_flops.tolist(), players=player,
                           config=config, seed=args.seed)
    progress = Progress()
    comments: list[list[str]] = [[] for _ in range(args.games)]
    exits_used = np.zeros(evaluator.num_exits, dtype=np.int64)
    start, positions = time.perf_counter(), 0
    while search.active_games():
        for r in search.run_move(evaluator):
            comments[r.game].append(f"value {r.root_value:+.3f}; {r.simulations} simulations; "
                                    f"evaluations per exit {r.evals_per_exit.tolist()}")
            exits_used += r.evals_per_exit
            positions += 1
        elapsed = time.perf_counter() - start
        done = args.games - len(search.active_games())
        progress.update(f"  games {done}/{args.games}  positions {positions}  {positions / elapsed:.1f} positions/s  "
                        f"{exits_used.sum() / elapsed:,.0f} evaluations/s")
    progress.close()
    results = write_games(search, comments, Path(args.out), args.games)
    black_wins = sum(r.startswith("B") for r in results)
    print(f"{args.games} games in {time.perf_counter() - start:.1f} s: black won {black_wins}, "
          f"white {args.games - black_wins}; evaluations per exit {exits_used.tolist()}; "
          f"SGF in {args.out}/")
    return 0


def write_games(search, comments: list[list[str]], out: Path, games: int) -> list[str]:
    """Write game g of `search` to `out/game-g.sgf`; returns the SGF results."""
    from dpv.sgf import GameRecord, format_score, write_sgf_file

    out.mkdir(parents=True, exist_ok=True)
    results = []
    for g in range(games):
        board = search.board(g)
        moves = list(board.history)
        if board.is_over():
            result = format_score(board.score())
        else:  # the side to move resigned
            result = f"{'W' if board.to_play == 1 else 'B'}+R"
        record = GameRecord(size=board.size, komi=board.komi, moves=moves, comments=comments[g][: len(moves)],
                            result=result, black="dpv demo", white="dpv demo")
        write_sgf_file(out / f"game-{g:03d}.sgf", record)
        results.append(result)
    return results
