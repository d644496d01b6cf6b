"""`dpv vision-eval`: anytime, budgeted and collaborative inference on a multi-exit
checkpoint (thesis ch. 5 and sec. 2.1.3). numpy, torch and matplotlib are imported inside the
command."""
from __future__ import annotations

import argparse
import sys
from pathlib import Path


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the `vision-eval` subcommand."""
    p = subparsers.add_parser(
        "vision-eval", help="anytime / budgeted accuracy of a multi-exit checkpoint with "
                            "collaborative inference (Bayes, conformal Bayes, voting, PABEE)")
    p.add_argument("checkpoint", nargs="?", help="checkpoint written by dpv vision-train "
                                                 "(not needed with --logits)")
    p.add_argument("--methods", default="all",
                   help="comma list of last, bayes, bayes-cp, bayes-oracle, bayes-cp-oracle, "
                        "logit-vote[-acc|-flops], softmax-vote[-acc|-flops], pabee; or all")
    p.add_argument("--logits", help="read cached per-exit logits instead of running the network")
    p.add_argument("--save-logits", help="write the per-exit logits to this .npz")
    p.add_argument("--out", help="report directory (default: eval/ beside the checkpoint, "
                                 "NAME-eval/ beside the logits file)")
    p.add_argument("--smoothing", type=float, default=0.1,
                   help="pseudo-count per confusion-matrix cell of the Bayes methods (default 0.1)")
    p.add_argument("--calibrate", action="store_true",
                   help="bayes-cp buckets from split-conformal sets at 90 %% / 80 %% coverage "
                        "on the validation split instead of raw softmax confidence")
    p.add_argument("--conformal-score", default="aps",
                   help="score of the --calibrate sets: aps (cumulative softmax, Angelopoulos et "
                        "al., as the thesis describes; the default) or lac (1 - p[y])")
    p.add_argument("--patience", type=int, default=2, help="PABEE patience of the anytime row")
    p.add_argument("--device", default=None, help="torch device (default: cuda if available)")
    p.add_argument("--batch-size", type=int, default=256)
    p.add_argument("--data-dir", default=None,
                   help="data set directory (default: the checkpoint's)")
    p.set_defaults(run=run_eval)


def evaluate(logits, methods: list[str], config, patience: int = 2):
    """Every method's anytime accuracies and budgeted curve on `logits` (an ExitLogits);
    returns an EvalResult."""
    import numpy as np

    from dpv.vision.infer.budgeted import budgeted_curve, pabee_curve
    from dpv.vision.infer.collab import Bayes, bucket_counts, bucket_names, build_combiner, pabee_predictions
    from dpv.vision.infer.report import EvalResult, MethodResult

    val, test, flops = logits.val, logits.test, logits.exit_flops
    result = EvalResult(logits.source, logits.exit_params.tolist(), flops.tolist(),
                        len(val.labels), len(test.labels))
    for name in methods:
        if name == "pabee":
            preds = test.predictions()
            anytime = (pabee_predictions(preds, patience) == test.labels).mean(axis=1)
            result.methods.append(MethodResult(
                name, f"PABEE (patience {patience}; budgeted: patience 1..{val.num_exits - 1})",
                anytime.tolist(), pabee_curve(preds, test.labels, flops)))
            continue
        combiner = build_combiner(name, val, test, flops, config)
        test_pred, test_conf = combiner.predict(test.logits)
        _, val_conf = combiner.predict(val.logits)
        anytime = (test_pred == test.labels).mean(axis=1)
        curve = budgeted_curve(val_conf, test_pred, test_conf, test.labels, flops)
        result.methods.append(MethodResult(name, combiner.label, anytime.tolist(), curve))
        if isinstance(combiner, Bayes) and combiner.num_buckets > 1 and not result.buckets:
            # the same buckets for bayes-cp and its oracle: both calibrate on validation
            counts, accuracy = bucket_counts(combiner, test)
            result.buckets = {
                "kind": f"{config.conformal_score} conformal set is the top label alone, at "
                        f"coverage" if config.calibrate else "max softmax",
                "bucket_names": bucket_names(config.buckets), "counts": counts.tolist(),
                "accuracy": [[None if np.isnan(a) else float(a) for a in row] for row in accuracy]}
    return result


def run_eval(args: argparse.Namespace) -> int:
    """Load or compute the logits, evaluate the methods, print and write the report."""
    from dpv.progress import Progress
    from dpv.vision.infer.collab import CollabConfig, parse_methods
    from dpv.vision.infer.logits import compute_logits, load_logits, save_logits
    from dpv.vision.infer.report import anytime_markdown, budget_summary_markdown, write_report

    methods = parse_methods(args.methods)
    config = CollabConfig(smoothing=args.smoothing, calibrate=args.calibrate,
                          conformal_score=args.conformal_score)
    if args.logits:
        logits = load_logits(args.logits)
    elif args.checkpoint:
        if not Path(args.checkpoint).is_file():
            raise FileNotFoundError(f"{args.checkpoint}: no such checkpoint")
        import torch

        device = args.device or ("cuda" if torch.cuda.is_available() else "cpu")
        progress = Progress(sys.stderr)
        logits = compute_logits(args.checkpoint, device=device, batch_size=args.batch_size,
                                data_dir=args.data_dir, progress=progress)
        progress.close()
    else:
        raise ValueError("give a CHECKPOINT or --logits FILE")
    if args.save_logits:
        save_logits(args.save_logits, logits)
        print(f"logits written to {args.save_logits}", file=sys.stderr)
    result = evaluate(logits, methods, config, args.patience)
    if args.out:
        out = Path(args.out)
    elif args.logits:
        out = Path(args.logits).with_name(Path(args.logits).stem + "-eval")
    else:
        out = Path(args.checkpoint).parent / "eval"
    paths = write_report(result, out)
    print(f"Anytime prediction (test split, {result.test_size} images; thresholds and "
          f"likelihoods from {result.val_size} validation images):\n")
    print(anytime_markdown(result))
    print("\nBudgeted batch classification (test split). " + budget_summary_markdown(result))
    print(f"\nbudgeted curves, bucket counts and plots: {', '.join(str(p) for p in paths)}")
    return 0
