"""The driver of `dpv launch selfplay`: it starts the actors and runs the training cycle
(dpv.selfplay.cycle) until a limit is reached, carrying out the cycle's actions, and reports.

Everything the run needs is validated before any actor starts (dpv.selfplay.preflight), in a
run directory locked for the life of the run (dpv.selfplay.lock); an actor that fails to start
anyway stops the run with its own error, in one line. The run directory's layout is
dpv.selfplay.rundir's, the run state's keys are dpv.selfplay.state's, where the actors go is
dpv.selfplay.placement's. The driver's loop never waits on an actor: the calls it waits for
(a worker's `run`, the learner's `train`, the gating `evaluate`, a promotion's `set_weights`)
and the actors' statistics (dpv.selfplay.stats) are polled.

Faults: Ray restarts any actor whose process dies (`max_restarts=-1`). Every actor counts its
starts in the run state, so the driver sees each restart (`Driver.restarts`, a line on stderr
and a `restart` line in metrics.jsonl). A call the driver waits on that failed because its
actor died is submitted again to the restarted actor (a `resubmit` line): the learner resumes
from its newest checkpoint, the servers reload best.pt at the run state's best_version,
workers resend the requests the dead server did not answer. `--resume` continues a stopped run
from its run directory: the same game store, best network and version, buffer window, learner
checkpoint, and the history of its cycles, once the store is seen to hold every game the run
recorded. A damaged game record is quarantined (one line, a `quarantine` line in
metrics.jsonl), never a reason to stop.
"""
from __future__ import annotations

import dataclasses
import functools
import os
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from dpv.config import to_dict
from dpv.progress import Progress
from dpv.selfplay.actors import RestartWatch, RunActors
from dpv.selfplay.config import SelfPlayConfig
from dpv.selfplay.cycle import (
    Cycle,
    Gate,
    Gated,
    Limits,
    PauseSelfPlay,
    Phase,
    Promote,
    ResumeSelfPlay,
    StopWorkers,
    SwitchExit,
    Train,
    Trained,
)
from dpv.selfplay.errors import RunError
from dpv.selfplay.init_from import write_initial
from dpv.selfplay.lock import RunLock
from dpv.selfplay.messages import GatingRecord, Placement, TrainingCycle, WorkerCounters
from dpv.selfplay.metrics import MetricsSnapshot, RunMetrics
from dpv.selfplay.plot import plot_gating
from dpv.selfplay.preflight import check_address, check_devices, check_metrics_host, check_resume, check_store
from dpv.selfplay.records import RecordError, SelfPlayGame, decode
from dpv.selfplay.retry import RemoteCall
from dpv.selfplay.rundir import EventLog, RunDir, file_errors
from dpv.selfplay.state import RunState
from dpv.selfplay.stats import CpuMeter, GameTally, StatsPoller, Throughput, local_actor_pids, throughput
from dpv.selfplay.store import EmbeddedRedis, GameStore

POLL_S = 0.5
SHOW_S = 1.0  # the progress line is rebuilt this often
LOG_PROGRESS_S = 30.0  # and logged to metrics.jsonl this often


@dataclass
class RunSummary:
    """What a run did (summary.json): counts, rates, training cycles, gating results, actors'
    memory and where each actor ran, restarts of each actor this session, its CPU seconds."""

    run_dir: str
    games: int = 0
    positions: int = 0
    seconds: float = 0.0
    learner_step: int = 0
    best_version: int = 0
    cycles: list[TrainingCycle] = field(default_factory=list)
    gating: list[GatingRecord] = field(default_factory=list)
    throughput: Throughput | None = None
    """Self-play's rates, from the workers' start until the last of them returned."""
    actor_rss_mib: dict[str, float] = field(default_factory=dict)
    server_versions: list[int] = field(default_factory=list)
    server_backends: list[str] = field(default_factory=list)
    """Inference backend of each server (ServerStats.backend), as last polled."""
    placement: dict[str, Placement] = field(default_factory=dict)
    restarts: dict[str, int] = field(default_factory=dict)
    cpu_s: float = 0.0
    """CPU seconds the run's processes used in this session (dpv.selfplay.stats.CpuMeter)."""
    selfplay_evals_per_exit: list[int] = field(default_factory=list)
    """Leaf evaluations of this session's self-play games answered by each exit (the records')."""

    @property
    def promotions(self) -> int:
        """How many candidates were promoted."""
        return sum(g.promote for g in self.gating)


