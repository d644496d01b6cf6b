"""Self-play throughput with 1, 2 and 4 SelfPlayWorkers on a local multi-node Ray, and where
the CPU time goes.

One private multi-node Ray (ray.cluster_utils.Cluster: a head with no CPUs for the driver and
two nodes with 2 CPUs each for the workers) runs `dpv launch selfplay` (dpv.selfplay.launch) once
per worker count for a fixed time, the learner off (learner.min_games out of reach), so only
self-play and the inference server work. Per run: positions/s, evaluations/s, mean server
batch, the share of worker time spent waiting on the server, the share of time the server
spends in its forward, and the CPU each process used (psutil, cores = CPU seconds / wall
seconds), grouped by role. Every node is a process group on this one machine: the ceiling is
the machine's cores, whatever the node count says.

    python bench/scaling.py                          # 1, 2, 4 workers, 120 s each
    python bench/scaling.py --quick                  # 1 and 2 workers, 20 s each (a check)
    python bench/scaling.py --workers 1,2,4,8 --seconds 300 --config configs/local.yaml

Writes bench/results/scaling.json, .md and .png (or --out PREFIX) and prints the Markdown.
"""
from __future__ import annotations

import argparse
import dataclasses
import json
import os
import shutil
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

#: Roles in the CPU table: the two self-play actors, the run's other actors (buffer, learner,
#: gating; Ray titles actor processes "ray::Class.method"), the driver, Redis and Ray itself.
ROLES = ("SelfPlayWorker", "InferenceServer", "other actors", "driver", "redis", "ray system")
OTHER_ACTORS = ("ReplayBuffer", "Learner", "GatingEvaluator")


@contextmanager
def local_cluster(nodes: list[dict[str, Any]]) -> Iterator[Any]:
    """A private multi-node Ray on this machine (`ray.cluster_utils.Cluster`): `nodes[0]` are
    the head's node arguments (num_cpus, num_gpus, resources, ...), the others one node each.

    Ray's address file lives under a private RAY_TMPDIR while the cluster is up, so a plain
    `ray.init()` elsewhere on the machine (a test session, another run) never joins it. Connect
    with `ray.init(address=cluster.address)` or `dpv launch selfplay --address ADDRESS`; the
    nodes are removed on exit."""
    from ray.cluster_utils import Cluster

    tmp = tempfile.mkdtemp(prefix="dpvray-", dir="/tmp")  # short: Ray's socket paths live below
    previous = os.environ.get("RAY_TMPDIR")
    os.environ["RAY_TMPDIR"] = tmp
    cluster = None
    try:
        cluster = Cluster(initialize_head=True, head_node_args={"include_dashboard": False, **nodes[0]})
        for node in nodes[1:]:
            cluster.add_node(**node)
        cluster.wait_for_nodes()
        yield cluster
    finally:
        if cluster is not None:
            cluster.shutdown()
        if previous is None:
            os.environ.pop("RAY_TMPDIR", None)
        else:
            os.environ["RAY_TMPDIR"] = previous
        shutil.rmtree(tmp, ignore_errors=True)


def raylet_pids(cluster: Any) -> list[int]:
    """Process ids of the raylets of a `local_cluster` (the actors are their children)."""
    from ray._private import ray_constants

    return [info.process.pid for node in cluster.list_all_nodes()
            for info in node.all_processes.get(ray_constants.PROCESS_TYPE_RAYLET, [])]


def role_of(proc: Any, driver: int) -> str:
    """The role (ROLES) a process plays."""
    if proc.pid == driver:
        return "driver"
    try:
        title = " ".join(proc.cmdline())
    except Exception:  # gone, or not ours to read
        return "ray system"
    if "redis-server" in title:
        return "redis"
    if title.startswith("ray::"):
        name = title[5:].split(".")[0].split()[0]
        if name in ROLES:
            return name
        if name in OTHER_ACTORS:
            return "other actors"
    return "ray system"


