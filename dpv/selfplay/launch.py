"""The driver of `dpv launch selfplay`: run directory, game store, actors, the training cycle
(train -> gate -> promote), progress, metrics and the gating plot.

Everything the run needs is validated before any actor starts. The run directory holds
`config.yaml` (the validated config), `checkpoints/` (initial.pt, one step-N.pt per training
cycle), `best.pt` (the promoted network), `sgf/` (every game), `redis/` (the embedded game
store), `metrics.jsonl` (progress, training cycles and gating results as JSON lines),
`gating.png`, `summary.json` and `metrics.prom` (the last Prometheus metrics, dpv.selfplay.metrics).

Faults: Ray restarts any actor whose process dies (`max_restarts=-1`). Every actor counts its
starts in the game store, so the driver sees each restart (`Driver.restarts`, a line on stderr
and a `restart` line in metrics.jsonl). A call the driver waits on (a worker's `run`, the
learner's `train`, the gating `evaluate`) that failed because its actor died is submitted again
to the restarted actor: the learner resumes from its newest checkpoint, the servers reload
best.pt at the store's best_version, workers resend the requests the dead server did not
answer. `--resume` continues a stopped run from its run directory: the same game store, best
network and version, buffer window, learner checkpoint, and the history of its cycles.
"""
from __future__ import annotations

import dataclasses
import json
import os
import shutil
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from dpv.config import to_dict
from dpv.progress import Progress
from dpv.selfplay.config import SelfPlayConfig
from dpv.selfplay.metrics import RunMetrics
from dpv.selfplay.records import SelfPlayGame, decode
from dpv.selfplay.retry import call_actor
from dpv.selfplay.store import EmbeddedRedis, GameStore

POLL_S = 0.5
#: Inference server counters (stats()) that add up over a server's restarts.
COUNTERS = ("requests", "rows", "batches", "forward_s", "queue_s")


@dataclass
class RunSummary:
    """What a run did: counts, rates, training cycles, gating results, actors' memory and
    where each actor ran (`placement`: node id, node IP, resources Ray assigned, torch device),
    restarts of each actor this session."""

    run_dir: str
    games: int = 0
    positions: int = 0
    seconds: float = 0.0
    learner_step: int = 0
    best_version: int = 0
    cycles: list[dict[str, Any]] = field(default_factory=list)
    gating: list[dict[str, Any]] = field(default_factory=list)
    throughput: dict[str, float] = field(default_factory=dict)
    actor_rss_mib: dict[str, float] = field(default_factory=dict)
    server_versions: list[int] = field(default_factory=list)
    placement: dict[str, dict[str, Any]] = field(default_factory=dict)
    restarts: dict[str, int] = field(default_factory=dict)

    @property
    def promotions(self) -> int:
        """How many candidates were promoted."""
        return sum(g["promote"] for g in self.gating)


def prepare_run_dir(cfg: SelfPlayConfig, run_dir: Path, resume: bool) -> None:
    """Create (or, with `resume`, check) the run directory and write the config copy."""
    config_copy = run_dir / "config.yaml"
    if resume and not config_copy.is_file():
        raise ValueError(f"{run_dir}: no run to resume (no config.yaml); drop --resume to start one")
    if not resume and config_copy.exists():
        raise ValueError(f"{run_dir} holds a run already: pass --resume to continue it, or another --run-dir")
    for sub in ("checkpoints", "sgf"):
        (run_dir / sub).mkdir(parents=True, exist_ok=True)
    if not resume:
        config_copy.write_text(yaml.safe_dump(to_dict(cfg), sort_keys=False))


def atomic_copy(source: Path, target: Path) -> None:
    """Copy `source` to `target` through a temporary file and a rename."""
    tmp = target.with_name(f".{target.name}.tmp")
    shutil.copyfile(source, tmp)
    os.replace(tmp, target)


def game_to_sgf(game: SelfPlayGame, game_id: int):
    """The dpv.sgf.GameRecord of a stored game (root value per move in the comments)."""
    from dpv.sgf import GameRecord

    name = f"dpv v{game.model_version}"
    return GameRecord(size=game.size, komi=game.komi, moves=[int(a) for a in game.actions],
                      comments=[f"value {v:+.3f}" for v in game.root_values], result=game.result(),
                      black=name, white=name,
                      game_comment=f"game {game_id}, worker {game.worker}, serial {game.serial}, "
                                   f"evaluations per exit {game.evals_per_exit.tolist()}")


