"""Fit dpv.gtp.komi.SCORE_SCALE to a network: the scale s for which tanh(lead / (2 s)) best matches
the network's value head at komi 7.5 (deepest exit, least squares), so that the logistic model of
another komi agrees with the value head it replaces where both apply.

    python results/gtp/fit_score_scale.py models/dpv-four.pt [--positions 512] [--seed 1]

The positions are those of random-policy games over sensible moves
(dpv.nets.backends.positions.random_game_boards); prints the mean squared error per scale, 4 to 12
points in steps of 0.5, and the best."""
from __future__ import annotations

import argparse

import numpy as np


def main() -> None:
    from dpv.nets.backends.positions import random_game_boards
    from dpv.nets.evaluator import Evaluator

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("checkpoint")
    parser.add_argument("--positions", type=int, default=512)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    evaluator = Evaluator.from_checkpoint(args.checkpoint)
    planes = np.stack([board.planes() for board in random_game_boards(args.positions, seed=args.seed)])
    _, values, _ = evaluator.evaluate(planes, evaluator.num_exits - 1)
    lead = evaluator.position_estimates(planes).score
    if lead is None:
        raise SystemExit(f"{args.checkpoint}: the network has no score head")
    scales = np.arange(4.0, 12.01, 0.5)
    errors = [float(np.mean((np.tanh(lead / (2 * s)) - values) ** 2)) for s in scales]
    for s, e in zip(scales, errors):
        print(f"scale {s:4.1f}  mean squared error {e:.4f}")
    best = scales[int(np.argmin(errors))]
    print(f"best: {best:.1f} ({min(errors):.4f}) on {len(values)} positions, seed {args.seed}")


if __name__ == "__main__":
    main()