class CpuSampler:
    """CPU seconds used by every process below `roots` (and the roots): a thread reads psutil's
    cpu_times every `interval` seconds and keeps the series, so the CPU of any time window can
    be read afterwards (`seconds_by_role`)."""

    def __init__(self, roots: list[int], interval: float = 0.5) -> None:
        self.roots = roots
        self.interval = interval
        self.driver = os.getpid()
        self.samples: list[tuple[float, dict[int, float]]] = []  # (time.time(), pid -> CPU seconds)
        self.role: dict[int, str] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, daemon=True)

    def _read(self) -> None:
        from dpv.selfplay.stats import process_tree

        now, used = time.time(), {}
        for p in process_tree(self.roots):
            try:
                t = p.cpu_times()
            except Exception:  # exited between the listing and the reading
                continue
            used[p.pid] = t.user + t.system
            if self.role.get(p.pid, "ray system") == "ray system":  # actors get their title late
                self.role[p.pid] = role_of(p, self.driver)
        self.samples.append((now, used))

    def _loop(self) -> None:
        while not self._stop.wait(self.interval):
            self._read()

    def __enter__(self) -> CpuSampler:
        self._read()
        self._thread.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self._stop.set()
        self._thread.join()

    def seconds_by_role(self, start: float, end: float) -> tuple[dict[str, float], float]:
        """CPU seconds per role between the samples nearest to `start` and `end` (time.time()),
        and the seconds between those samples. A process not yet alive at the first counts
        from zero; one gone before the last counts to its last reading."""
        times = [t for t, _ in self.samples]
        i = min(range(len(times)), key=lambda k: abs(times[k] - start))
        j = min(range(len(times)), key=lambda k: abs(times[k] - end))
        first = self.samples[i][1]
        last: dict[int, float] = {}
        for _, used in self.samples[i:j + 1]:
            last.update(used)
        out: Counter[str] = Counter()
        for pid, value in last.items():
            out[self.role[pid]] += max(0.0, value - first.get(pid, 0.0))
        return dict(out), times[j] - times[i]


def windowed_rates(run_dir: Path, final: dict[str, float], warmup: float) -> tuple[dict[str, float], float, float]:
    """Self-play rates between the driver's first progress line at least `warmup` seconds
    into the run (metrics.jsonl; the first line if none) and the stop (`final`, the summary's
    throughput): startup (Ray workers, torch imports, first forwards) stays out. Returns the
    rates and the window's start and end (time.time())."""
    events = [json.loads(line) for line in (run_dir / "metrics.jsonl").read_text().splitlines()]
    start_time = next(e["time"] for e in events if e["event"] == "start")
    progress = [e for e in events if e["event"] == "progress" and e["seconds"] < final["seconds"]]
    later = [e for e in progress if e["seconds"] >= warmup]
    first = later[0] if later else progress[0]

    def totals(t: dict[str, float]) -> dict[str, float]:
        evals = t["evals_per_s"] * t["seconds"]
        return {"seconds": t["seconds"], "positions": t["positions_per_s"] * t["seconds"], "evals": evals,
                "batches": evals / max(1e-9, t["mean_batch"]), "forward_s": t["server_forward_share"] * t["seconds"]}

    a, b = totals(first), totals(final)
    span = max(1e-9, b["seconds"] - a["seconds"])
    rates = {"window_s": span, "positions_per_s": (b["positions"] - a["positions"]) / span,
             "evals_per_s": (b["evals"] - a["evals"]) / span,
             "mean_batch": (b["evals"] - a["evals"]) / max(1e-9, b["batches"] - a["batches"]),
             "server_forward_share": (b["forward_s"] - a["forward_s"]) / span,
             "wait_share": final["wait_share"]}
    return rates, start_time + a["seconds"], start_time + b["seconds"]


def evaluations_per_move(run_dir: Path, default: float) -> float:
    """Leaf evaluations per played move over the run's stored games (`default`, the
    simulations per move, when no game has finished yet)."""
    from dpv.selfplay.records import decode
    from dpv.selfplay.store import EmbeddedRedis, GameStore

    server = EmbeddedRedis(run_dir / "redis")
    try:
        games = [decode(data) for data in GameStore(server.url).games(0)]
    finally:
        server.close()
    moves = sum(g.num_moves for g in games)
    return sum(float(g.evals_per_exit.sum()) for g in games) / moves if moves else default