def plot_gating(results: list[dict[str, Any]], threshold: float, path: Path) -> None:
    """PNG of the candidates' win rates against the best network per learner step."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 4))
    steps = [r["step"] for r in results]
    rates = [r["win_rate"] for r in results]
    ax.plot(steps, rates, "-", color="0.6")
    for promoted, color, label in ((True, "tab:green", "promoted"), (False, "tab:red", "kept the best")):
        pts = [(s, w) for s, w, r in zip(steps, rates, results) if r["promote"] == promoted]
        if pts:
            ax.scatter(*zip(*pts), color=color, label=label, zorder=3)
    ax.axhline(threshold, color="k", ls="--", lw=1, label=f"promotion at {threshold:.0%}")
    ax.set_xlabel("learner step")
    ax.set_ylabel("candidate win rate vs best")
    ax.set_ylim(0, 1)
    ax.set_title("gating results")
    ax.legend(loc="lower right")
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def actor_rss_mib(actor: Any) -> float:
    """Resident memory of an actor's process in MiB."""
    import ray

    def rss(_self: Any) -> float:
        import psutil

        return psutil.Process().memory_info().rss / 2**20

    return float(ray.get(actor.__ray_call__.remote(rss)))


def actor_placement(actor: Any) -> dict[str, Any]:
    """Where an actor runs: node id and IP, the resources Ray assigned it ({"CPU": 1.0},
    {"GPU": 0.5}, ...), its GPU ids and its torch device (None for actors without one)."""
    import ray

    def where(self: Any) -> dict[str, Any]:
        import ray
        from ray.util import get_node_ip_address

        context = ray.get_runtime_context()
        device = getattr(self, "device", None)
        return {"node_id": context.get_node_id(), "ip": get_node_ip_address(),
                "resources": context.get_assigned_resources(),
                "gpu_ids": [str(g) for g in context.get_accelerator_ids().get("GPU", [])],
                "device": None if device is None else str(device)}

    return ray.get(actor.__ray_call__.remote(where))


def gpu_requests(gpus: int, servers: int, learner: bool) -> tuple[list[float], float]:
    """GPUs each of `servers` inference servers and the learner (if `learner`) request on a
    cluster with `gpus` GPUs (0 without GPUs). They are dealt round-robin onto the GPUs and each
    asks for its share of the GPU it was dealt, so every GPU's requests sum to 1 and Ray cannot
    stack two servers on one GPU while another idles. One server per GPU (the default): server
    0 and the learner share GPU 0 (0.5 each), the other servers get a whole GPU."""
    users = servers + int(learner)
    if gpus <= 0 or users == 0:
        return [0.0] * servers, 0.0
    load = [0] * gpus
    for i in range(users):
        load[i % gpus] += 1
    shares = [1.0 / load[i % gpus] for i in range(users)]
    return shares[:servers], shares[servers] if learner else 0.0


@dataclass
class RemoteCall:
    """A remote call the driver waits on: `submit()` sends it to the actor named `actor`, and
    sends it again when the actor died with the call in flight."""

    actor: str
    submit: Callable[[], Any]
    ref: Any = None

    def __post_init__(self) -> None:
        self.ref = self.submit()


def read_history(metrics_path: Path) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """The training cycles and gating results logged in a run's metrics.jsonl (a line cut
    short by a driver that died is skipped)."""
    cycles: list[dict[str, Any]] = []
    gating: list[dict[str, Any]] = []
    if metrics_path.is_file():
        for line in metrics_path.read_text().splitlines():
            try:
                event = json.loads(line)
            except json.JSONDecodeError:
                continue
            data = {k: v for k, v in event.items() if k not in ("event", "time")}
            if event["event"] == "train":
                cycles.append(data)
            elif event["event"] == "gating":
                gating.append(data)
    return cycles, gating


