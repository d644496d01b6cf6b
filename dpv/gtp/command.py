"""`dpv gtp`: speak GTP v2 on stdin/stdout, for Sabaki, GoGui, GNU Go matches and tests."""
from __future__ import annotations

import argparse

PLAYERS = ("mcts", "random")
DEFAULT_SIMULATIONS = 100.0


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the `gtp` subcommand."""
    parser = subparsers.add_parser("gtp", help="play Go over GTP v2 on stdin/stdout")
    parser.add_argument("--player", choices=PLAYERS, default="mcts",
                        help="mcts: the search over a DPV network (default); random: uniform legal moves")
    parser.add_argument("--checkpoint", help="network of the mcts player (default: the newest runs/**/best.pt, "
                        "else a fresh tiny network; 'rollout': random playouts, no network)")
    parser.add_argument("--exit", default="-1", help="exit policy: K (fixed exit, -1 = deepest), dynamic:TAU0,ALPHA "
                        "or threshold:TAU")
    parser.add_argument("--sims", type=float, default=None,
                        help="budget per move in full-network simulations (default 100; with --ms-per-move "
                        "the analysis cap, 100000: the time decides)")
    parser.add_argument("--ms-per-move", type=float, default=None, metavar="M",
                        help="think M milliseconds per move (less when the game's time control allows less)")
    parser.add_argument("--ponder", action="store_true",
                        help="search on the opponent's time, keeping the tree for the reply (mcts; off by default)")
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
    if args.ms_per_move is not None and not 0 < args.ms_per_move < math.inf:
        raise ValueError(f"--ms-per-move must be a positive number, not {args.ms_per_move}")
    if args.player == "random":
        player = RandomPlayer(seed=args.seed)
    else:
        from dpv.gtp.players import mcts_player
        from dpv.play.networks import ROLLOUT
        from dpv.play.player import MAX_ANALYSIS_VISITS

        sims = args.sims if args.sims is not None else (
            DEFAULT_SIMULATIONS if args.ms_per_move is None else float(MAX_ANALYSIS_VISITS))
        if not (1 <= sims < math.inf) or args.threads < 1:
            raise ValueError("--sims and --threads must be at least 1 (and --sims finite)")
        if args.checkpoint != ROLLOUT:  # random playouts need no torch
            import torch

            torch.set_num_threads(args.threads)
        player = mcts_player(args.checkpoint, args.exit, sims, device=args.device, seed=args.seed or 0)
        if player.board_size not in (None, args.size):
            raise ValueError(f"the network plays {player.board_size}x{player.board_size}, not --size {args.size}")
    move_seconds = None if args.ms_per_move is None else args.ms_per_move / 1000
    GtpEngine(player, size=args.size, komi=args.komi, move_seconds=move_seconds, ponder=args.ponder).serve()
    return 0
