"""Matches between two search players, many games at once: the games of a match are cut into
chunks, each chunk one call of the match loop of dpv.play.match (one Ray task per chunk, a
process of a local pool, or all in this process with `workers=0`), and the chunks' games are
gathered into a report (dpv.arena.report).

The players may use any two networks (different blocks, channels and number of exits): each
is budgeted and charged by its own network's FLOPs. The search plays in the `match` role of
dpv.play.settings (no noise, no resignation, every move from a fresh tree); the first
`search.opening_moves` plies are sampled in proportion to the visit counts (temperature 1), to
keep games distinct, and every later move is the most visited one.
"""
from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

from dpv.arena.report import GameOutcome, MatchReport, PlayerTotals, collect, write_json, write_sgfs
from dpv.arena.spec import BUDGET_MODES, PlayerSpec
from dpv.play.match import MatchPlayer, PlayedGame, play_games
from dpv.play.networks import load_evaluator, network_flops
from dpv.play.settings import SearchSettings, default_settings


@dataclass
class MatchConfig:
    """How a match is played (the players are PlayerSpecs)."""

    games: int = 100
    budget: str = "equal-flops"
    """equal-flops, equal-sims or equal-time (dpv.arena.spec)."""
    ms_per_move: float | None = None
    """Milliseconds of the clock per move with budget equal-time (required there, else None):
    the time of one batched move of a chunk's games (dpv.play.match)."""
    search: SearchSettings = field(default_factory=lambda: default_settings("match"))
    """The search settings of both players (c_puct, leaves_per_tree, opening_moves,
    sensible_moves, ...; noise and resignation are off in a match)."""
    board_size: int = 9
    komi: float = 7.5
    max_moves: int | None = None
    """Move cap of a game (None: the board's default, 2 x size^2)."""
    games_per_task: int = 8
    """Games per chunk (one batched search each); 0: the games spread evenly over the workers."""
    workers: int | None = None
    """Chunks played at once (None: as many as Ray's CPUs allow); 0 plays in this process."""
    executor: str = "ray"
    """ray: Ray tasks (a local Ray, or the cluster of RAY_ADDRESS); processes: a local process
    pool of `workers` processes (machines without Ray)."""
    device: str = "cpu"
    seed: int = 0

    RENAMED_KEYS: ClassVar[dict[str, str]] = {key: f"search.{key}" for key in
                                              ("opening_moves", "c_puct", "leaves_per_tree", "sensible_moves")}
    """Keys that moved into `search` (dpv.config reports an old one as a ConfigError)."""

    def __post_init__(self) -> None:
        checks = [
            (self.games >= 1, "games must be >= 1"),
            (self.budget in BUDGET_MODES, f"budget must be one of {', '.join(BUDGET_MODES)}"),
            (self.budget != "equal-time" or self.ms_per_move is not None,
             "budget equal-time needs ms_per_move (--ms-per-move M)"),
            (self.ms_per_move is None or self.budget == "equal-time",
             "ms_per_move is the budget of equal-time: use it with budget equal-time"),
            (self.ms_per_move is None or self.ms_per_move > 0, f"ms_per_move must be > 0, got {self.ms_per_move}"),
            (self.games_per_task >= 0, "games_per_task must be >= 0"),
            (self.workers is None or self.workers >= 0, "workers must be >= 0"),
            (self.executor in ("ray", "processes"), "executor must be ray or processes"),
        ]
        for ok, message in checks:
            if not ok:
                raise ValueError(message)

    @property
    def budget_label(self) -> str:
        """The budget as reports name it: the mode, with the time per move for equal-time."""
        return f"equal-time {self.ms_per_move:g} ms/move" if self.budget == "equal-time" else self.budget

    @property
    def seconds_per_move(self) -> float | None:
        """The clock's time per move (equal-time), else None."""
        return None if self.ms_per_move is None else self.ms_per_move / 1000


# ---------------------------------------------------------------------------- playing games

def play_chunk(a: PlayerSpec, b: PlayerSpec, config: MatchConfig, indices: Sequence[int],
               threads: int | None = None) -> list[GameOutcome]:
    """Play the games numbered `indices` between A and B (checkpoints filled in) to the end."""
    if threads:
        import torch

        torch.set_num_threads(threads)
    sides = []
    for spec in (a, b):
        evaluator, flops = load_evaluator(spec.checkpoint, config.device)
        sides.append(MatchPlayer(evaluator, spec.search_player(flops, config.budget)))
    played = play_games(*sides, indices, config.search, board_size=config.board_size, komi=config.komi,
                        max_moves=config.max_moves, seed=config.seed * 1_000_003 + 2 * min(indices),
                        seconds_per_move=config.seconds_per_move)
    return [outcome_of(game, sides, (a.label, b.label), flops_budget=config.budget != "equal-time")
            for game in played]


def outcome_of(game: PlayedGame, sides: Sequence[MatchPlayer], labels: Sequence[str],
               flops_budget: bool = True) -> GameOutcome:
    """A played game as the report's GameOutcome: each side's spending, a comment per move.
    `flops_budget` False (equal-time): the players had no FLOPs budget per move, only a clock."""
    totals = [PlayerTotals(budget_flops=side.player.simulations * side.player.exit_flops[-1] if flops_budget else 0.0)
              for side in sides]
    comments = []
    for move in game.searches:
        totals[move.side].add_move(move.flops, move.simulations, move.evals_per_exit, move.seconds)
        comments.append(f"{labels[move.side]}: value {move.root_value:+.3f}, {move.simulations} simulations, "
                        f"{move.flops:.3g} FLOPs, evaluations per exit {list(move.evals_per_exit)}")
    return GameOutcome(index=game.index, a_colour=game.a_colour, winner=game.winner, score=game.score,
                       moves=list(game.moves), comments=comments, a=totals[0], b=totals[1])


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
    """Play `config.games` games between A and B (both with checkpoints filled in; any two
    networks), write an SGF per game and `match.json` under `out` (if given), and return the
    report."""
    if not (a.checkpoint and b.checkpoint):
        raise ValueError("run_match needs both players' checkpoints (see dpv.play.networks.default_network)")
    for spec in (a, b):  # bad specs fail here, before any game starts
        spec.search_player(network_flops(spec.checkpoint), config.budget)
    chunks = chunked(range(config.games), chunk_size(config))
    games = map_chunks(play_chunk, (a, b, config), chunks, config.workers, config.executor)
    report = collect(a, b, config.budget_label, games, config.games, show_progress, title)
    return save_report(report, out, config)


def save_report(report: MatchReport, out: str | Path | None, config: MatchConfig) -> MatchReport:
    """Write the SGF of every game and `match.json` under `out` (when given); returns `report`."""
    if out is not None:
        out = Path(out)
        write_sgfs(report, out, config.board_size, config.komi)
        report.out = str(out)
        write_json(out / "match.json", report.to_dict())
    return report


def prepare_out(path: str | Path) -> Path:
    """The run directory `path`, created if needed and checked to take files (a probe file is
    written and removed), before any game is played; an OSError names the path and why."""
    import tempfile

    out = Path(path)
    out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryFile(dir=out):
        pass
    return out


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

