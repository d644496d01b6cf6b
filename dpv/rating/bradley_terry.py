"""Elo ratings by maximum likelihood under the Bradley-Terry model.

A player of rating r_i beats one of rating r_j with probability

    P(i beats j) = 1 / (1 + 10^((r_j - r_i) / 400))

(the logistic Elo curve that dpv.arena.stats.elo_difference inverts for one match). A draw
counts as half a win. One player is pinned at a given Elo; the others are the maximum of the
log-likelihood, found by Newton's method (the log-likelihood is concave in the ratings).

Regularisation: every pair of players that met gets `prior_draws` virtual drawn games (the
prior of Coulom's BayesElo), so that a 0 % or 100 % score still has a finite maximum (one
virtual draw against 20 lost games puts the loser about 650 Elo below) and pulls a rating only
slightly towards its opponents' when games are many. Standard errors are the square roots of
the diagonal of the inverse observed information (the negative Hessian of the regularised
log-likelihood at the maximum), relative to the pinned player, whose own is 0.

numpy only.
"""
from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

ELO_PER_NAT = 400.0 / math.log(10.0)
"""Elo points per unit of the natural-log odds scale the fit works in."""


@dataclass(frozen=True)
class PairResult:
    """The games between two players, from A's side."""

    a: str
    """Player A's id."""
    b: str
    """Player B's id."""
    games: int
    """Games played."""
    a_points: float
    """A's wins plus half its draws."""


@dataclass(frozen=True)
class Ratings:
    """A Bradley-Terry fit."""

    elo: dict[str, float]
    """Each player's Elo (the pinned one at its given value)."""
    se: dict[str, float]
    """Each player's standard error in Elo, relative to the pinned player (0 for it)."""
    pinned: str
    """The player whose Elo was fixed."""
    prior_draws: float
    """Virtual drawn games added to every pair of players that met."""
    iterations: int
    """Newton steps taken."""


def fit_elo(results: Sequence[PairResult], pinned: str, pinned_elo: float = 0.0, prior_draws: float = 1.0,
            max_iterations: int = 100, tolerance: float = 1e-10) -> Ratings:
    """The maximum-likelihood Elo of every player in `results` with `pinned` at `pinned_elo`
    (see the module docstring). A player with no path of games to `pinned` cannot be rated:
    ValueError naming it."""
    if not prior_draws > 0:
        raise ValueError(f"prior_draws must be > 0 (it keeps 0 % and 100 % finite), got {prior_draws}")
    players = sorted({p for r in results for p in (r.a, r.b)} | {pinned})
    index = {p: i for i, p in enumerate(players)}
    pairs: dict[tuple[int, int], list[float]] = {}
    for r in results:
        if r.games < 0 or not 0 <= r.a_points <= r.games:
            raise ValueError(f"{r.a} vs {r.b}: {r.a_points:g} points in {r.games} games")
        if r.games == 0 or r.a == r.b:
            continue
        i, j, points = index[r.a], index[r.b], r.a_points
        if i > j:
            i, j, points = j, i, r.games - points
        total = pairs.setdefault((i, j), [0.0, 0.0])
        total[0] += r.games
        total[1] += points
    _check_connected(players, pairs, index[pinned])
    a = np.array([i for i, _ in pairs], dtype=int)
    b = np.array([j for _, j in pairs], dtype=int)
    games = np.array([t[0] for t in pairs.values()]) + prior_draws
    points = np.array([t[1] for t in pairs.values()]) + prior_draws / 2
    free = np.array([i for i in range(len(players)) if i != index[pinned]], dtype=int)
    theta = np.zeros(len(players))
    iterations = 0
    while len(free) and iterations < max_iterations:
        gradient, information = _derivatives(theta, a, b, games, points)
        step = np.linalg.solve(information[np.ix_(free, free)], gradient[free])
        scale, before = 1.0, _log_likelihood(theta, a, b, games, points)
        while True:  # halve the Newton step until the likelihood does not fall
            trial = theta.copy()
            trial[free] += scale * step
            if _log_likelihood(trial, a, b, games, points) >= before - 1e-12 or scale < 1e-6:
                break
            scale /= 2
        theta = trial
        iterations += 1
        if np.max(np.abs(scale * step)) < tolerance:
            break
    se = np.zeros(len(players))
    if len(free):
        information = _derivatives(theta, a, b, games, points)[1][np.ix_(free, free)]
        se[free] = np.sqrt(np.diag(np.linalg.inv(information)))
    offset = pinned_elo - ELO_PER_NAT * theta[index[pinned]]
    return Ratings(elo={p: float(ELO_PER_NAT * theta[i] + offset) for p, i in index.items()},
                   se={p: float(ELO_PER_NAT * se[i]) for p, i in index.items()},
                   pinned=pinned, prior_draws=prior_draws, iterations=iterations)


def _derivatives(theta: np.ndarray, a: np.ndarray, b: np.ndarray, games: np.ndarray,
                 points: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Gradient of the log-likelihood and the observed information (its negative Hessian),
    both in natural-log units."""
    p = 1.0 / (1.0 + np.exp(theta[b] - theta[a]))
    residual = points - games * p
    weight = games * p * (1.0 - p)
    n = len(theta)
    gradient = np.bincount(a, residual, n) - np.bincount(b, residual, n)
    information = np.zeros((n, n))
    np.add.at(information, (a, a), weight)
    np.add.at(information, (b, b), weight)
    np.add.at(information, (a, b), -weight)
    np.add.at(information, (b, a), -weight)
    return gradient, information


def _log_likelihood(theta: np.ndarray, a: np.ndarray, b: np.ndarray, games: np.ndarray,
                    points: np.ndarray) -> float:
    d = theta[a] - theta[b]
    return float(-np.sum(points * np.logaddexp(0.0, -d) + (games - points) * np.logaddexp(0.0, d)))


def _check_connected(players: list[str], pairs: dict[tuple[int, int], list[float]], root: int) -> None:
    """ValueError naming a player that no chain of games links to the pinned one."""
    neighbours: dict[int, set[int]] = {i: set() for i in range(len(players))}
    for i, j in pairs:
        neighbours[i].add(j)
        neighbours[j].add(i)
    seen, todo = {root}, [root]
    while todo:
        for j in neighbours[todo.pop()] - seen:
            seen.add(j)
            todo.append(j)
    missing = [players[i] for i in range(len(players)) if i not in seen]
    if missing:
        raise ValueError(f"cannot rate {missing[0]}: no games link it to the pinned player {players[root]}")