def progress_text(summary: RunSummary, rates: Throughput, phase: Phase) -> str:
    """The progress line: games, rates, learner step, the servers' backends, last losses and
    gating, what is running."""
    text = (f"games {summary.games}  {rates.positions_per_s:.1f} pos/s  {rates.evals_per_s:,.0f} evals/s  "
            f"batch {rates.mean_batch:.0f}  wait {rates.wait_share:.0%}  step {summary.learner_step}")
    if summary.server_backends:
        text += "  " + ",".join(dict.fromkeys(summary.server_backends))
    if summary.cycles:
        last = summary.cycles[-1]
        text += "  loss p " + "/".join(f"{v:.2f}" for v in last.policy_loss)
        text += " v " + "/".join(f"{v:.2f}" for v in last.value_loss)
    if summary.gating:
        g = summary.gating[-1]
        text += f"  gate {g.win_rate:.0%}{' promoted' if g.promote else ''}  best v{summary.best_version}"
    if phase is not Phase.WAITING:
        text += f"  [{phase.value}]"
    return text


class Driver:
    """One self-play run: starts the actors, carries out the cycle's actions, reports, stops."""

    def __init__(self, cfg: SelfPlayConfig, run_dir: Path, resume: bool = False,
                 max_games: int | None = None, max_hours: float | None = None, quiet: bool = False,
                 init_from: str | None = None) -> None:
        self.cfg = cfg
        self.init_from = init_from
        self.dir = RunDir(run_dir)
        self.resume = resume
        self.quiet = quiet
        self.summary = RunSummary(run_dir=str(run_dir))
        self.progress = Progress()
        self.team: RunActors | None = None
        self.exporter = RunMetrics()
        self.events: EventLog | None = None
        self.embedded = None if cfg.store.redis_url else EmbeddedRedis(self.dir.redis)
        try:
            self._open(max_games, max_hours)
        except BaseException:
            self.close(save=False)  # nothing to save yet; an RDB that holds games a damaged AOF lost stays
            raise

    def _open(self, max_games: int | None, max_hours: float | None) -> None:
        """Connect to the store and check it against the run; on resume, read the run's history
        back and write the SGF files of games stored after the last driver's read."""
        cfg = self.cfg
        url = cfg.store.redis_url or self.embedded.url
        self.store = GameStore(url, cfg.store.prefix)
        self.state = RunState(self.store)
        stored = self.store.num_games()
        if not self.resume and stored:
            raise RunError(f"the game store at {url} (prefix '{cfg.store.prefix}') already holds "
                           f"{stored} games: pass --resume or change store.prefix")
        if self.resume:
            check_store(self.dir, stored, url, self.embedded is not None)
            self.summary.cycles, self.summary.gating = self.dir.read_history()
        self.events = EventLog(self.dir.events)
        self.quarantined = set(self.state.quarantined())  # reported in an earlier session
        self.watch = RestartWatch(self.state)  # before any actor of this session starts
        self._workers_before = [self.state.worker_counters(i) for i in range(cfg.worker.workers)]
        self.start = time.perf_counter()
        self.tally = GameTally()
        if self.resume:
            from dpv.selfplay.learner import latest_step

            self.tally = GameTally(seen=stored, positions=self.store.num_positions())
            self.summary.learner_step = latest_step(self.dir.checkpoints)
            self.summary.best_version = self.state.best_version
            if cfg.worker.sgf:
                self.write_missing_sgf(stored)
        self.cycle = Cycle(cfg.learner, cfg.net.num_exits, cfg.seed, Limits(max_games, max_hours),
                           cycle_games=self.state.cycle_games, step=self.summary.learner_step,
                           best_version=self.summary.best_version)
        self.training: RemoteCall | None = None
        self.selfplay_s: float | None = None  # seconds from the workers' start until the last returned
        self.gating: RemoteCall | None = None
        self.pushes: dict[str, RemoteCall] = {}  # server name -> its set_weights of the last promotion
        self._shown = self._logged = float("-inf")

    def write_missing_sgf(self, stored: int) -> None:
        """The SGF files of the `stored` games that have none (stored after the last read of a
        driver that died), quarantined games left out."""
        have = self.dir.sgf_ids() | self.quarantined
        missing = [i for i in range(stored) if i not in have]
        if not missing:
            return
        for game_id, data in enumerate(self.store.games(missing[0], stored), missing[0]):
            if game_id not in have and (game := self.decode(game_id, data)) is not None:
                self.dir.write_sgf(game, game_id)

    @property
    def actors(self) -> dict[str, Any]:
        """The run's actors by name (none before they start and after the run)."""
        return {} if self.team is None else self.team.named()

    @property
    def restarts(self) -> dict[str, int]:
        """Restarts seen of each actor that restarted this session."""
        return dict(self.watch.seen)

    def initial_model(self) -> None:
        """Write the initial network (checkpoints/initial.pt: random, or --init-from's weights) as
        best.pt, version 0."""
        write_initial(self.dir.root, self.dir.initial, self.cfg.net, self.cfg.seed, self.init_from)
        self.dir.promote(self.dir.initial)
        self.state.best_version = 0
        if self.cfg.search.fixed_exit is not None:  # an adaptive policy has no self-play exit
            self.state.selfplay_exit = self.cfg.search.fixed_exit

    def run(self) -> RunSummary:
        """Play, train, gate and promote until a limit is reached; then stop the workers,
        finish the cycle in flight, write the plot and the summary."""
        try:
            return self._run()
        finally:
            self.close()

    def _run(self) -> RunSummary:
        import ray

        from dpv.selfplay.placement import plan

        gpus = int(ray.cluster_resources().get("GPU", 0))
        check_devices(self.cfg, gpus)
        url = self.exporter.serve(self.cfg.metrics)
        if url and not self.quiet:
            print(f"metrics: {url}", file=sys.stderr)
        if not self.resume:
            self.initial_model()
        self.state.stop = False
        self.state.paused = False
        self.team = RunActors.start(self.cfg, self.dir, self.store.url, plan(self.cfg, gpus))
        self.team.wait_started()
        if not self.resume:
            self.dir.write_config(self.cfg)  # the run has started: a retry must --resume it
        self.stats = StatsPoller(self.team.servers, self.team.buffer)
        self.cpu = CpuMeter()
        self.cpu.add(local_actor_pids(list(self.actors.values())))  # a cluster's actors on this machine
        self.start = time.perf_counter()
        runs = [self.call(f"worker-{i}", w.run.remote) for i, w in enumerate(self.team.workers)]
        self.events.log("start", config=to_dict(self.cfg), resume=self.resume, metrics_url=url)
        while True:
            self.carry_out(self.cycle.tick(self.store.num_games(), time.perf_counter() - self.start,
                                           self.store.num_positions()))
            self.poll_calls()
            self.read_new_games()
            self.stats.poll()
            self.report_quarantine()
            self.show()
            self.check_restarts()
            if self.exporter.due():
                self.exporter.update(self.snapshot())
            runs = [call for call in runs if not call.poll()[0]]  # a worker returns once the run stops
            if not runs and self.selfplay_s is None:
                self.selfplay_s = time.perf_counter() - self.start  # the span the throughput covers
            if self.cycle.finished(workers_running=bool(runs)) and not self.pushes:
                break
            time.sleep(POLL_S)
        self.read_new_games()
        return self.finish()

    def call(self, actor: str, submit: Any) -> RemoteCall:
        """A remote call to `actor` that is sent again, with a `resubmit` line in metrics.jsonl,
        when the actor died with it in flight."""
        return RemoteCall(actor, submit, lambda err: self.events.log("resubmit", actor=actor,
                                                                      error=type(err).__name__))

    def carry_out(self, actions: list[Any]) -> None:
        """Do what the cycle asks, in order."""
        for action in actions:
            match action:
                case Train(steps=steps, games=games):
                    submit = functools.partial(self.team.learner.train.remote, steps, games)
                    self.training = self.call("learner", submit)
                case Trained(cycle=record, cycle_games=cycle_games):
                    record = dataclasses.replace(record, cpu_s=round(self.cpu.seconds(), 2))
                    self.state.cycle_games = cycle_games  # a cycle lost with the driver reruns on --resume
                    self.summary.cycles.append(record)
                    self.summary.learner_step = record.step
                    self.events.log("train", **dataclasses.asdict(record))
                case SwitchExit(exit=exit_):
                    self.state.selfplay_exit = exit_
                case Gate(candidate=candidate, seed=seed):
                    submit = functools.partial(self.team.gating.evaluate.remote, candidate, str(self.dir.best), seed)
                    self.gating = self.call("gating", submit)
                case Promote(candidate=candidate, version=version):
                    self.promote(candidate, version)
                case Gated(gating=record):
                    self.summary.gating.append(record)
                    self.events.log("gating", **dataclasses.asdict(record))
                    plot_gating(self.summary.gating, self.cfg.gating.threshold, self.dir.gating_plot)
                case PauseSelfPlay():
                    self.state.paused = True
                case ResumeSelfPlay():
                    self.state.paused = False
                case StopWorkers():
                    self.state.stop = True
                case _:
                    raise TypeError(f"unknown cycle action {action!r}")

    def poll_calls(self) -> None:
        """Feed the cycle the learner's and the gating's answers once they are in; forget the
        weight pushes that arrived."""
        if self.training is not None:
            done, result = self.training.poll()
            if done:
                self.training = None
                self.carry_out(self.cycle.trained(result, self.store.num_games()))
        if self.gating is not None:
            done, result = self.gating.poll()
            if done:
                self.gating = None
                self.carry_out(self.cycle.gated(result))
        self.pushes = {name: call for name, call in self.pushes.items() if not call.poll()[0]}

    def promote(self, candidate: str, version: int) -> None:
        """Make `candidate` the best network: best.pt, the version in the run state, then the
        weights to every server (a server that restarts meanwhile reads best.pt and the version
        itself)."""
        import ray

        from dpv.nets.checkpoint import load_checkpoint

        self.dir.promote(candidate)
        self.state.best_version = version
        weights = ray.put(load_checkpoint(candidate).model.state_dict())
        for i, server in enumerate(self.team.servers):
            self.pushes[f"server-{i}"] = self.call(f"server-{i}",
                                                   functools.partial(server.set_weights.remote, weights, version))
        self.summary.best_version = version

    def read_new_games(self) -> None:
        """Count the games stored since the last call, write their SGF files and the run's game
        count (games.txt); a damaged record is quarantined. A store that holds fewer games than
        were read (it lost some) stops the run."""
        total = self.store.num_games()
        if total == self.tally.seen:
            return
        if total < self.tally.seen:  # new games would take the lost ones' ids
            raise RunError(f"the game store lost games: it holds {total}, the run has read {self.tally.seen}; "
                           "the run stops (repair the store, then --resume)")
        for game_id, data in enumerate(self.store.games(self.tally.seen, total), self.tally.seen):
            game = self.decode(game_id, data)
            if game is None:
                self.tally.skip()
                continue
            if self.cfg.worker.sgf:
                self.dir.write_sgf(game, game_id)
            self.tally.add(game)
        self.dir.record_games(total)
        self.summary.selfplay_evals_per_exit = list(self.tally.evals_per_exit)
        self.summary.games = total
        self.summary.positions = self.tally.positions

    def decode(self, game_id: int, data: bytes) -> SelfPlayGame | None:
        """The stored game `game_id`, or None when its record is damaged (then quarantined)."""
        try:
            return decode(data)
        except RecordError as err:
            self.state.quarantine(game_id, str(err))
            return None

    def report_quarantine(self) -> None:
        """One line on stderr and a `quarantine` line in metrics.jsonl for each game record set
        aside (by the buffer or the driver) and not reported yet."""
        if self.state.num_quarantined() == len(self.quarantined):
            return
        for game_id, reason in sorted(self.state.quarantined().items()):
            if game_id not in self.quarantined:
                self.quarantined.add(game_id)
                self.events.log("quarantine", game=game_id, reason=reason)
                self.say(f"game {game_id}: damaged record set aside ({reason}); training goes on without it")

    def say(self, line: str) -> None:
        """A line on stderr, above the progress line (nothing when quiet)."""
        if not self.quiet:
            stream = self.progress.stream
            clear = "\r\x1b[K" if self.progress.tty else ""  # over the progress line
            stream.write(f"{clear}{line}\n")
            stream.flush()

    def check_restarts(self) -> None:
        """One line on stderr and one in metrics.jsonl for each restart not reported yet."""
        for actor, restarts in self.watch.check(list(self.actors)):
            self.events.log("restart", actor=actor, restarts=restarts)
            self.say(f"{actor} died and was restarted by Ray (restarts of {actor}: {restarts})")

    def worker_counters(self) -> list[WorkerCounters]:
        """Each worker's counters in this session (those of earlier sessions taken off)."""
        return [self.state.worker_counters(i).minus(before) for i, before in enumerate(self._workers_before)]

    def throughput(self) -> Throughput:
        """Rates since the start of this session, from the last statistics in."""
        return throughput(time.perf_counter() - self.start, self.stats.server_totals(), self.worker_counters())

    def snapshot(self) -> MetricsSnapshot:
        """The numbers the metrics export, now."""
        summary, selfplay_exit = self.summary, self.state.selfplay_exit
        return MetricsSnapshot(
            games=self.store.num_games(), positions=self.store.num_positions(), search_moves=self.tally.moves,
            search_flops=self.tally.flops,
            selfplay_exit=self._selfplay_exit(selfplay_exit),
            workers=[self.state.worker_counters(i) for i in range(self.cfg.worker.workers)],
            servers=dict(self.stats.servers), buffer=self.stats.buffer, best_version=summary.best_version,
            learner_step=summary.learner_step, cycles=len(summary.cycles),
            last_cycle=summary.cycles[-1] if summary.cycles else None, gating_threshold=self.cfg.gating.threshold,
            gating_games=sum(g.games for g in summary.gating), gatings=len(summary.gating),
            promotions=summary.promotions, last_win_rate=summary.gating[-1].win_rate if summary.gating else None,
            quarantined=len(self.quarantined),
            restarts={name: self.watch.seen.get(name, 0) for name in sorted(set(self.actors) | set(self.watch.seen))})

    def _selfplay_exit(self, stored: int | None) -> int:
        """The exit the metrics name: the run state's, else the config's fixed one, -1 (the
        deepest, the exit an adaptive policy falls back to) for an adaptive policy."""
        if stored is not None:
            return stored
        fixed = self.cfg.search.fixed_exit
        return -1 if fixed is None else fixed

    def show(self) -> None:
        """The progress line every SHOW_S (and a `progress` line in metrics.jsonl every
        LOG_PROGRESS_S)."""
        now = time.perf_counter()
        if now - self._shown < SHOW_S:
            return
        self._shown = now
        rates = self.throughput()
        self.summary.server_backends = [s.backend for s in self.stats.servers.values()]
        if not self.quiet:
            self.progress.update(progress_text(self.summary, rates, self.cycle.phase))
        if now - self._logged >= LOG_PROGRESS_S:
            self._logged = now
            self.events.log("progress", games=self.summary.games, step=self.summary.learner_step,
                            cpu_s=round(self.cpu.seconds(), 2), selfplay_evals_per_exit=self.tally.evals_per_exit,
                            **dataclasses.asdict(rates))

    def finish(self) -> RunSummary:
        """Fresh statistics, servers' versions, actors' memory and placement, the plot, the
        last metrics and summary.json."""
        from dpv.selfplay.placement import actor_placement, actor_rss_mib

        if not self.quiet:
            self.progress.close()
        self.summary.seconds = time.perf_counter() - self.start
        self.summary.cpu_s = round(self.cpu.seconds(), 2)
        self.stats.refresh()
        # Self-play's rates once every worker has returned and flushed its counters (a worker
        # adds them to the run state every few seconds: a rate read at the stop could miss them).
        self.summary.throughput = throughput(self.selfplay_s or self.summary.seconds, self.stats.server_totals(),
                                             self.worker_counters())
        self.summary.server_versions = [s.version for s in self.stats.server_totals()]
        self.summary.server_backends = [s.backend for s in self.stats.server_totals()]
        self.check_restarts()
        self.summary.restarts = self.restarts
        for name, actor in self.actors.items():
            self.summary.actor_rss_mib[name] = round(actor_rss_mib(actor), 1)
            self.summary.placement[name] = actor_placement(actor)
        if self.summary.gating:
            plot_gating(self.summary.gating, self.cfg.gating.threshold, self.dir.gating_plot)
        self.exporter.update(self.snapshot())
        data = self.dir.write_summary(self.summary)
        self.events.log("end", **{k: v for k, v in data.items() if k not in ("cycles", "gating")})
        return self.summary

    def close(self, save: bool = True) -> None:
        """Release the actors and stop the embedded Redis (its data stay in the run directory;
        redis.rdb is rewritten unless not `save`), whether the run ended or failed."""
        if self.team is not None:
            self.team.kill()
            self.team = None
        if self.events is not None:
            self.events.close()
        self.exporter.close(self.dir.metrics)
        if self.embedded is not None:
            self.embedded.close(save)
            self.embedded = None