def parse_args() -> argparse.Namespace:
    """Command-line options."""
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--config", default=str(ROOT / "configs/local.yaml"), help="self-play config")
    p.add_argument("--workers", default="1,2,4", help="comma-separated worker counts")
    p.add_argument("--seconds", type=float, default=120.0, help="self-play time per worker count")
    p.add_argument("--warmup", type=float, default=30.0, help="seconds of each run left out of the rates")
    p.add_argument("--node-cpus", type=int, default=2, help="CPUs of each of the two worker nodes")
    p.add_argument("--server-threads", type=int, help="torch threads of the inference server (default: the config's)")
    p.add_argument("--quick", action="store_true", help="1 and 2 workers, 20 s each, no warm-up left out")
    p.add_argument("--out", default=str(ROOT / "bench/results/scaling"), help="prefix of .json/.md/.png")
    args = p.parse_args()
    if args.quick:
        args.workers, args.seconds, args.warmup = "1,2", 20.0, 0.0
    return args


def run_one(cfg: Any, workers: int, seconds: float, warmup: float, cluster: Any, run_dir: Path) -> dict[str, Any]:
    """One self-play run of `seconds` with `workers` workers on `cluster`: rates and CPU use
    after the warm-up."""
    from dpv.selfplay.launch import launch

    cfg = dataclasses.replace(cfg, worker=dataclasses.replace(cfg.worker, workers=workers))
    with CpuSampler(raylet_pids(cluster) + [os.getpid()]) as cpu:
        summary = launch(cfg, run_dir, address=cluster.address, max_hours=seconds / 3600, quiet=True)
    rates, start, end = windowed_rates(run_dir, dataclasses.asdict(summary.throughput), warmup)
    used, wall = cpu.seconds_by_role(start, end)
    evals = rates["evals_per_s"] * rates["window_s"]
    per_move = evaluations_per_move(run_dir, cfg.search.simulations)
    placement = {name: dataclasses.asdict(where) for name, where in summary.placement.items()}
    nodes = sorted({placement[f"worker-{i}"]["node_id"] for i in range(workers)})
    return {"workers": workers, "games": summary.games, **rates, "evals_per_move": per_move,
            "moves_per_s": rates["evals_per_s"] / per_move,
            "cpu_cores": {role: s / wall for role, s in sorted(used.items())},
            "cpu_total_cores": sum(used.values()) / wall,
            "worker_cpu_us_per_eval": used.get("SelfPlayWorker", 0.0) / max(1.0, evals) * 1e6,
            "server_cpu_us_per_eval": used.get("InferenceServer", 0.0) / max(1.0, evals) * 1e6,
            "worker_nodes": len(nodes), "placement": placement}


