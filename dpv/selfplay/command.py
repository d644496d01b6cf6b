"""`dpv launch selfplay`: the AlphaZero self-play loop on Ray (see dpv.selfplay.launch)."""
from __future__ import annotations

import argparse
import dataclasses
import sys


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add `launch` with its `selfplay` job."""
    launch = subparsers.add_parser("launch", help="run a job on Ray (selfplay)")
    jobs = launch.add_subparsers(dest="job", required=True, metavar="JOB")
    parser = jobs.add_parser("selfplay", help="self-play, training and gating of a DPV network (thesis 6.2.2)")
    parser.add_argument("--config", required=True,
                        help="self-play config (configs/local.yaml, configs/selfplay-9x9.yaml)")
    parser.add_argument("--run-dir", help="run directory (default runs/<config name>-<date>-<time>)")
    parser.add_argument("--address", help="Ray cluster address (auto: the running cluster); default: a local Ray")
    parser.add_argument("--max-games", type=int, help="stop after this many stored games")
    parser.add_argument("--max-hours", type=float, help="stop after this many hours")
    parser.add_argument("--resume", action="store_true", help="continue the run in --run-dir")
    parser.add_argument("--workers", type=int, help="self-play workers (overrides worker.workers)")
    parser.add_argument("--init-from", metavar="PATH", help="start from the weights of this checkpoint (a run's "
                        "best.pt, models/dpv-four.pt), fresh buffer; its lineage goes to RUN/lineage.json")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    """Validate the config and the limits, then launch the run (Ray and torch load only now)."""
    import math
    import time
    from pathlib import Path

    from dpv.selfplay.config import load_selfplay_config

    cfg = load_selfplay_config(args.config)
    if args.workers is not None:
        if args.workers < 1:
            raise ValueError(f"--workers must be >= 1, got {args.workers}")
        cfg = dataclasses.replace(cfg, worker=dataclasses.replace(cfg.worker, workers=args.workers))
    if args.max_games is not None and args.max_games < 1:
        raise ValueError(f"--max-games must be >= 1, got {args.max_games}")
    if args.max_hours is not None and not 0 < args.max_hours < math.inf:
        raise ValueError(f"--max-hours must be a finite number > 0, got {args.max_hours}")
    if args.resume and not args.run_dir:
        raise ValueError("--resume needs --run-dir (the run to continue)")
    if args.init_from:
        from dpv.selfplay.init_from import read_origin

        if args.resume:
            raise ValueError("--init-from starts a run; --resume continues one from its own weights: pass one")
        read_origin(args.init_from, cfg.net, args.config)
    run_dir = Path(args.run_dir or Path("runs") / f"{Path(args.config).stem}-{time.strftime('%Y%m%d-%H%M%S')}")
    from dpv.selfplay.launch import launch

    print(f"dpv launch selfplay: {args.config} -> {run_dir}", file=sys.stderr)
    summary = launch(cfg, run_dir, args.address, args.max_games, args.max_hours, args.resume,
                     init_from=args.init_from)
    t = summary.throughput
    print(f"{summary.games} games, {summary.positions} positions in {summary.seconds / 60:.1f} min: "
          f"{t.games_per_h:.0f} games/h, {t.positions_per_s:.1f} positions/s, {t.evals_per_s:,.0f} "
          f"evaluations/s, mean batch {t.mean_batch:.0f}, workers waiting {t.wait_share:.0%}; "
          f"learner step {summary.learner_step}, {len(summary.gating)} gatings, {summary.promotions} promotions "
          f"(best v{summary.best_version}); run in {run_dir}/")
    return 0