def launch(cfg: SelfPlayConfig, run_dir: str | Path, address: str | None = None, max_games: int | None = None,
           max_hours: float | None = None, resume: bool = False, quiet: bool = False,
           init_from: str | None = None) -> RunSummary:
    """Run self-play with `cfg` in `run_dir` on the Ray at `address` (a local Ray is started
    when none is running and no address is given), holding the run directory's lock; every
    check that needs no actor comes first (a RunError, one line). `init_from`: a checkpoint whose
    weights are version 0 (dpv.selfplay.init_from)."""
    check_address(address)
    check_metrics_host(cfg.metrics)
    run_dir = Path(run_dir)
    with file_errors(run_dir, "cannot create the run directory"):
        run_dir.mkdir(parents=True, exist_ok=True)
    with RunLock(run_dir) as lock:
        if lock.taken_over:
            print(f"{lock.path}: taking over the lock of {lock.taken_over}, which no longer runs", file=sys.stderr)
        RunDir(run_dir).prepare(resume)
        if resume:
            check_resume(cfg, RunDir(run_dir))
        driver = Driver(cfg, run_dir, resume, max_games, max_hours, quiet, init_from)
        try:
            own_ray = start_ray(address, cfg.worker.workers)
        except BaseException:
            driver.close()
            raise
        try:
            return driver.run()
        finally:
            if own_ray:
                import ray

                ray.shutdown()


def start_ray(address: str | None, workers: int) -> bool:
    """Connect to the Ray at `address`, or start a local one (with a CPU per worker at least)
    unless one is connected already; whether this call started the connection."""
    import ray

    if ray.is_initialized():
        return False
    try:
        ray.init(address=address, include_dashboard=False, log_to_driver=False, configure_logging=False,
                 **({} if address else {"num_cpus": max(os.cpu_count() or 1, workers)}))
    except ConnectionError as err:
        raise RunError(f"--address {address}: {str(err).splitlines()[0]}") from None
    return True
