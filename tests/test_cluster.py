"""The cluster files (cluster/cluster.yaml for `ray up`, docker/Dockerfile) and where
`dpv launch selfplay` places its actors on a multi-node Ray (a local ray.cluster_utils.Cluster
with a fake GPU node, the run started as a subprocess, as on a cluster's head node)."""
from __future__ import annotations

import ast
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "bench"))  # scaling.local_cluster
CLUSTER = ROOT / "cluster" / "cluster.yaml"
DOCKERFILE = ROOT / "docker" / "Dockerfile"
DPV = Path(sys.executable).parent / "dpv"


def cluster_config() -> dict:
    """cluster/cluster.yaml, parsed."""
    return yaml.safe_load(CLUSTER.read_text())


def test_cluster_yaml_is_valid_for_ray_up():
    import jsonschema
    import ray.autoscaler
    from ray.autoscaler._private.util import prepare_config, validate_config

    schema = json.loads((Path(ray.autoscaler.__file__).parent / "ray-schema.json").read_text())
    config = cluster_config()
    jsonschema.validate(config, schema)
    validate_config(prepare_config(cluster_config()))  # what `ray up` runs: defaults filled in, then checked
    assert set(config["available_node_types"]) == {"head", "cpu-selfplay", "gpu-server"}
    assert config["head_node_type"] == "head"
    assert config["docker"]["image"] != config["available_node_types"]["gpu-server"]["docker"]["worker_image"]


def test_node_types_carry_the_resources_launch_requests():
    from dpv.selfplay.placement import gpu_requests

    types = cluster_config()["available_node_types"]
    cpu, gpu = types["cpu-selfplay"]["resources"], types["gpu-server"]["resources"]
    assert cpu["CPU"] >= 1 and not cpu.get("GPU")  # a SelfPlayWorker requests 1 CPU
    assert types["head"]["resources"]["CPU"] == 0 and gpu["CPU"] == 0  # workers land on CPU nodes only
    paper = yaml.safe_load((ROOT / "configs" / "selfplay-9x9.yaml").read_text())
    assert paper["worker"]["workers"] <= cpu["CPU"] * types["cpu-selfplay"]["max_workers"]
    gpus = gpu["GPU"] * types["gpu-server"]["max_workers"]
    servers, learner = gpu_requests(gpus, gpus, learner=True)  # one server per GPU
    assert max(servers + [learner]) <= gpu["GPU"] and sum(servers) + learner == gpus


@pytest.mark.parametrize("gpus, servers, expected", [
    (0, 1, ([0.0], 0.0)),
    (1, 1, ([0.5], 0.5)),
    (2, 2, ([0.5, 1.0], 0.5)),  # server 0 shares GPU 0 with the learner, server 1 has GPU 1
    (4, 4, ([0.5, 1.0, 1.0, 1.0], 0.5)),
    (1, 2, ([1 / 3, 1 / 3], 1 / 3)),
    (2, 1, ([1.0], 1.0)),
])
def test_gpu_requests_fill_each_gpu_exactly(gpus, servers, expected):
    from dpv.selfplay.placement import gpu_requests

    assert gpu_requests(gpus, servers, learner=True) == expected
    assert gpu_requests(gpus, servers, learner=False)[1] == 0.0


def test_head_runs_redis_with_aof_beside_ray_and_opens_the_metrics_port():
    config = cluster_config()
    head = " ".join(config["head_start_ray_commands"])
    assert "cluster/redis-start.sh /data/redis ~/.dpv/redis_password 6380" in head  # tests/test_cluster_redis.py
    assert "0.0.0.0" not in head and "protected-mode no" not in head
    assert config["file_mounts"]["~/.dpv/redis_password"] == "~/.dpv/redis_password"
    assert "ray start --head --port=6379" in head  # Ray's GCS keeps 6379, Redis takes 6380
    port = yaml.safe_load((ROOT / "configs" / "selfplay-9x9.yaml").read_text())["metrics"]["port"]
    permissions = config["provider"]["security_group"]["IpPermissions"]
    assert [(p["FromPort"], p["ToPort"]) for p in permissions] == [(port, port)]
    assert any("RAY_AUTH_MODE=" in option for option in config["docker"]["run_options"])


def package_folders() -> set[str]:
    """Top-level folders that setup.py builds the packages from: its find_namespace_packages
    patterns and its package_dir mapping (configs/ as dpv.presets), read from its source."""
    call = next(node for node in ast.walk(ast.parse((ROOT / "setup.py").read_text()))
                if isinstance(node, ast.Call) and getattr(node.func, "id", None) == "setup")
    keywords = {k.arg: k.value for k in call.keywords}
    find = next(node for node in ast.walk(keywords["packages"])
                if isinstance(node, ast.Call) and getattr(node.func, "id", None) == "find_namespace_packages")
    include = ast.literal_eval(next(k.value for k in find.keywords if k.arg == "include"))
    mapped = ast.literal_eval(keywords["package_dir"]).values()
    return {pattern.rstrip("*") for pattern in include} | {folder.split("/")[0] for folder in mapped}


