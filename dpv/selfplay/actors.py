"""The actors of a self-play run: started where the placement says, restarted by Ray when their
process dies (`max_restarts=-1`), and the restarts the run state counts.

Every actor counts its starts in the run state (its constructor calls `RunState.count_start`),
so the driver sees a restart as a start beyond the first of its session (`RestartWatch`).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from dpv.selfplay.config import SelfPlayConfig
from dpv.selfplay.errors import RunError, last_line
from dpv.selfplay.placement import ActorResources
from dpv.selfplay.retry import actor_error
from dpv.selfplay.rundir import RunDir
from dpv.selfplay.state import RunState

#: Ray restarts a dead actor without limit.
RESTARTS = {"max_restarts": -1}


@dataclass
class RunActors:
    """Handles of the run's actors."""

    servers: list[Any]
    buffer: Any
    learner: Any
    gating: Any
    workers: list[Any]

    @classmethod
    def start(cls, cfg: SelfPlayConfig, run_dir: RunDir, url: str, resources: ActorResources) -> RunActors:
        """Inference servers, buffer, learner, gating and workers of a run of `cfg` in `run_dir`,
        with the game store at `url`; the workers share the servers round-robin."""
        import ray

        from dpv.selfplay.buffer import ReplayBuffer
        from dpv.selfplay.gating import GatingEvaluator
        from dpv.selfplay.inference import InferenceServer
        from dpv.selfplay.learner import Learner
        from dpv.selfplay.worker import SelfPlayWorker

        prefix, best = cfg.store.prefix, str(run_dir.best)
        servers = [ray.remote(InferenceServer).options(**resources.server(i), **RESTARTS).remote(
            best, cfg.server.device, cfg.server.max_batch, cfg.server.max_wait_ms, cfg.server.threads, url, prefix,
            f"server-{i}", cfg.server.backend) for i in range(len(resources.server_gpus))]
        buffer = ray.remote(ReplayBuffer).options(**resources.light(), **RESTARTS, max_task_retries=-1).remote(
            url, prefix, cfg.buffer.window_games, cfg.seed, cfg.net.input_planes, cfg.net.board_size,
            cfg.net.has_aux_heads)
        learner = ray.remote(Learner).options(**resources.learner(), **RESTARTS).remote(
            cfg.net, cfg.loss, cfg.learner, str(run_dir.initial), str(run_dir.checkpoints), buffer, cfg.seed,
            url, prefix)
        gating = ray.remote(GatingEvaluator).options(**resources.light(), **RESTARTS).remote(
            cfg.gating, cfg.search, cfg.net.board_size, "cpu", url, prefix)
        workers = [ray.remote(SelfPlayWorker).options(**resources.worker(), **RESTARTS).remote(
            i, cfg.search, cfg.worker.games, cfg.worker.pipelines, cfg.net.board_size, url, prefix,
            servers[i % len(servers)], cfg.seed) for i in range(cfg.worker.workers)]
        return cls(servers=servers, buffer=buffer, learner=learner, gating=gating, workers=workers)

    def wait_started(self, poll_s: float = 1.0) -> None:
        """Wait until every actor's constructor has run; one that failed is a RunError with the
        actor's own error in one line (Ray does not restart an actor whose constructor raised,
        and every call to it would fail)."""
        import ray

        pending = {actor.__ray_ready__.remote(): name for name, actor in self.named().items()}
        while pending:
            ready, _ = ray.wait(list(pending), num_returns=len(pending), timeout=poll_s)
            for ref in ready:
                name = pending.pop(ref)
                try:
                    ray.get(ref)
                except ray.exceptions.RayError as err:
                    raise actor_error(name, err) or RunError(f"{name} failed to start: {last_line(str(err))}") from None

    def named(self) -> dict[str, Any]:
        """Every actor by the name it counts its starts under."""
        return {"buffer": self.buffer, "learner": self.learner, "gating": self.gating,
                **{f"server-{i}": a for i, a in enumerate(self.servers)},
                **{f"worker-{i}": a for i, a in enumerate(self.workers)}}

    def kill(self) -> None:
        """End every actor (no restart)."""
        import ray

        for actor in self.named().values():
            ray.kill(actor)


class RestartWatch:
    """Restarts of the run's actors in this session: starts counted in the run state beyond
    the first one after the watch began."""

    def __init__(self, state: RunState) -> None:
        self.state = state
        self.before = state.starts()  # starts in earlier sessions of the run
        self.seen: dict[str, int] = {}  # actor name -> restarts reported

    def check(self, actors: list[str]) -> list[tuple[str, int]]:
        """The restarts of `actors` not reported before: (actor, its restarts so far), one
        entry per restart."""
        starts = self.state.starts()
        new = []
        for actor in actors:
            restarts = max(0, starts.get(actor, 0) - self.before.get(actor, 0) - 1)
            while self.seen.get(actor, 0) < restarts:
                self.seen[actor] = self.seen.get(actor, 0) + 1
                new.append((actor, self.seen[actor]))
        return new
