"""`dpv rate`: Elo of self-play runs' checkpoints against fixed anchors, over self-play CPU-hours.
torch and ray are imported only when the command runs."""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

from dpv.arena.command import add_match_options, match_settings
from dpv.rating.plan import DEFAULT_ANCHOR


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the `rate` subcommand."""
    parser = subparsers.add_parser(
        "rate", help="Elo of runs' checkpoints against fixed anchors (Bradley-Terry), against self-play CPU-hours",
        description="Plays the checkpoints of each run directory against the anchors (and each against the next "
                    "rated checkpoint of its run), fits Elo by maximum likelihood with the first anchor pinned, and "
                    "writes rating.json, rating.md and rating.png to --out. Finished pairings are read back from "
                    "--out, so a rerun with the same --out resumes.")
    parser.add_argument("runs", nargs="+", metavar="RUN_DIR", help="run directories of `dpv launch selfplay`")
    parser.add_argument("--anchor", action="append", metavar="ANCHOR",
                        help="a fixed opponent, repeatable: a GTP engine's command line, a checkpoint file or "
                             f"rollout; the first is pinned at --anchor-elo (default: \"{DEFAULT_ANCHOR}\")")
    parser.add_argument("--anchor-elo", type=float, default=0.0, help="Elo of the first anchor (default 0)")
    parser.add_argument("--games", type=int, default=20, help="games per pairing, colours alternating (default 20)")
    parser.add_argument("--sims", type=float, default=200,
                        help="budget per move of every network player in full-network simulations (default 200)")
    parser.add_argument("--exit", default="-1",
                        help="exit policy of the rated checkpoints: k, dynamic:TAU0,ALPHA or threshold:TAU "
                             "(default -1, the deepest; network anchors play their deepest)")
    parser.add_argument("--checkpoints", default="8",
                        help="every, best, or N: N checkpoints spread over the steps, initial and newest "
                             "included, plus best.pt's (default 8)")
    parser.add_argument("--lineage", action="store_true",
                        help="the runs are parts of one lineage: a run started from another network "
                             "(--init-from, its lineage.json) is counted on from that checkpoint's steps, games and "
                             "hours (read from the run holding it when given, else from lineage.json), so the "
                             "lineage is one curve; each run's last rated checkpoint plays the next run's first")
    parser.add_argument("--prior-draws", type=float, default=1.0,
                        help="virtual drawn games per pair of players that met, so 0%% and 100%% stay finite "
                             "(default 1)")
    parser.add_argument("--out", help="folder of the rating and its games (default runs/rate-TIME); "
                                      "the same --out resumes")
    add_match_options(parser)
    parser.set_defaults(run=run_rate)


def run_rate(args: argparse.Namespace) -> int:
    """Read the runs, play the pairings not played yet, fit, write and print the rating."""
    from dpv.arena.match import MatchConfig, run_dir
    from dpv.arena.spec import PlayerSpec
    from dpv.play.networks import network_flops
    from dpv.rating.bradley_terry import PairResult, fit_elo
    from dpv.rating.plan import anchor_contestant, plan_pairings
    from dpv.rating.report import markdown, rating_data, write_rating
    from dpv.rating.runner import RatingMatch, check_anchors, play_pairings
    from dpv.rating.runs import chain_lineage, read_run

    runs = [read_run(path) for path in args.runs]
    if args.lineage:
        runs = chain_lineage(runs)
    if len({run.path for run in runs}) < len(runs):
        raise ValueError("a run directory is named twice")
    sizes = {run.board_size for run in runs}
    if len(sizes) > 1:
        raise ValueError(f"the runs play on different boards ({', '.join(map(str, sorted(sizes)))})")
    chosen = [(run, run.select(args.checkpoints)) for run in runs]
    anchors = [anchor_contestant(text, args.sims) for text in (args.anchor or [DEFAULT_ANCHOR])]
    if len({a.identity for a in anchors}) < len(anchors):
        raise ValueError("an anchor is named twice")
    config = MatchConfig(games=args.games, budget=args.budget, search=match_settings(args), board_size=sizes.pop(),
                         max_moves=args.max_moves, games_per_task=args.games_per_task, workers=args.workers,
                         executor=args.executor, device=args.device, seed=args.seed)
    how = RatingMatch(match=config, simulations=args.sims, exit=args.exit)
    for _, checkpoints in chosen:  # a bad exit or a damaged checkpoint fails here, before any game
        for c in checkpoints:
            PlayerSpec(exit=args.exit, simulations=args.sims).search_player(network_flops(c.path), args.budget)
    check_anchors(anchors, config.board_size)
    out = Path(args.out) if args.out else run_dir("rate")
    print(f"dpv rate: {sum(len(c) for _, c in chosen)} checkpoints of {len(runs)} run(s), {len(anchors)} anchor(s); "
          f"results in {out} (the same --out resumes)", file=sys.stderr)
    for run in runs:
        print(f"dpv rate: {run.path}: {run.cpu_source}", file=sys.stderr)
    results = play_pairings(plan_pairings(chosen, anchors, lineage=args.lineage), how, out)
    ratings = fit_elo([PairResult(r.a, r.b, r.games, r.a_points) for r in results], pinned=anchors[0].id,
                      pinned_elo=args.anchor_elo, prior_draws=args.prior_draws)
    data = rating_data(chosen, anchors, results, ratings, how, lineage=args.lineage)
    written = write_rating(data, out)
    print(markdown(data), end="")
    print("written: " + ", ".join(str(p) for p in written), file=sys.stderr)
    return 0
