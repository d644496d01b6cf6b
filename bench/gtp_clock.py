"""A short real game of `dpv gtp` against GNU Go at one second per move: the slowest move.

    python bench/gtp_clock.py [--plies 40] [--seconds 1] [--checkpoint PATH|rollout]

dpv plays black under Canadian byo-yomi of `--seconds` seconds for one stone
(`time_settings 0 S 1`: every move must take less than S), with `time_left` sent before each
of its moves as a controller does; GNU Go (level 1) plays white. Each genmove's time is the
wall-clock round trip seen by this controller (the search, the process's I/O, the network's
load), so it is what a GUI's clock would charge. Printed: the slowest and the mean move, how
many went over the limit (none, by dpv.gtp.clock's safety margin) and the load average.
"""
from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from dpv.play.gtp_client import GtpClient  # noqa: E402
from go_engine import Board, gtp_to_action  # noqa: E402

GNUGO = "/usr/games/gnugo --mode gtp --chinese-rules --level 1"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--plies", type=int, default=40, help="moves of both sides to play (default 40)")
    parser.add_argument("--seconds", type=float, default=1.0, help="time per move (default 1)")
    parser.add_argument("--checkpoint", default=None, help="dpv's network (default: dpv gtp's default)")
    args = parser.parse_args()
    dpv = [sys.executable, "-m", "dpv.cli", "gtp"] + (["--checkpoint", args.checkpoint] if args.checkpoint else [])
    board = Board(size=9, komi=7.5)
    times: list[float] = []
    with GtpClient(dpv, name="dpv") as ours, GtpClient(GNUGO, name="gnugo") as theirs:
        for client in (ours, theirs):
            client.command("boardsize 9")
            client.command("clear_board")
            client.command("komi 7.5")
        ours.command(f"time_settings 0 {args.seconds:g} 1")
        while board.move_count < args.plies and not board.is_over():
            if board.to_play == 1:
                ours.command(f"time_left b {args.seconds:g} 1")
                started = time.monotonic()
                vertex = ours.command("genmove b")
                times.append(time.monotonic() - started)
                theirs.command(f"play b {vertex}")
            else:
                vertex = theirs.command("genmove w")
                ours.command(f"play w {vertex}")
            if vertex.lower() == "resign":
                break
            board.play(gtp_to_action(vertex, 9))
    over = sum(seconds >= args.seconds for seconds in times)
    print(f"dpv moves: {len(times)} at {args.seconds:g} s per move; slowest {max(times):.3f} s, "
          f"mean {statistics.mean(times):.3f} s, over the limit: {over}; load average {os.getloadavg()[0]:.1f}")
    return 0 if over == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
