"""`dpv gtp`: speak GTP v2 on stdin/stdout, for Sabaki, GoGui, GNU Go matches and tests."""
from __future__ import annotations

import argparse

PLAYERS = ("random",)


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the `gtp` subcommand."""
    parser = subparsers.add_parser("gtp", help="play Go over GTP v2 on stdin/stdout")
    parser.add_argument("--player", choices=PLAYERS, default="random", help="who chooses the moves")
    parser.add_argument("--size", type=int, default=9, help="initial board size (GTP boardsize changes it)")
    parser.add_argument("--komi", type=float, default=7.5, help="initial komi (GTP komi changes it)")
    parser.add_argument("--seed", type=int, default=None, help="seed of the random player")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    """Serve GTP until `quit` or end of input."""
    from dpv.gtp.engine import GtpEngine
    from dpv.gtp.players import RandomPlayer

    player = RandomPlayer(seed=args.seed)
    GtpEngine(player, size=args.size, komi=args.komi).serve()
    return 0
