"""Matches between two search players on one network family, many games at once.

Games are split into chunks; each chunk is one `BatchedSearch` over its games (one Ray task
per chunk, a process of a local pool, or all in this process with `workers=0`). Player A is black in the even-numbered
games and white in the odd ones. When both players use the same network, one evaluator answers
both players' leaves in the same batch (each leaf carries its player's exit policy); with two
networks the chunk is split by A's colour and the search routes each leaf to the mover's
network through the `(black_evaluator, white_evaluator)` pair.

There is no root noise and no resignation; the first `opening_moves` plies are sampled in
proportion to the visit counts (temperature 1), to keep games distinct, and every later move
is the most visited one. Every move is searched from a fresh tree (`reuse_tree=False`): a tree
kept across moves would hand each player the opponent's evaluations, and its simulations would
no longer be bounded by the player's own budget.
"""
from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from dpv.arena.report import GameOutcome, MatchReport, PlayerTotals, a_colour_of, collect, write_json, write_sgfs
from dpv.arena.spec import PlayerSpec


@dataclass
class MatchConfig:
    """How a match is played (the players are PlayerSpecs)."""

    games: int = 100
    budget: str = "equal-flops"
    """equal-flops or equal-sims (dpv.arena.spec)."""
    opening_moves: int = 4
    """Plies sampled by visit count at the start of each game; later moves are deterministic."""
    board_size: int = 9
    komi: float = 7.5
    max_moves: int | None = None
    """Move cap of a game (None: the board's default, 2 x size^2)."""
    c_puct: float = 1.5
    leaves_per_tree: int = 8
    sensible_moves: bool = False
    """No move fills the mover's own eye and pass only when nothing else is left
    (go_engine.SearchConfig.sensible_moves, the rule of dpv.selfplay's search)."""
    games_per_task: int = 8
    """Games per chunk (one batched search each); 0: the games spread evenly over the workers."""
    workers: int | None = None
    """Chunks played at once (None: as many as Ray's CPUs allow); 0 plays in this process."""
    executor: str = "ray"
    """ray: Ray tasks (a local Ray, or the cluster of RAY_ADDRESS); processes: a local process
    pool of `workers` processes (machines without Ray)."""
    device: str = "cpu"
    seed: int = 0

    def __post_init__(self) -> None:
        checks = [
            (self.games >= 1, "games must be >= 1"),
            (self.budget in ("equal-flops", "equal-sims"), "budget must be equal-flops or equal-sims"),
            (self.opening_moves >= 0, "opening_moves must be >= 0"),
            (self.games_per_task >= 0, "games_per_task must be >= 0"),
            (self.workers is None or self.workers >= 0, "workers must be >= 0"),
            (self.executor in ("ray", "processes"), "executor must be ray or processes"),
        ]
        for ok, message in checks:
            if not ok:
                raise ValueError(message)


# ---------------------------------------------------------------------------- playing games

ROLLOUT = "rollout"
"""A checkpoint name that needs no file: MCTS with one random playout per leaf and uniform
priors (go_engine.RolloutEvaluator), a network-free baseline; its one "exit" costs 1 FLOP."""

_EVALUATORS: dict[tuple[str, float, str], tuple[Any, list[float]]] = {}


def load_evaluator(checkpoint: str, device: str = "cpu") -> tuple[Any, list[float]]:
    """The evaluator of `checkpoint` and its per-exit FLOPs, cached per process (Ray workers
    run many tasks)."""
    if checkpoint == ROLLOUT:
        from go_engine import RolloutEvaluator

        key = (ROLLOUT, 0.0, device)
        if key not in _EVALUATORS:
            _EVALUATORS[key] = (RolloutEvaluator(playouts=1, seed=os.getpid()), [1.0])
        return _EVALUATORS[key]
    from dpv.nets.evaluator import Evaluator

    key = (str(Path(checkpoint).resolve()), Path(checkpoint).stat().st_mtime, device)
    if key not in _EVALUATORS:
        evaluator = Evaluator.from_checkpoint(checkpoint, device=device)
        _EVALUATORS[key] = (evaluator, evaluator.exit_flops.tolist())
    return _EVALUATORS[key]


