"""What each network has learnt, on one fixed set of positions (issue 14's diagnosis of the ablation):
the entropy of its deepest exit's policy (nats; a uniform policy over 82 actions has log 82 = 4.41),
the cross-entropy to the stored search targets, and the value's squared error to the game outcome.

    python results/ablation/probe.py --games runs/ab-old --last 50 CHECKPOINT...

The positions are every move of the last `--last` games stored in the run directory `--games`
(its embedded Redis, copied so the run is not touched). Prints a Markdown table."""
from __future__ import annotations

import argparse
import shutil
import tempfile
from pathlib import Path

import numpy as np


def positions(run: str, last: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Planes, search targets and outcomes (mover's view) of every move of `run`'s last `last` games."""
    from dpv.selfplay.records import decode
    from dpv.selfplay.store import EmbeddedRedis, GameStore
    from go_engine import Board

    with tempfile.TemporaryDirectory() as tmp:
        shutil.copytree(Path(run) / "redis", Path(tmp) / "redis")
        server = EmbeddedRedis(Path(tmp) / "redis")
        store = GameStore(server.url)
        n = store.num_games()
        games = [decode(data) for data in store.games(max(0, n - last), n)]
        server.close(save=False)
    planes, pi, z = [], [], []
    for game in games:
        board = Board(game.size, game.komi)
        for t in range(game.num_moves):
            planes.append(board.planes())
            pi.append(game.dense_pi(t))
            z.append(game.z(t))
            board.play(int(game.actions[t]))
    return np.stack(planes), np.stack(pi), np.asarray(z, np.float32)


def main() -> None:
    from dpv.nets.evaluator import Evaluator

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("checkpoints", nargs="+")
    parser.add_argument("--games", required=True, help="run directory whose stored games give the positions")
    parser.add_argument("--last", type=int, default=50, help="that many of its last games")
    args = parser.parse_args()
    planes, pi, z = positions(args.games, args.last)
    print(f"{len(z)} positions of the last {args.last} games of {args.games}; deepest exit\n")
    print("| checkpoint | policy entropy | cross-entropy to targets | value MSE to outcome |")
    print("|---|---:|---:|---:|")
    for checkpoint in args.checkpoints:
        evaluator = Evaluator.from_checkpoint(checkpoint)
        priors, values, _ = evaluator.evaluate(planes, evaluator.num_exits - 1)
        entropy = -(priors * np.log(priors + 1e-12)).sum(1).mean()
        cross = -(pi * np.log(priors + 1e-12)).sum(1).mean()
        print(f"| `{checkpoint}` | {entropy:.2f} | {cross:.2f} | {np.mean((values - z) ** 2):.3f} |")


if __name__ == "__main__":
    main()
