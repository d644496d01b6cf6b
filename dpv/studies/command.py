"""`dpv study training`: the training study of thesis 6.3.1 (dpv.studies.training); torch and ray
load only when it runs."""
from __future__ import annotations

import argparse
import sys


def register_study(studies: argparse._SubParsersAction) -> None:
    """Add `training` to the `dpv study` subcommands."""
    parser = studies.add_parser("training", help="Figures 6.6 and 6.7: weighted, no-weight and multi-step training "
                                "against the AlphaZero baseline at the same learner steps")
    parser.add_argument("--config", required=True,
                        help="a training-study config (configs/study-training-local.yaml, study-training.yaml)")
    parser.add_argument("--variants", help="comma-separated subset of weighted,no-weight,multi-step,baseline "
                        "(default: the config's; the baseline, every variant's opponent, is always trained)")
    parser.add_argument("--out", help="study directory (default runs/study-training-TIME); rerun with the same "
                        "--out to resume")
    parser.add_argument("--train-only", action="store_true",
                        help="train the runs and stop: no match, no report (rerun without it to play them)")
    parser.add_argument("--address", help="Ray cluster address for the self-play runs (default: a local Ray)")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    """Validate the study, then run it and name what it wrote."""
    from dpv.studies.training import load_training_study, run_training_study

    variants = [v.strip() for v in args.variants.split(",")] if args.variants is not None else None
    study = load_training_study(args.config, variants)
    if args.out:
        out = args.out
    else:
        from dpv.arena.match import run_dir

        out = run_dir("study-training")
    print(f"dpv study training: {args.config} -> {out}", file=sys.stderr)
    run_training_study(study, out, args.address, train_only=args.train_only)
    if args.train_only:
        print(f"trained: {out}/runs (rerun without --train-only to play the matches)", file=sys.stderr)
    else:
        print(f"written: {out}/study.md, study.json, study.png", file=sys.stderr)
    return 0