def network_flops(checkpoint: str) -> list[float]:
    """Per-exit FLOPs of the network saved at `checkpoint` (FileNotFoundError if missing)."""
    from dpv.nets.checkpoint import load_checkpoint

    if checkpoint == ROLLOUT:
        return [1.0]
    if not os.path.isfile(checkpoint):
        raise FileNotFoundError(f"no such checkpoint: {checkpoint}")
    return [float(f) for f in load_checkpoint(checkpoint).exit_flops]


def search_config(config: MatchConfig):
    """The search settings of a match: no noise, no resignation, no tree reuse, visit-count
    sampling for the first `opening_moves` plies."""
    from go_engine import SearchConfig

    return SearchConfig(c_puct=config.c_puct, leaves_per_tree=config.leaves_per_tree, root_noise=False,
                        temperature=1.0, temperature_moves=config.opening_moves, reuse_tree=False,
                        resign_threshold=None, sensible_moves=config.sensible_moves)


def play_games(a: PlayerSpec, b: PlayerSpec, config: MatchConfig, indices: Sequence[int],
               threads: int | None = None) -> list[GameOutcome]:
    """Play the games numbered `indices` between A and B (checkpoints filled in) to the end."""
    from go_engine import BatchedSearch

    if threads:
        import torch

        torch.set_num_threads(threads)
    ev_a, flops = load_evaluator(a.checkpoint, config.device)
    ev_b, flops_b = load_evaluator(b.checkpoint, config.device)
    if len(flops_b) != len(flops) or not np.allclose(flops_b, flops):
        raise ValueError(f"the two networks have different per-exit FLOPs ({flops} and {flops_b}): "
                         "one match charges one FLOPs table")
    player_a, player_b = a.search_player(flops, config.budget), b.search_player(flops, config.budget)
    groups: list[tuple[Any, Any, list[int]]] = []  # (search, evaluator, game index of each slot)

    def new_search(slots: list[int], players, salt: int):
        seed = config.seed * 1_000_003 + slots[0] * 2 + salt
        return BatchedSearch(len(slots), config.board_size, config.komi, config=search_config(config),
                             exit_flops=flops, players=players, seed=seed, max_moves=config.max_moves)

    if ev_a is ev_b:
        slots = list(indices)
        search = new_search(slots, (player_a, player_b), 0)
        for g, index in enumerate(slots):
            if a_colour_of(index) == -1:
                search.set_players(g, player_b, player_a)
        groups.append((search, ev_a, slots))
    else:
        for salt, (colour, pair, evs) in enumerate([(1, (player_a, player_b), (ev_a, ev_b)),
                                                    (-1, (player_b, player_a), (ev_b, ev_a))]):
            slots = [i for i in indices if a_colour_of(i) == colour]
            if slots:
                groups.append((new_search(slots, pair, salt), evs, slots))

    totals = {i: (PlayerTotals(budget_flops=player_a.simulations * flops[-1]),
                  PlayerTotals(budget_flops=player_b.simulations * flops[-1])) for i in indices}
    comments: dict[int, list[str]] = {i: [] for i in indices}
    labels = {"a": a.label, "b": b.label}
    outcomes = []
    while any(search.active_games() for search, _, _ in groups):
        for search, evaluator, slots in groups:
            if not search.active_games():
                continue
            for r in search.run_move(evaluator):
                index = slots[r.game]
                side = 0 if r.player == a_colour_of(index) else 1
                totals[index][side].add_move(r.flops, r.simulations, r.evals_per_exit.tolist())
                comments[index].append(f"{labels['ab'[side]]}: value {r.root_value:+.3f}, {r.simulations} simulations, "
                                       f"{r.flops:.3g} FLOPs, evaluations per exit {r.evals_per_exit.tolist()}")
                if r.game_over:
                    board = search.board(r.game)
                    outcomes.append(GameOutcome(
                        index=index, a_colour=a_colour_of(index), winner=search.winner(r.game),
                        score=float(board.score()), moves=list(board.history), comments=comments[index],
                        a=totals[index][0], b=totals[index][1]))
    return sorted(outcomes, key=lambda o: o.index)