class Driver:
    """One self-play run: starts the actors, runs the cycle, reports, stops."""

    def __init__(self, cfg: SelfPlayConfig, run_dir: Path, resume: bool = False,
                 max_games: int | None = None, max_hours: float | None = None, quiet: bool = False) -> None:
        self.cfg = cfg
        self.run_dir = run_dir
        self.resume = resume
        self.max_games = max_games
        self.max_hours = max_hours
        self.quiet = quiet
        self.summary = RunSummary(run_dir=str(run_dir))
        if resume:
            self.summary.cycles, self.summary.gating = read_history(run_dir / "metrics.jsonl")
        self.metrics = open(run_dir / "metrics.jsonl", "a")
        self.progress = Progress()
        self.actors: dict[str, Any] = {}
        self.restarts: dict[str, int] = {}  # actor name -> restarts seen (exported as metrics)
        self.exporter = RunMetrics()
        self.embedded = None if cfg.store.redis_url else EmbeddedRedis(run_dir / "redis")
        url = cfg.store.redis_url or self.embedded.url
        self.store = GameStore(url, cfg.store.prefix)
        if not resume and self.store.num_games():
            self.close()
            raise ValueError(f"the game store at {url} (prefix '{cfg.store.prefix}') already holds "
                             f"{self.store.num_games()} games: pass --resume or change store.prefix")
        self.start = time.perf_counter()
        self.seen = self.store.num_games() if resume else 0
        if resume:
            from dpv.selfplay.learner import latest_step

            self.summary.positions = self.store.num_positions()
            self.summary.learner_step = latest_step(run_dir / "checkpoints")
            if cfg.worker.sgf:  # games stored after the last read of a driver that died
                written = len(list((run_dir / "sgf").glob("*.sgf")))
                for offset, data in enumerate(self.store.games(written, self.seen)):
                    self.write_sgf(decode(data), written + offset)
        self.cycle_games = self.store.get_int("cycle_games")
        self.training: RemoteCall | None = None
        self.gating_ref: RemoteCall | None = None
        self._counters_before: list[dict[str, float]] = []  # workers' counters of earlier sessions
        self._starts_before: dict[str, int] = {}  # actors' starts in earlier sessions
        self._servers_seen: dict[str, dict[str, Any]] = {}  # last stats of each server
        self._servers_before: dict[str, dict[str, float]] = {}  # counters of their earlier lives
        self._shown = self._logged = float("-inf")

    def log(self, event: str, **data: Any) -> None:
        """Append one JSON line to metrics.jsonl."""
        self.metrics.write(json.dumps({"time": time.time(), "event": event, **data}) + "\n")
        self.metrics.flush()

    def initial_model(self) -> None:
        """Write the random initial network (checkpoints/initial.pt) as best.pt, version 0."""
        import torch

        from dpv.nets.checkpoint import save_checkpoint
        from dpv.nets.model import DPVNet

        torch.manual_seed(self.cfg.seed)
        initial = self.run_dir / "checkpoints" / "initial.pt"
        save_checkpoint(initial, DPVNet(self.cfg.net), 0)
        atomic_copy(initial, self.run_dir / "best.pt")
        self.store.set_int("best_version", 0)
        self.store.set_int("selfplay_exit", self.cfg.search.exit)

    def start_actors(self) -> None:
        """Inference servers (one per GPU, else one on the CPU), buffer, learner, gating and
        workers; every actor is restarted by Ray if its process dies."""
        import ray

        from dpv.selfplay.buffer import ReplayBuffer
        from dpv.selfplay.gating import GatingEvaluator
        from dpv.selfplay.inference import InferenceServer
        from dpv.selfplay.learner import Learner
        from dpv.selfplay.worker import SelfPlayWorker

        cfg = self.cfg
        gpus = int(ray.cluster_resources().get("GPU", 0)) if cfg.server.device != "cpu" else 0
        n_servers = cfg.server.servers or max(1, gpus)
        server_gpus, learner_gpus = gpu_requests(gpus, n_servers, cfg.learner.device != "cpu")
        best = str(self.run_dir / "best.pt")
        url, prefix = self.store.url, cfg.store.prefix
        self.servers = [ray.remote(InferenceServer).options(num_cpus=0, num_gpus=share, max_restarts=-1).remote(
            best, cfg.server.device, cfg.server.max_batch, cfg.server.max_wait_ms, cfg.server.threads, url, prefix,
            f"server-{i}") for i, share in enumerate(server_gpus)]
        self.buffer = ray.remote(ReplayBuffer).options(num_cpus=0, max_restarts=-1, max_task_retries=-1).remote(
            url, prefix, cfg.buffer.window_games, cfg.seed)
        self.learner = ray.remote(Learner).options(num_cpus=0, num_gpus=learner_gpus, max_restarts=-1).remote(
            cfg.net, cfg.loss, cfg.learner, str(self.run_dir / "checkpoints" / "initial.pt"),
            str(self.run_dir / "checkpoints"), self.buffer, cfg.seed, url, prefix)
        self.gating = ray.remote(GatingEvaluator).options(num_cpus=0, max_restarts=-1).remote(
            cfg.gating, cfg.search, cfg.net.board_size, "cpu", url, prefix)
        self.workers = [ray.remote(SelfPlayWorker).options(num_cpus=1, max_restarts=-1).remote(
            i, cfg.search, cfg.worker.games, cfg.worker.pipelines, cfg.net.board_size, url, prefix,
            self.servers[i % n_servers], cfg.seed) for i in range(cfg.worker.workers)]
        self.actors = {"buffer": self.buffer, "learner": self.learner, "gating": self.gating,
                       **{f"server-{i}": a for i, a in enumerate(self.servers)},
                       **{f"worker-{i}": a for i, a in enumerate(self.workers)}}

    def run(self) -> RunSummary:
        """Play, train, gate and promote until a limit is reached; then stop the workers,
        finish the cycle in flight, write the plot and the summary."""
        try:
            return self._run()
        finally:
            self.close()

    def _run(self) -> RunSummary:
        url = self.exporter.serve(self.cfg.metrics)
        if url and not self.quiet:
            print(f"metrics: {url}", file=sys.stderr)
        if not self.resume:
            self.initial_model()
        self.store.set_int("stop", 0)
        self._counters_before = [self.store.counters(f"worker:{i}") for i in range(self.cfg.worker.workers)]
        self._starts_before = self.store.starts()
        self.start_actors()
        self.start = time.perf_counter()
        self.summary.best_version = self.store.get_int("best_version")
        runs = {f"worker-{i}": RemoteCall(f"worker-{i}", w.run.remote) for i, w in enumerate(self.workers)}
        self.log("start", config=to_dict(self.cfg), resume=self.resume, metrics_url=url)
        stopping = False
        while True:
            self.poll_cycle()
            self.read_new_games()
            self.show()
            self.check_restarts()
            self.exporter.update(self)
            for name, call in list(runs.items()):
                if self.poll(call)[0]:  # a worker returns once the stop flag is set
                    del runs[name]
            if not stopping and self.limit_reached():
                stopping = True
                self.store.set_int("stop", 1)
                self.summary.throughput = self.throughput()  # self-play rates, before the tail
            if stopping and not runs and self.training is None and self.gating_ref is None:
                break
            time.sleep(POLL_S)
        self.read_new_games()
        return self.finish()

    def limit_reached(self) -> bool:
        """--max-games or --max-hours reached."""
        if self.max_games is not None and self.store.num_games() >= self.max_games:
            return True
        return self.max_hours is not None and time.perf_counter() - self.start >= self.max_hours * 3600

    def poll(self, call: RemoteCall) -> tuple[bool, Any]:
        """(True, result) once `call` has finished, else (False, None). A call whose actor
        died (or is still being restarted) is submitted again, with a `resubmit` line in
        metrics.jsonl; any other error is raised."""
        import ray

        if not ray.wait([call.ref], timeout=0)[0]:
            return False, None
        try:
            return True, ray.get(call.ref)
        except ray.exceptions.RayActorError as err:
            self.log("resubmit", actor=call.actor, error=type(err).__name__)
            call.ref = call.submit()
            return False, None

    def check_restarts(self) -> None:
        """Count the restarts of the actors (starts in the store beyond the first of this
        session): one line on stderr and one in metrics.jsonl for each new one."""
        starts = self.store.starts()
        for actor in self.actors:
            seen = max(0, starts.get(actor, 0) - self._starts_before.get(actor, 0) - 1)
            while self.restarts.get(actor, 0) < seen:
                self.restarts[actor] = self.restarts.get(actor, 0) + 1
                self.log("restart", actor=actor, restarts=self.restarts[actor])
                if not self.quiet:
                    stream = self.progress.stream
                    clear = "\r\x1b[K" if self.progress.tty else ""  # over the progress line
                    stream.write(f"{clear}{actor} died and was restarted by Ray "
                                 f"(restarts of {actor}: {self.restarts[actor]})\n")
                    stream.flush()

    def poll_cycle(self) -> None:
        """Advance the train -> gate -> promote cycle without blocking."""
        lcfg = self.cfg.learner
        games = self.store.num_games()
        if self.training is None and self.gating_ref is None and self.store.get_int("stop") == 0:
            due = games >= lcfg.min_games and (self.cycle_games == 0 or games - self.cycle_games >= lcfg.games_per_cycle)
            if due:
                self.cycle_games = cycle_games = games
                self.training = RemoteCall("learner", lambda: self.learner.train.remote(lcfg.steps, cycle_games))
        done, result = self.poll(self.training) if self.training is not None else (False, None)
        if done:
            self.training = None
            self.store.set_int("cycle_games", self.cycle_games)  # a cycle lost with the driver reruns on --resume
            result["games"] = games
            self.summary.cycles.append(result)
            self.summary.learner_step = result["step"]
            self.log("train", **result)
            if result["selfplay_exit"] is not None:
                self.store.set_int("selfplay_exit", result["selfplay_exit"])
            candidate, seed = result["checkpoint"], self.cfg.seed + result["step"]
            best = str(self.run_dir / "best.pt")
            self.gating_ref = RemoteCall("gating", lambda: self.gating.evaluate.remote(candidate, best, seed))
        done, result = self.poll(self.gating_ref) if self.gating_ref is not None else (False, None)
        if done:
            self.gating_ref = None
            result["step"] = self.summary.learner_step
            if result["promote"]:
                self.promote(Path(result["candidate"]))
            result["best_version"] = self.summary.best_version
            self.summary.gating.append(result)
            self.log("gating", **result)
            plot_gating(self.summary.gating, self.cfg.gating.threshold, self.run_dir / "gating.png")

    def promote(self, candidate: Path) -> None:
        """Make `candidate` the best network: best.pt, the version in Redis, every server."""
        import ray

        from dpv.nets.checkpoint import load_checkpoint

        atomic_copy(candidate, self.run_dir / "best.pt")
        version = self.summary.best_version + 1
        self.store.set_int("best_version", version)
        weights = ray.put(load_checkpoint(candidate).model.state_dict())
        for i, server in enumerate(self.servers):  # a restarting server reads best.pt and the version itself
            call_actor(lambda: server.set_weights.remote(weights, version), f"server-{i} set_weights")
        self.summary.best_version = version

    def write_sgf(self, game: SelfPlayGame, game_id: int) -> None:
        """sgf/<game id>.sgf of a stored game."""
        from dpv.sgf import write_sgf_file

        write_sgf_file(self.run_dir / "sgf" / f"{game_id:07d}.sgf", game_to_sgf(game, game_id))

    def read_new_games(self) -> None:
        """Count the games stored since the last call and write their SGF files."""
        total = self.store.num_games()
        for offset, data in enumerate(self.store.games(self.seen, total)):
            game = decode(data)
            self.summary.positions += game.num_moves
            self.exporter.add_game(game)
            if self.cfg.worker.sgf:
                self.write_sgf(game, self.seen + offset)
        self.seen = total
        self.summary.games = total

    def server_stats(self) -> list[dict[str, Any]]:
        """Every inference server's stats(), asked again while a server is being restarted.
        The counters (requests, rows, batches, seconds) of a restarted server (its uptime went
        down since the last call) continue from the last ones seen before it died."""
        out = []
        for i, server in enumerate(self.servers):
            name = f"server-{i}"
            stats = call_actor(server.stats.remote, f"{name} stats")
            last = self._servers_seen.get(name)
            if last is not None and stats["uptime_s"] < last["uptime_s"]:
                before = self._servers_before.setdefault(name, {})
                for key in COUNTERS:
                    before[key] = before.get(key, 0.0) + last[key]
            self._servers_seen[name] = stats
            out.append({**stats, **{k: stats[k] + v for k, v in self._servers_before.get(name, {}).items()}})
        return out

    def throughput(self) -> dict[str, float]:
        """Rates since the start of this session: games/h, positions/s, evaluations/s, mean
        server batch, share of worker time waiting on the server."""
        elapsed = max(1e-9, time.perf_counter() - self.start)
        servers = self.server_stats()
        rows = sum(s["rows"] for s in servers)
        batches = sum(s["batches"] for s in servers)
        workers = [self.worker_counters(i) for i in range(len(self.workers))]
        wait = sum(w.get("wait_s", 0.0) for w in workers)
        wall = sum(w.get("wall_s", 0.0) for w in workers)
        positions = sum(w.get("positions", 0.0) for w in workers)
        games = sum(w.get("games", 0.0) for w in workers)
        return {"seconds": elapsed, "games_per_h": games / elapsed * 3600, "positions_per_s": positions / elapsed,
                "evals_per_s": rows / elapsed, "mean_batch": rows / max(1, batches),
                "wait_share": wait / wall if wall else 0.0,
                "server_forward_share": sum(s["forward_s"] for s in servers) / elapsed / len(servers)}

    def worker_counters(self, i: int) -> dict[str, float]:
        """Worker i's counters in the store, less those of earlier sessions of the run."""
        before = self._counters_before[i] if i < len(self._counters_before) else {}
        return {k: v - before.get(k, 0.0) for k, v in self.store.counters(f"worker:{i}").items()}

    def show(self) -> None:
        """The progress line (and a metrics line every 30 s)."""
        now = time.perf_counter()
        if now - self._shown < 1.0:
            return
        self._shown = now
        t = self.throughput()
        text = (f"games {self.summary.games}  {t['positions_per_s']:.1f} pos/s  {t['evals_per_s']:,.0f} evals/s  "
                f"batch {t['mean_batch']:.0f}  wait {t['wait_share']:.0%}  step {self.summary.learner_step}")
        if self.summary.cycles:
            last = self.summary.cycles[-1]
            text += "  loss p " + "/".join(f"{v:.2f}" for v in last["policy_loss"])
            text += " v " + "/".join(f"{v:.2f}" for v in last["value_loss"])
        if self.summary.gating:
            g = self.summary.gating[-1]
            text += f"  gate {g['win_rate']:.0%}{' promoted' if g['promote'] else ''}  best v{self.summary.best_version}"
        if self.training is not None:
            text += "  [training]"
        elif self.gating_ref is not None:
            text += "  [gating]"
        if not self.quiet:
            self.progress.update(text)
        if now - self._logged >= 30.0:
            self._logged = now
            self.log("progress", games=self.summary.games, step=self.summary.learner_step, **t)

    def finish(self) -> RunSummary:
        """Server versions, actors' memory, the plot and summary.json."""
        if not self.quiet:
            self.progress.close()
        self.summary.seconds = time.perf_counter() - self.start
        self.summary.server_versions = [s["version"] for s in self.server_stats()]
        self.check_restarts()
        self.summary.restarts = dict(self.restarts)
        for name, actor in self.actors.items():
            self.summary.actor_rss_mib[name] = round(actor_rss_mib(actor), 1)
            self.summary.placement[name] = actor_placement(actor)
        if self.summary.gating:
            plot_gating(self.summary.gating, self.cfg.gating.threshold, self.run_dir / "gating.png")
        self.exporter.update(self, final=True)
        data = dataclasses.asdict(self.summary)
        (self.run_dir / "summary.json").write_text(json.dumps(data, indent=1))
        self.log("end", **{k: v for k, v in data.items() if k not in ("cycles", "gating")})
        return self.summary

    def close(self) -> None:
        """Release the actors and stop the embedded Redis (its data stay in the run directory),
        whether the run ended or failed."""
        import ray

        for actor in self.actors.values():
            ray.kill(actor)
        self.actors = {}
        self.metrics.close()
        self.exporter.close(self.run_dir / "metrics.prom")
        if self.embedded is not None:
            self.embedded.close()
            self.embedded = None


def launch(cfg: SelfPlayConfig, run_dir: str | Path, address: str | None = None, max_games: int | None = None,
           max_hours: float | None = None, resume: bool = False, quiet: bool = False) -> RunSummary:
    """Run self-play with `cfg` in `run_dir` on the Ray at `address` (a local Ray is started
    when none is running and no address is given)."""
    import ray

    run_dir = Path(run_dir)
    prepare_run_dir(cfg, run_dir, resume)
    own_ray = not ray.is_initialized()
    if own_ray:
        ray.init(address=address, include_dashboard=False, log_to_driver=False, configure_logging=False,
                 **({} if address else {"num_cpus": max(os.cpu_count() or 1, cfg.worker.workers)}))
    try:
        return Driver(cfg, run_dir, resume, max_games, max_hours, quiet).run()
    finally:
        if own_ray:
            ray.shutdown()