def test_the_image_runs_as_an_unprivileged_user():
    lines = DOCKERFILE.read_text().splitlines()
    users = [line.split()[1] for line in lines if line.startswith("USER ")]
    assert users and users[-1] not in ("root", "0")
    assert any("chown 1000:1000 /data" in command for command in cluster_config()["initialization_commands"])


def test_dockerfile_installs_like_make_setup():
    makefile, docker = (ROOT / "Makefile").read_text(), DOCKERFILE.read_text()
    torch_pin = re.search(r"^TORCH\s*:=\s*(\S+)", makefile, re.M).group(1)
    extras = re.search(r"pip install --quiet -e '(\.\[[^\]]*\])'", makefile).group(1)
    assert f"ARG TORCH={torch_pin}" in docker
    lines = docker.splitlines()
    torch_at = next(i for i, line in enumerate(lines) if 'pip install "${TORCH}"' in line)
    project_at = next(i for i, line in enumerate(lines) if f"pip install '{extras}'" in line)
    copied = [word for line in lines if line.startswith("COPY ") for word in line.split()[1:-1]]
    copy_dpv_at = next(i for i, line in enumerate(lines) if line.startswith("COPY dpv"))
    assert torch_at < copy_dpv_at < project_at  # torch first, in its own layer, then the project
    tomllib = pytest.importorskip("tomllib")  # Python >= 3.11
    readme = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["readme"]
    needed = {"pyproject.toml", "setup.py", readme, *package_folders()}
    assert {"dpv", "go_engine", "configs"} <= needed
    before_install = {word for line in lines[:project_at] if line.startswith("COPY ") for word in line.split()[1:-1]}
    assert needed <= before_install, needed - before_install
    assert all((ROOT / path).exists() for path in copied)


@pytest.mark.timeout(300)
def test_run_places_servers_and_learner_on_the_gpu_node(tmp_path):
    """Head (no CPUs), a CPU node and a node with 2 fake GPUs: the two inference servers and
    the learner run on the GPU node (server 0 and the learner share a GPU), the workers on the
    CPU node, and with no CUDA in torch the servers and learner fall back to the CPU."""
    from selfplay.test_selfplay import tiny

    from dpv.config import to_dict
    from scaling import local_cluster

    config = to_dict(tiny(worker={"workers": 2, "games": 4}, server={"device": "auto"},
                          learner={"device": "auto", "min_games": 6, "games_per_cycle": 6, "steps": 2},
                          gating={"games": 2, "simulations": 2}))
    config_path, run_dir = tmp_path / "tiny.yaml", tmp_path / "run"
    config_path.write_text(yaml.safe_dump(config))
    with local_cluster([{"num_cpus": 0}, {"num_cpus": 2}, {"num_cpus": 0, "num_gpus": 2}]) as cluster:
        run = subprocess.run([str(DPV), "launch", "selfplay", "--config", str(config_path), "--run-dir", str(run_dir),
                              "--address", cluster.address, "--max-games", "8"],
                             capture_output=True, text=True, timeout=240, env=dict(os.environ))
        nodes = {n["NodeID"]: n["Resources"] for n in cluster.global_state.node_table() if n["Alive"]}
    assert run.returncode == 0, run.stderr[-3000:]
    summary = json.loads((run_dir / "summary.json").read_text())
    placement = summary["placement"]
    gpu_node = next(node for node, res in nodes.items() if res.get("GPU"))
    cpu_node = next(node for node, res in nodes.items() if res.get("CPU"))
    for name in ("server-0", "server-1", "learner"):
        assert placement[name]["node_id"] == gpu_node, (name, placement[name])
        assert placement[name]["device"] == "cpu"  # device auto: a fake GPU has no CUDA
    assert placement["server-0"]["resources"] == placement["learner"]["resources"] == {"GPU": 0.5}
    assert placement["server-1"]["resources"] == {"GPU": 1.0}
    assert placement["server-0"]["gpu_ids"] == placement["learner"]["gpu_ids"] != placement["server-1"]["gpu_ids"]
    for name in ("worker-0", "worker-1"):
        assert placement[name]["node_id"] == cpu_node and placement[name]["resources"] == {"CPU": 1.0}
    assert summary["games"] >= 8 and summary["learner_step"] >= 2  # the learner trained on the GPU node


def test_gpu_server_bench_runs_without_ray(tmp_path):
    """bench/gpu_server.py --quick (tiny net, CPU) with Ray made unimportable, as on the GPU
    machine it is written for: one row per batch, each server batch full."""
    out = tmp_path / "gpu_server.json"
    script = ("import runpy, sys; sys.modules['ray'] = None; "
              f"sys.argv = ['gpu_server.py', '--quick', '--out', {str(out)!r}]; "
              f"runpy.run_path({str(ROOT / 'bench' / 'gpu_server.py')!r}, run_name='__main__')")
    run = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stderr[-3000:]
    assert "| batch | bare forward evals/s | server evals/s |" in run.stdout
    rows = json.loads(out.read_text())["rows"]
    assert [r["batch"] for r in rows] == [16, 32]
    for r in rows:
        assert r["bare_evals_per_s"] > 0 and r["server_evals_per_s"] > 0
        assert r["server_mean_batch"] > r["batch"] / 2  # requests were batched, not served one by one
