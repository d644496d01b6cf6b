"""`dpv gtp`: speak GTP v2 on stdin/stdout, for Sabaki, GoGui, GNU Go matches and tests."""
from __future__ import annotations

import argparse

from dpv.gtp.config import PLAYERS


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the `gtp` subcommand."""
    parser = subparsers.add_parser("gtp", help="play Go over GTP v2 on stdin/stdout")
    parser.add_argument("--config", help="engine config (YAML, e.g. configs/gtp-engine.yaml); the flags below "
                        "override its keys")
    parser.add_argument("--player", choices=PLAYERS,
                        help="mcts: the search over a DPV network (default); random: uniform legal moves")
    parser.add_argument("--checkpoint", help="network of the mcts player (default: the newest runs/**/best.pt, "
                        "else the shipped network models/dpv-four.pt, else a fresh one; "
                        "'rollout': random playouts, no network)")
    parser.add_argument("--exit", help="exit policy: K (fixed exit, -1 = deepest), dynamic:TAU0,ALPHA "
                        "or threshold:TAU")
    parser.add_argument("--sims", type=float, default=None,
                        help="budget per move in full-network simulations (default 100; with --ms-per-move "
                        "the analysis cap, 100000: the time decides)")
    parser.add_argument("--ms-per-move", type=float, default=None, metavar="M",
                        help="think M milliseconds per move (less when the game's time control allows less)")
    parser.add_argument("--ponder", action="store_true", default=None,
                        help="search on the opponent's time, keeping the tree for the reply (mcts; off by default)")
    parser.add_argument("--device", help="torch device of the network (cpu, cuda)")
    parser.add_argument("--threads", type=int,
                        help="torch CPU threads (default 1: the search's batches are small)")
    parser.add_argument("--size", type=int, default=9, help="initial board size (GTP boardsize changes it)")
    parser.add_argument("--komi", type=float, default=7.5, help="initial komi (GTP komi changes it)")
    parser.add_argument("--seed", type=int, default=None, help="seed of the random player and the search")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    """Serve GTP until `quit` or end of input."""
    import math

    from dpv.gtp.config import engine_config
    from dpv.gtp.engine import MAX_SIZE, MIN_SIZE, GtpEngine
    from dpv.gtp.players import RandomPlayer

    if not MIN_SIZE <= args.size <= MAX_SIZE:
        raise ValueError(f"--size must be in {MIN_SIZE}..{MAX_SIZE}, not {args.size}")
    if not math.isfinite(args.komi):
        raise ValueError(f"--komi must be a finite number, not {args.komi}")
    config = engine_config(args)
    if config.player == "random":
        player = RandomPlayer(seed=args.seed)
    else:
        from dpv.gtp.players import mcts_player
        from dpv.play.networks import ROLLOUT

        if config.checkpoint != ROLLOUT:  # random playouts need no torch
            import torch

            torch.set_num_threads(config.threads)
        player = mcts_player(config.checkpoint, config.exit, config.simulations, device=config.device,
                             seed=args.seed or 0)
        if player.board_size not in (None, args.size):
            raise ValueError(f"the network plays {player.board_size}x{player.board_size}, not --size {args.size}")
    move_seconds = None if config.ms_per_move is None else config.ms_per_move / 1000
    GtpEngine(player, size=args.size, komi=args.komi, move_seconds=move_seconds, ponder=config.ponder).serve()
    return 0
