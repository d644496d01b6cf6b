"""`dpv bayes-sim`: the synthetic study of Bayesian updating (thesis sec. 5.4.2). numpy and
matplotlib are imported inside the command."""
from __future__ import annotations

import argparse
import sys


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the `bayes-sim` subcommand."""
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
                        "5.7 (accuracy, varied per stage)")
    s.add_argument("--out", default="runs/bayes-sim", help="report directory")
    s.set_defaults(run=run_bayes_sim)


def run_bayes_sim(args: argparse.Namespace) -> int:
    """Run one setting (a preset with overrides) or a sweep and write its tables and plot."""
    import dataclasses

    from dpv.config import from_dict, load_config
    from dpv.progress import Progress
    from dpv.vision.sim.bayes import PRESETS, SWEEPS, SimConfig, result_markdown, simulate, sweep_configs, write_results

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
