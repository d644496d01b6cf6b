"""`dpv vision-eval` (anytime, budgeted and collaborative inference on a multi-exit
checkpoint, thesis ch. 5 and sec. 2.1.3) and `dpv bayes-sim` (the synthetic study of
sec. 5.4.2). numpy, torch and matplotlib are imported inside the commands."""
from __future__ import annotations

import argparse
import sys
from pathlib import Path


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the `vision-eval` and `bayes-sim` subcommands."""
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
    p.add_argument("--patience", type=int, default=2, help="PABEE patience of the anytime row")
    p.add_argument("--device", default=None, help="torch device (default: cuda if available)")
    p.add_argument("--batch-size", type=int, default=256)
    p.add_argument("--data-dir", default=None,
                   help="data set directory (default: the checkpoint's)")
    p.set_defaults(run=run_eval)

    s = subparsers.add_parser("bayes-sim", help="synthetic study of Bayesian updating across "
                                                "classifiers (thesis sec. 5.4.2)")
    s.add_argument("--preset", choices=["cifar100", "imagenet"],
                   help="cifar100 (the default): 100 classes, 50 samples/class; imagenet: "
                        "1,000 classes, 200 samples/class")
    s.add_argument("--config", help="YAML with SimConfig keys (flags below override it)")
    s.add_argument("--classes", type=int)
    s.add_argument("--samples-per-class", type=int)
    s.add_argument("--steps", type=int, help="classifiers, i.e. updating steps (default 7)")
    s.add_argument("--accuracy", help="mean diagonal mass: one value or one per step, comma list")
    s.add_argument("--concentration", type=float, help="Dirichlet parameter of wrong labels")
    s.add_argument("--smoothing", type=float, help="pseudo-count per cell of estimated matrices")
    s.add_argument("--items", type=int, help="test items per trial")
    s.add_argument("--trials", type=int)
    s.add_argument("--seed", type=int)
    s.add_argument("--sweep", choices=["presets", "samples", "classes", "accuracy"],
                   help="Figs. 5.4 (both presets), 5.5 (samples/class), 5.6 (classes), "
                        "5.7 (accuracy)")
    s.add_argument("--out", default="runs/bayes-sim", help="report directory")
    s.set_defaults(run=run_bayes_sim)


def evaluate(logits, methods: list[str], config, patience: int = 2):
    """Every method's anytime accuracies and budgeted curve on `logits` (an ExitLogits);
    returns an EvalResult."""
    from dpv.vision.budgeted import budgeted_curve, pabee_curve
    import numpy as np

    from dpv.vision.collab import (Bayes, bucket_counts, bucket_names, build_combiner,
                                   pabee_predictions)
    from dpv.vision.eval_report import EvalResult, MethodResult

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
                "kind": "conformal set is the top label alone, at coverage" if config.calibrate
                        else "max softmax",
                "bucket_names": bucket_names(config.buckets), "counts": counts.tolist(),
                "accuracy": [[None if np.isnan(a) else float(a) for a in row] for row in accuracy]}
    return result


def run_eval(args: argparse.Namespace) -> int:
    """Load or compute the logits, evaluate the methods, print and write the report."""
    from dpv.progress import Progress
    from dpv.vision.collab import CollabConfig, parse_methods
    from dpv.vision.eval_report import anytime_markdown, budget_summary_markdown, write_report
    from dpv.vision.logits import compute_logits, load_logits, save_logits

    methods = parse_methods(args.methods)
    config = CollabConfig(smoothing=args.smoothing, calibrate=args.calibrate)
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


def run_bayes_sim(args: argparse.Namespace) -> int:
    """Run one setting (a preset with overrides) or a sweep and write its tables and plot."""
    import dataclasses

    from dpv.config import from_dict, load_config
    from dpv.progress import Progress
    from dpv.vision.bayes_sim import (PRESETS, SWEEPS, SimConfig, result_markdown, simulate,
                                      sweep_configs, write_results)

    base = load_config(args.config, SimConfig) if args.config else SimConfig()
    overrides = dict(PRESETS[args.preset]) if args.preset else {}
    for key in ("classes", "samples_per_class", "steps", "concentration", "smoothing", "items",
                "trials", "seed"):
        if getattr(args, key) is not None:
            overrides[key] = getattr(args, key)
    if args.accuracy:
        try:
            overrides["accuracy"] = [float(a) for a in args.accuracy.split(",")]
        except ValueError:
            raise ValueError("--accuracy takes numbers separated by commas, "
                             f"got '{args.accuracy}'") from None
    base = from_dict(SimConfig, {**dataclasses.asdict(base), **overrides}, source="bayes-sim")
    if args.sweep:
        runs = sweep_configs(args.sweep, base)
        figure = SWEEPS[args.sweep][0]
        title, stem = f"bayes-sim sweep '{args.sweep}' ({figure})", f"sweep-{args.sweep}"
    else:
        runs = [(f"{base.classes} classes, {base.samples_per_class} samples/class", base)]
        title, stem = "bayes-sim", f"sim-c{base.classes}-s{base.samples_per_class}"
    progress = Progress(sys.stderr)
    results = [(name, simulate(cfg, progress)) for name, cfg in runs]
    progress.close()
    for name, r in results:
        print(result_markdown(name, r) + "\n")
    paths = write_results(results, args.out, stem, title)
    print(f"written: {', '.join(str(p) for p in paths)}")
    return 0
