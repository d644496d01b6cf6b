"""The checks a self-play run passes before it starts anything, so that a run that cannot work
fails at once with one line (a RunError) instead of hanging on an actor that cannot start:

- `check_address`: the Ray cluster of `--address` is reachable (a TCP connect, seconds).
- `check_metrics_host`: `metrics.host` resolves, when the endpoint is on.
- `check_resume`: `--resume` continues the run it names: the config differs from the run's
  config.yaml only in what may change (`RESUMABLE`: limits are flags; worker and server
  counts, threads, devices, metrics), best.pt and the newest learner checkpoint load and
  hold the config's network.
- `check_store`: on `--resume`, the game store still holds every game the run recorded
  (games.txt, sgf/); else it names the games missing and how to repair the store.
- `check_devices`: a `cuda` device has a GPU in the Ray cluster.
"""
from __future__ import annotations

import socket
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from dpv.config import ConfigError, to_dict
from dpv.selfplay.config import MetricsSection, SelfPlayConfig
from dpv.selfplay.errors import RunError
from dpv.selfplay.rundir import RunDir

#: Config keys a resumed run may change: they change neither the games nor the network.
RESUMABLE = frozenset({
    "worker.workers", "worker.games", "worker.pipelines", "server.servers", "server.threads", "server.max_batch",
    "server.max_wait_ms", "server.device", "learner.threads", "learner.device", "gating.threads", "metrics.port",
    "metrics.host"})
#: Seconds to wait for a TCP connection to the Ray of `--address`.
CONNECT_TIMEOUT_S = 5.0
#: Ray's default GCS port (an --address without one).
RAY_PORT = 6379


def check_address(address: str | None) -> None:
    """Refuse an `--address` host:port (or ray://host:port) where nothing listens; "auto" is
    left to ray.init, which fails at once when no cluster runs."""
    if address is None or address == "auto":
        return
    url = urlsplit(address if "://" in address else f"tcp://{address}")
    try:
        host, port = url.hostname, url.port or RAY_PORT
    except ValueError as err:
        raise RunError(f"--address {address}: not host:port ({err})") from None
    if not host:
        raise RunError(f"--address {address}: not host:port")
    try:
        socket.create_connection((host, port), timeout=CONNECT_TIMEOUT_S).close()
    except OSError as err:
        raise RunError(f"--address {address}: no Ray cluster reachable at {host}:{port} "
                       f"({err.strerror or err or 'timed out'})") from None


def check_metrics_host(section: MetricsSection) -> None:
    """Refuse a `metrics.host` that does not resolve (only when the endpoint is on)."""
    if section.port is None:
        return
    try:
        socket.getaddrinfo(section.host, section.port)
    except (OSError, UnicodeError) as err:
        raise RunError(f"'metrics.host' {section.host!r} does not resolve ({getattr(err, 'strerror', None) or err})"
                       ) from None


def _flat(data: Any, prefix: str = "") -> dict[str, Any]:
    if not isinstance(data, dict):
        return {prefix.rstrip("."): data}
    out: dict[str, Any] = {}
    for key, value in data.items():
        out.update(_flat(value, f"{prefix}{key}."))
    return out


def config_changes(saved: SelfPlayConfig, cfg: SelfPlayConfig) -> dict[str, tuple[Any, Any]]:
    """The keys whose value differs between the run's config `saved` and `cfg`, with both
    values, except those a resume may change (`RESUMABLE`)."""
    old, new = _flat(to_dict(saved)), _flat(to_dict(cfg))
    return {key: (old.get(key), new.get(key)) for key in sorted(old.keys() | new.keys())
            if old.get(key) != new.get(key) and key not in RESUMABLE}


def check_resume(cfg: SelfPlayConfig, run_dir: RunDir) -> None:
    """Refuse a resume whose config changes the games or the network, or whose best.pt or
    newest checkpoint does not load or holds another network."""
    try:
        saved = run_dir.saved_config()
    except ConfigError as err:
        raise RunError(f"the run's config does not load: {err}") from None
    changes = config_changes(saved, cfg)
    if changes:
        shown = ", ".join(f"{key} {old!r} -> {new!r}" for key, (old, new) in list(changes.items())[:4])
        more = f" and {len(changes) - 4} more" if len(changes) > 4 else ""
        raise RunError(f"--resume: the config differs from the run's ({run_dir.config}) in {shown}{more}: these "
                       "change the games or the network; only worker/server counts, threads, devices and metrics "
                       "may change")
    check_checkpoints(cfg, run_dir)


def check_checkpoints(cfg: SelfPlayConfig, run_dir: RunDir) -> None:
    """best.pt, and the newest learner checkpoint (initial.pt when there is none), load and
    hold `cfg.net`."""
    from dpv.nets.checkpoint import CheckpointError, load_checkpoint
    from dpv.nets.model import DPVNet
    from dpv.selfplay.learner import latest_checkpoint

    model = DPVNet(cfg.net)
    for path in (run_dir.best, latest_checkpoint(run_dir.checkpoints) or run_dir.initial):
        if not Path(path).is_file():
            raise RunError(f"--resume: {path} is missing: the run directory is incomplete")
        try:
            load_checkpoint(path, model)
        except CheckpointError as err:
            raise RunError(f"--resume: {err}") from None


def check_store(run_dir: RunDir, stored: int, store_url: str, embedded: bool) -> None:
    """Refuse to go on when the game store holds fewer than the `stored` games the run
    recorded (games.txt, sgf/), naming the missing ids and the repair."""
    recorded = run_dir.recorded_games()
    ids = run_dir.sgf_ids()
    expected = max(recorded, max(ids) + 1 if ids else 0)
    if stored >= expected:
        return
    if embedded:
        aof = run_dir.redis / "appendonly.aof"
        repair = (f"its append-only file {aof} is damaged or missing: repair it with `redis-check-aof --fix {aof}`, "
                  f"or rebuild it from {run_dir.redis / 'redis.rdb'} (start redis-server there with --appendonly no, "
                  "then `CONFIG SET appendonly yes`), then resume again")
    else:
        repair = f"restore the Redis at {store_url} from its RDB or append-only file, then resume again"
    raise RunError(f"--resume: the game store holds {stored} games but the run recorded {expected} "
                   f"({run_dir.game_count.name}: {recorded}, sgf/ up to id {max(ids, default=-1)}): games "
                   f"{stored}..{expected - 1} are missing; {repair}")


def check_devices(cfg: SelfPlayConfig, cluster_gpus: float) -> None:
    """Refuse `server.device` or `learner.device` cuda on a Ray cluster without a GPU."""
    for key, device in (("server.device", cfg.server.device), ("learner.device", cfg.learner.device)):
        if device == "cuda" and cluster_gpus <= 0:
            raise RunError(f"'{key}' is cuda but the Ray cluster has no GPU (torch.cuda.is_available() is false "
                           "on a local run): use auto or cpu")