def map_chunks(fn: Callable[..., list[GameOutcome]], args: tuple, chunks: list[list[int]],
               workers: int | None, executor: str = "ray") -> Iterator[list[GameOutcome]]:
    """Run `fn(*args, chunk, threads=1)` for every chunk and yield each chunk's outcomes as
    it completes: in this process when `workers` is 0, else as Ray tasks (a local Ray is
    started if none is running; at most `workers` at once when given) or, with executor
    "processes", in a pool of `workers` (default: CPU count) spawned processes. One torch
    thread per chunk: the batches are small and the CPUs are shared by the tasks."""
    if workers == 0:
        for chunk in chunks:
            yield fn(*args, chunk, threads=1)
        return
    if executor == "processes":
        from concurrent.futures import as_completed

        futures = [process_pool(workers or os.cpu_count() or 1).submit(fn, *args, chunk, threads=1) for chunk in chunks]
        try:
            for future in as_completed(futures):
                yield future.result()
        finally:
            for future in futures:
                future.cancel()
        return
    import ray

    if not ray.is_initialized():
        ray.init(include_dashboard=False, log_to_driver=False, configure_logging=False)
    remote = ray.remote(num_cpus=1)(fn)
    limit = workers or len(chunks)
    shared = [ray.put(x) for x in args]
    queue, pending = list(chunks), []
    try:
        while queue or pending:
            while queue and len(pending) < limit:
                pending.append(remote.remote(*shared, queue.pop(0), threads=1))
            done, pending = ray.wait(pending, num_returns=1)
            yield ray.get(done[0])
    finally:
        for ref in pending:
            ray.cancel(ref, force=True)


_POOLS: dict[int, Any] = {}


def process_pool(workers: int):
    """A pool of `workers` spawned processes, kept for the next match (its processes keep
    their networks loaded) and shut down at exit."""
    if workers not in _POOLS:
        import atexit
        import multiprocessing
        from concurrent.futures import ProcessPoolExecutor

        pool = ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("spawn"))
        atexit.register(pool.shutdown, cancel_futures=True)
        _POOLS[workers] = pool
    return _POOLS[workers]


def chunk_size(config: MatchConfig) -> int:
    """Games per chunk: `games_per_task`, or with 0 the games spread evenly over the workers."""
    if config.games_per_task:
        return config.games_per_task
    workers = config.workers or (os.cpu_count() or 1)
    return -(-config.games // workers)


def chunked(indices: Sequence[int], size: int) -> list[list[int]]:
    """`indices` cut into consecutive chunks of at most `size`."""
    return [list(indices[i:i + size]) for i in range(0, len(indices), size)]


def run_match(a: PlayerSpec, b: PlayerSpec, config: MatchConfig, out: str | Path | None = None,
              show_progress: bool = True, title: str = "") -> MatchReport:
    """Play `config.games` games between A and B (both with checkpoints filled in), write an
    SGF per game and `match.json` under `out` (if given), and return the report."""
    if not (a.checkpoint and b.checkpoint):
        raise ValueError("run_match needs both players' checkpoints (see spec.default_network)")
    flops = [network_flops(spec.checkpoint) for spec in (a, b)]
    for spec, spec_flops in zip((a, b), flops):  # bad specs fail here, before any game starts
        spec.search_player(spec_flops, config.budget)
    if len(flops[0]) != len(flops[1]) or not np.allclose(*flops):
        raise ValueError(f"A's and B's networks have different per-exit FLOPs ({flops[0]} and {flops[1]}): "
                         "one match charges one FLOPs table")
    chunks = chunked(range(config.games), chunk_size(config))
    report = collect(a, b, config.budget, map_chunks(play_games, (a, b, config), chunks, config.workers, config.executor),
                     config.games, show_progress, title)
    return save_report(report, out, config)


def save_report(report: MatchReport, out: str | Path | None, config: MatchConfig) -> MatchReport:
    """Write the SGF of every game and `match.json` under `out` (when given); returns `report`."""
    if out is not None:
        out = Path(out)
        write_sgfs(report, out, config.board_size, config.komi)
        report.out = str(out)
        write_json(out / "match.json", report.to_dict())
    return report


def run_dir(kind: str, runs: str | Path = "runs") -> Path:
    """A fresh run directory `runs/<kind>-YYYYmmdd-HHMMSS[-n]`."""
    stamp = time.strftime("%Y%m%d-%H%M%S")
    path = Path(runs) / f"{kind}-{stamp}"
    n = 1
    while path.exists():
        n += 1
        path = Path(runs) / f"{kind}-{stamp}-{n}"
    path.mkdir(parents=True)
    return path

