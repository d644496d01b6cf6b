"""`dpv vision-train` (train a multi-exit classifier on Ray Train) and `dpv vision-report`
(anytime table of one run, comparison of several). torch and ray are imported only when a
command runs."""
from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

# Command-line flags that set a VisionTrainConfig field of the same name.
CONFIG_FLAGS = ("dataset", "model", "loss", "dynamic", "weight_grad", "weight_norm", "threshold",
                "lam", "alpha", "epochs", "batch_size", "lr", "workers", "gpu", "data_dir", "seed",
                "stop_after")
# Loss settings a sweep varies; the ones given on the command line name the default run dir.
SWEPT_FLAGS = ("lam", "alpha", "weight_norm", "threshold")


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the `vision-train` and `vision-report` subcommands."""
    p = subparsers.add_parser(
        "vision-train", help="train MSDNet / RANet with ce, damping, power-sqrt, dynamic losses",
        description="Train a multi-exit classifier (thesis ch. 4) as a Ray Train job. Settings: "
                    "the data set's recipe, then --config, then the flags.")
    p.add_argument("dataset", nargs="?",
                   help="cifar10, cifar100, imagenet, digits or synthetic (or from --config)")
    p.add_argument("--config", help="a configs/vision-*.yaml file")
    p.add_argument("--model", help="model preset: msdnet-cifar, msdnet-imagenet, ranet-cifar, "
                                   "msdnet-tiny (default: the data set's)")
    p.add_argument("--loss", help="ce, damping, power-sqrt, label-smoothing, last-only, "
                                  "threshold-last-only, damping-last-only (default ce)")
    p.add_argument("--dynamic", action="store_true", default=None,
                   help="dynamic training, eq. 4.19-4.21 (with damping or power-sqrt)")
    p.add_argument("--weight-grad", action="store_true", default=None,
                   help="let the gradient through the dynamic weights (Table 4.8 ablation)")
    p.add_argument("--weight-norm", help="axis the dynamic weights are centred along: exit (per "
                                         "exit over the batch, the default), sample, matrix")
    p.add_argument("--threshold", type=float,
                   help="threshold-last-only: drop the gradient of samples whose correct-label "
                        "softmax reaches this (Fig. 4.3; default 0.9)")
    p.add_argument("--lam", type=float, help="lambda of eq. 4.5 / 4.14")
    p.add_argument("--alpha", type=float, help="dynamic weight range [-alpha, alpha]")
    p.add_argument("--epochs", type=int)
    p.add_argument("--batch-size", type=int, help="global batch, split over the workers")
    p.add_argument("--lr", type=float)
    p.add_argument("--workers", "--num-workers", dest="workers", type=int,
                   help="Ray Train workers (DDP); 0: train in this process, without Ray")
    p.add_argument("--gpu", action="store_true", default=None, help="one GPU per worker")
    p.add_argument("--data-dir", help="where the data sets live (default: data)")
    p.add_argument("--run-dir", help="default: runs/vision-DATASET-LOSS[-SETTING...]-sSEED, with "
                                     "the --lam, --alpha, --weight-norm, --threshold given")
    p.add_argument("--resume", action="store_true", help="continue the run in --run-dir")
    p.add_argument("--stop-after", type=int, help="stop after this many epochs of the schedule")
    p.add_argument("--seed", type=int)
    p.set_defaults(run=run_train)

    r = subparsers.add_parser(
        "vision-report", help="anytime table of a vision run, or a multi-seed comparison",
        description="With one run: its anytime table (accuracy per exit with params and FLOPs). "
                    "With several: test accuracy per exit grouped by loss and its settings "
                    "(lambda, threshold, alpha, weight normalisation), mean +- std over seeds. "
                    "With --sweep: the last exit's accuracy and training loss against a setting.")
    r.add_argument("runs", nargs="+", help="run directories (or their last.pt)")
    r.add_argument("--out", help="output folder (default: the run, or runs/vision-comparison)")
    r.add_argument("--thesis", help="thesis table to print beside the comparison: "
                                    "cifar100-msdnet, cifar10-msdnet, cifar100-ranet, "
                                    "cifar100-last-only (Table 4.6), cifar100-lambda (Table 4.7), "
                                    "imagenet-msdnet")
    r.add_argument("--sweep", help="threshold, lam or alpha: the last exit's accuracy and "
                                   "training loss against this setting (threshold: Fig. 4.3)")
    r.set_defaults(run=run_report)


def run_train(args: argparse.Namespace) -> int:
    """Build the config (recipe < --config < flags), then run the job and print the table."""
    from dpv.config import from_dict, load_config, to_dict
    from dpv.vision.train.checkpoint import load_vision_checkpoint
    from dpv.vision.train.config import VisionTrainConfig
    from dpv.vision.train.job import train
    from dpv.vision.train.report import anytime_markdown

    overrides: dict[str, Any] = {k: getattr(args, k) for k in CONFIG_FLAGS
                                 if getattr(args, k) is not None}
    base = load_config(args.config, VisionTrainConfig) if args.config else VisionTrainConfig()
    if args.dataset is None and args.config is None and not args.resume:
        raise ValueError("name a data set (cifar10, cifar100, imagenet, digits, synthetic) or "
                         "give --config")
    config = from_dict(VisionTrainConfig, {**to_dict(base), **overrides},
                       source=f"{args.config} with the command line" if args.config
                       else "command line")
    swept = "".join(f"-{key}{overrides[key]}" for key in SWEPT_FLAGS if key in overrides)
    run_dir = Path(args.run_dir or f"runs/vision-{config.dataset}-"
                   f"{config.label().replace('+', '-')}{swept}-s{config.seed}")
    result = train(config, run_dir, resume=args.resume, overrides=overrides)
    checkpoint = load_vision_checkpoint(result.checkpoint)
    print(anytime_markdown(checkpoint), end="")
    state = "finished" if result.finished else f"stopped after epoch {result.epoch}"
    print(f"{state}; checkpoint {result.checkpoint}" +
          (f", report {result.run_dir}/report.md" if result.finished else ""))
    return 0


def run_report(args: argparse.Namespace) -> int:
    """Write the anytime report of one run or the comparison of several."""
    from dpv.vision.train.checkpoint import load_vision_checkpoint
    from dpv.vision.train.report import write_anytime_report, write_comparison

    paths = [Path(p) / "last.pt" if Path(p).is_dir() else Path(p) for p in args.runs]
    checkpoints = [load_vision_checkpoint(p) for p in paths]
    if args.sweep:
        from dpv.vision.train.sweep import write_sweep

        written = write_sweep(checkpoints, args.sweep, args.out or "runs/vision-sweep")
    elif len(checkpoints) == 1 and args.thesis is None:
        written = write_anytime_report(checkpoints[0], args.out or paths[0].parent)
    else:
        written = write_comparison(checkpoints, args.out or "runs/vision-comparison",
                                   args.thesis)
    print(written["markdown"].read_text(), end="")
    print("wrote " + ", ".join(str(p) for p in written.values()))
    return 0
