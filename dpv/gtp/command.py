"""`dpv gtp`: speak GTP v2 on stdin/stdout, for Sabaki, GoGui, GNU Go matches and tests."""
from __future__ import annotations

import argparse

PLAYERS = ("mcts", "random")


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the `gtp` subcommand."""
    parser = subparsers.add_parser("gtp", help="play Go over GTP v2 on stdin/stdout")
    parser.add_argument("--player", choices=PLAYERS, default="mcts",
                        help="mcts: the search over a DPV network (default); random: uniform legal moves")
    parser.add_argument("--checkpoint", help="network of the mcts player (default: the newest runs/**/best.pt, "
                        "else a fresh tiny network; 'rollout': random playouts, no network)")
    parser.add_argument("--exit", default="-1", help="exit policy: K (fixed exit, -1 = deepest), dynamic:TAU0,ALPHA "
                        "or threshold:TAU")
    parser.add_argument("--sims", type=float, default=100,
                        help="budget per move in full-network simulations (default 100)")
    parser.add_argument("--device", default="cpu", help="torch device of the network (cpu, cuda)")
    parser.add_argument("--threads", type=int, default=1,
                        help="torch CPU threads (default 1: the search's batches are small)")
    parser.add_argument("--size", type=int, default=9, help="initial board size (GTP boardsize changes it)")
    parser.add_argument("--komi", type=float, default=7.5, help="initial komi (GTP komi changes it)")
    parser.add_argument("--seed", type=int, default=None, help="seed of the random player and the search")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    """Serve GTP until `quit` or end of input."""
    import math

    from dpv.gtp.engine import MAX_SIZE, MIN_SIZE, GtpEngine
    from dpv.gtp.players import RandomPlayer

    if not MIN_SIZE <= args.size <= MAX_SIZE:
        raise ValueError(f"--size must be in {MIN_SIZE}..{MAX_SIZE}, not {args.size}")
    if not math.isfinite(args.komi):
        raise ValueError(f"--komi must be a finite number, not {args.komi}")
    if args.player == "random":
        player = RandomPlayer(seed=args.seed)
    else:
        from dpv.gtp.players import mcts_player
        from dpv.play.networks import ROLLOUT

        if not (1 <= args.sims < math.inf) or args.threads < 1:
            raise ValueError("--sims and --threads must be at least 1 (and --sims finite)")
        if args.checkpoint != ROLLOUT:  # random playouts need no torch
            import torch

            torch.set_num_threads(args.threads)
        player = mcts_player(args.checkpoint, args.exit, args.sims, device=args.device, seed=args.seed or 0)
        if player.board_size not in (None, args.size):
            raise ValueError(f"the network plays {player.board_size}x{player.board_size}, not --size {args.size}")
    GtpEngine(player, size=args.size, komi=args.komi).serve()
    return 0
