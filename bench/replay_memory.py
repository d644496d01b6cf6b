"""Memory of the replay buffer: bytes per stored position and the RSS of a ReplayBuffer holding
1,000,000 positions (issue 5). The games are real self-play games read from a finished run's
game store, pushed again and again into a fresh embedded Redis until the target is reached;
then a ReplayBuffer (the actor's class, in this process) loads the whole window from Redis.
Beside it: what the same positions would take as float32 planes, and one sample of 256.

    python bench/replay_memory.py --source runs/local-1h --positions 1000000
"""
from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import psutil

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from dpv.selfplay.buffer import ReplayBuffer
from dpv.selfplay.records import num_moves
from dpv.selfplay.store import EmbeddedRedis, GameStore


def rss_mib() -> float:
    """Resident memory of this process in MiB."""
    return psutil.Process().memory_info().rss / 2**20


def main() -> int:
    """Fill a store, load a buffer, print the numbers."""
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--source", required=True, help="run directory whose redis/ holds self-play games")
    p.add_argument("--positions", type=int, default=1_000_000)
    args = p.parse_args()
    source = EmbeddedRedis(Path(args.source) / "redis")
    try:
        games = GameStore(source.url).games(0)
    finally:
        source.close()
    if not games:
        raise SystemExit(f"{args.source}: the game store holds no games")
    with tempfile.TemporaryDirectory() as tmp:
        server = EmbeddedRedis(tmp)
        try:
            store = GameStore(server.url, "bench")
            positions = stored = 0
            while positions < args.positions:
                pipe = store.redis.pipeline(transaction=False)
                for data in games:
                    pipe.rpush("bench:games", data)
                    positions += num_moves(data)
                    stored += len(data)
                    if positions >= args.positions:
                        break
                pipe.execute()
            count = store.num_games()
            before = rss_mib()
            start = time.perf_counter()
            buffer = ReplayBuffer(server.url, "bench", window_games=count)
            load_s = time.perf_counter() - start
            after = rss_mib()
            times = []
            for _ in range(5):
                start = time.perf_counter()
                buffer.sample(256)
                times.append(time.perf_counter() - start)
            sample_ms = min(times) * 1000
            stats = buffer.stats()
        finally:
            server.close()
    print(f"bench/replay_memory.py: {len(games)} distinct games from {args.source}, replicated")
    print(f"window: {stats.games:,} games, {stats.positions:,} positions, {stats.bytes / 2**20:.1f} MiB of records")
    dense = 17 * 81 * 4 + 82 * 4 + 4
    print(f"bytes per stored position: {stored / positions:.1f} (float32 planes + dense pi: {dense:,})")
    print(f"RSS of the process holding the buffer: {after:.0f} MiB ({after - before:+.0f} MiB for the window; "
          f"{(after - before) * 2**20 / positions:.1f} bytes per position); loaded from Redis in {load_s:.1f} s")
    print(f"one sample of 256 positions (replay, planes, symmetry; best of 5): {sample_ms:.0f} ms")
    return 0


if __name__ == "__main__":
    sys.exit(main())