def markdown(rows: list[dict[str, Any]], header: str) -> str:
    """The scaling table and the CPU table."""
    lines = [header, "",
             "| workers | positions/s | evaluations/s | mean batch | worker wait | server forward |"
             " worker nodes | positions/s of finished games |",
             "|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for r in rows:
        lines.append(f"| {r['workers']} | {r['moves_per_s']:.1f} | {r['evals_per_s']:,.0f} | "
                     f"{r['mean_batch']:.0f} | {r['wait_share']:.1%} | {r['server_forward_share']:.1%} | "
                     f"{r['worker_nodes']} | {r['positions_per_s']:.1f} |")
    lines += ["", "positions/s: moves played per second, evaluations/s over the evaluations per move of the "
              f"stored games ({rows[0]['evals_per_move']:.1f}); a worker's games start together and end "
              "together, so positions of finished games come in bursts. worker wait: share of worker "
              "time spent waiting on the server; server forward: share of time the server spends in "
              "its forward (unpack, network, split)."]
    roles = list(ROLES)
    lines += ["", "CPU use in cores (CPU seconds / wall seconds), all processes of the run:", "",
              "| workers | " + " | ".join(roles) + " | total | worker µs CPU / eval | server µs CPU / eval |",
              "|---:|" + "---:|" * (len(roles) + 3)]
    for r in rows:
        cores = r["cpu_cores"]
        per_worker = cores.get("SelfPlayWorker", 0.0) / r["workers"]
        cells = [f"{cores.get('SelfPlayWorker', 0.0):.2f} ({per_worker:.2f} each)"]
        cells += [f"{cores.get(role, 0.0):.2f}" for role in roles[1:]]
        lines.append(f"| {r['workers']} | " + " | ".join(cells) + f" | {r['cpu_total_cores']:.2f} | "
                     f"{r['worker_cpu_us_per_eval']:.0f} | {r['server_cpu_us_per_eval']:.0f} |")
    return "\n".join(lines)


def plot(rows: list[dict[str, Any]], cores: int, path: Path) -> None:
    """PNG: positions/s per worker count, and the CPU cores each role used."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(10, 4))
    workers = [r["workers"] for r in rows]
    ax1.plot(workers, [r["moves_per_s"] for r in rows], "o-", label="positions/s")
    ax1.set_xlabel("self-play workers")
    ax1.set_ylabel("positions/s")
    ax1.set_xticks(workers)
    ax1.set_ylim(bottom=0)
    ax1.set_title("self-play throughput")
    bottom = [0.0] * len(rows)
    for role in ROLES:
        values = [r["cpu_cores"].get(role, 0.0) for r in rows]
        ax2.bar([str(w) for w in workers], values, bottom=bottom, label=role)
        bottom = [b + v for b, v in zip(bottom, values)]
    ax2.axhline(cores, color="k", ls="--", lw=1, label=f"{cores} cores")
    ax2.set_xlabel("self-play workers")
    ax2.set_ylabel("CPU cores used")
    ax2.set_title("where the CPU goes")
    ax2.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def main() -> int:
    """Run each worker count, print the Markdown, write JSON, Markdown and PNG."""
    args = parse_args()
    from dpv.selfplay.config import load_selfplay_config

    cfg = load_selfplay_config(args.config)
    cfg = dataclasses.replace(cfg, learner=dataclasses.replace(cfg.learner, min_games=10**9))
    if args.server_threads:
        cfg = dataclasses.replace(cfg, server=dataclasses.replace(cfg.server, threads=args.server_threads))
    counts = [int(w) for w in args.workers.split(",")]
    cores = os.cpu_count() or 1
    load = os.getloadavg()
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    rows = []
    nodes = [{"num_cpus": 0}, {"num_cpus": args.node_cpus}, {"num_cpus": args.node_cpus}]
    print(f"bench/scaling.py: {args.config}, learner off, workers {counts}, {args.seconds:.0f} s each; "
          f"Ray nodes: head 0 CPUs + 2 x {args.node_cpus} CPUs on one machine with {cores} cores "
          f"(load average {load[0]:.1f})", file=sys.stderr)
    with tempfile.TemporaryDirectory() as tmp, local_cluster(nodes) as cluster:
        for n in counts:
            row = run_one(cfg, n, args.seconds, args.warmup, cluster, Path(tmp) / f"workers-{n}")
            rows.append(row)
            print(f"  {n} worker(s): {row['moves_per_s']:.1f} positions/s, {row['evals_per_s']:,.0f} "
                  f"evaluations/s, {row['cpu_total_cores']:.2f} cores busy", file=sys.stderr)
    header = (f"Self-play scaling (`python bench/scaling.py --seconds {args.seconds:.0f}`; {Path(args.config).name}, "
              f"server threads {cfg.server.threads}, learner off, {args.seconds:.0f} s per row, "
              f"rates and CPU after the first {args.warmup:.0f} s; "
              f"Ray: head + 2 nodes x {args.node_cpus} CPUs, all on one {cores}-core machine, "
              f"load average {load[0]:.1f} at start)")
    text = markdown(rows, header)
    print(text)
    out.with_suffix(".md").write_text(text + "\n")
    out.with_suffix(".json").write_text(json.dumps({"config": args.config, "seconds": args.seconds, "cores": cores,
                                                    "load_average": load, "rows": rows}, indent=1))
    plot(rows, cores, out.with_suffix(".png"))
    print(f"wrote {out}.json, .md, .png", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
