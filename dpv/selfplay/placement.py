"""Where the actors of a self-play run go: the resources each asks Ray for, and where each one
ran (summary.json `placement`) and how much memory it held.

Inference servers and the learner request GPUs so that each GPU's requests sum to 1 (server 0
and the learner share GPU 0); workers request one CPU each; the buffer and the gating actor
request nothing (they are light, or run between self-play's bursts). No torch import; ray only
inside the functions that ask an actor.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from dpv.selfplay.config import SelfPlayConfig
from dpv.selfplay.messages import Placement

#: CPUs a self-play worker requests (its search runs in the worker's process).
WORKER_CPUS = 1


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


@dataclass(frozen=True)
class ActorResources:
    """The Ray resources of every actor of a run (`plan`)."""

    server_gpus: list[float]
    """GPUs each inference server requests (one entry per server)."""
    learner_gpus: float
    """GPUs the learner requests."""

    def server(self, i: int) -> dict[str, float]:
        """Ray options of server i."""
        return {"num_cpus": 0, "num_gpus": self.server_gpus[i]}

    def learner(self) -> dict[str, float]:
        """Ray options of the learner."""
        return {"num_cpus": 0, "num_gpus": self.learner_gpus}

    @staticmethod
    def worker() -> dict[str, float]:
        """Ray options of a self-play worker."""
        return {"num_cpus": WORKER_CPUS}

    @staticmethod
    def light() -> dict[str, float]:
        """Ray options of the buffer and the gating actor."""
        return {"num_cpus": 0}


def plan(cfg: SelfPlayConfig, cluster_gpus: int) -> ActorResources:
    """The resources of a run of `cfg` on a cluster with `cluster_gpus` GPUs: one server per GPU
    (else one on the CPU) unless `server.servers` says how many; none of them asks for a GPU
    when its device is "cpu"."""
    gpus = cluster_gpus if cfg.server.device != "cpu" else 0
    servers = cfg.server.servers or max(1, gpus)
    server_gpus, learner_gpus = gpu_requests(gpus, servers, cfg.learner.device != "cpu")
    return ActorResources(server_gpus=server_gpus, learner_gpus=learner_gpus)


def actor_placement(actor: Any) -> Placement:
    """Where `actor` runs, as it sees itself (node, IP, assigned resources, GPUs, torch device)."""
    import ray

    def where(self: Any) -> Placement:
        import ray
        from ray.util import get_node_ip_address

        context = ray.get_runtime_context()
        device = getattr(self, "device", None)
        return Placement(node_id=context.get_node_id(), ip=get_node_ip_address(),
                         resources=context.get_assigned_resources(),
                         gpu_ids=[str(g) for g in context.get_accelerator_ids().get("GPU", [])],
                         device=None if device is None else str(device))

    return ray.get(actor.__ray_call__.remote(where))


def actor_rss_mib(actor: Any) -> float:
    """Resident memory of `actor`'s process in MiB."""
    import ray

    def rss(_self: Any) -> float:
        import psutil

        return psutil.Process().memory_info().rss / 2**20

    return float(ray.get(actor.__ray_call__.remote(rss)))
