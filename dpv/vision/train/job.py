"""The `dpv vision-train` job: a Ray Train `TorchTrainer` (DDP over CPU or GPU workers) that
trains a multi-exit classifier with one of the losses of thesis ch. 4. With `workers: 0` the same
epochs run in the calling process, without Ray (one process, no DDP: quick runs and tests).

Recipe (thesis 4.3): SGD with momentum, learning rate decaying with a cosine shape per
iteration from `lr` to 0 over the schedule, the global batch split evenly over the workers.
After every epoch each exit is validated on the held-out split, and rank 0 writes
`RUN_DIR/last.pt` (weights, optimizer state, epochs done, metrics) and `metrics.jsonl`; the
epoch whose last exit validates best so far is kept as `RUN_DIR/best.pt`. A job
whose run directory holds `last.pt` continues from it: at the next epoch, with the saved
optimizer state, the same data order and augmentation (seeded per epoch), so a resumed run
matches an uninterrupted one. At the end every exit is tested on the test split, with the final
weights and with those of the best epoch (the early stopping of Table 4.6's "MSDNet last
only"; the thesis reports the other rows at the end of training), and the anytime report is
written (see `dpv.vision.train.report`). On a multi-node cluster RUN_DIR must be on storage
that every node sees (as Ray's own `storage_path`).
"""
from __future__ import annotations

import dataclasses
import json
import math
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from torch import nn
from torch.utils.data import DataLoader, Dataset, DistributedSampler, Subset

from dpv.config import from_dict, to_dict
from dpv.progress import Progress
from dpv.vision.data.datasets import get_dataset, num_classes, prepare_dataset
from dpv.vision.models.build import build_model
from dpv.vision.models.config import ModelConfig, preset
from dpv.vision.train.checkpoint import exit_costs, load_vision_checkpoint, save_vision_checkpoint, unwrap
from dpv.vision.train.config import VisionTrainConfig
from dpv.vision.train.losses import MultiExitLoss, make_loss

CHECKPOINT = "last.pt"
BEST = "best.pt"
METRICS = "metrics.jsonl"
# Settings `--resume` may change; the rest of a resumed run's config is the saved one.
RESUMABLE = ("workers", "gpu", "loader_workers", "stop_after", "data_dir")
EVAL_BATCH = 256


@dataclass
class TrainResult:
    """What a `train` call left behind: the run directory, its checkpoint, the epochs done
    and whether the schedule is complete."""

    run_dir: Path
    checkpoint: Path
    epoch: int
    finished: bool


def build_loss(config: VisionTrainConfig) -> MultiExitLoss:
    """The training loss of a resolved `config`."""
    return make_loss(config.loss, lam=config.lam, dynamic=config.dynamic, alpha=config.alpha,
                     weight_grad=config.weight_grad, threshold=config.threshold,
                     weight_norm=config.weight_norm)


def model_config(config: VisionTrainConfig) -> ModelConfig:
    """The model of a resolved `config`: its preset with the data set's classes and the
    damping neuron when the loss needs it."""
    return preset(config.model, num_classes(config.dataset, config.data_dir),
                  damping=build_loss(config).damping)


def cosine_lr(base: float, step: int, total: int) -> float:
    """Learning rate at iteration `step` of `total`: base * (1 + cos(pi * step / total)) / 2."""
    return 0.5 * base * (1 + math.cos(math.pi * step / total))


def prepare(config: VisionTrainConfig, run_dir: str | Path, resume: bool = False,
            overrides: dict[str, Any] | None = None) -> tuple[VisionTrainConfig, int]:
    """Check everything a job needs before any worker starts; return its resolved config and
    the epochs already done. A new run needs a run directory without `last.pt`; `resume`
    needs one with it, and takes the saved config, changed only in `RESUMABLE` settings
    (`overrides` naming any other setting with another value is an error); a saved
    `stop_after` is dropped. Reads the training split once, to refuse a batch larger than it."""
    run_dir = Path(run_dir)
    path = run_dir / CHECKPOINT
    done = 0
    if resume:
        if not path.is_file():
            raise ValueError(f"--resume: no {path} to continue (start the run without --resume)")
        saved = load_vision_checkpoint(path)
        clash = {k: v for k, v in (overrides or {}).items()
                 if k not in RESUMABLE and v != getattr(saved.config, k)}
        if clash:
            key = sorted(clash)[0]
            raise ValueError(f"--resume continues {path} with its saved settings: '{key}' is "
                             f"{getattr(saved.config, key)!r} there, not {clash[key]!r}")
        keep = {"stop_after": None,  # a new stop, if any, is the resuming command's
                **{k: v for k, v in (overrides or {}).items() if k in RESUMABLE}}
        config, done = dataclasses.replace(saved.config, **keep), saved.epoch
    elif path.exists():
        raise ValueError(f"{run_dir} already holds a run ({path}); pass --resume to continue it "
                         f"or choose another --run-dir")
    config = config.resolved()
    world = max(config.workers, 1)
    if config.batch_size % world:
        raise ValueError(f"batch size {config.batch_size} does not split evenly over "
                         f"{config.workers} workers")
    model_config(config)  # validates the loss and its settings
    prepare_dataset(config.dataset, config.data_dir)
    images = len(get_dataset(config.dataset, "train", config.data_dir, config.data_seed))
    if images // world < config.batch_size // world:
        raise ValueError(f"batch size {config.batch_size} is larger than the {images} training "
                         f"images of {config.dataset}: no batch to train on")
    if config.gpu and config.workers == 0 and not torch.cuda.is_available():
        raise ValueError("--gpu: torch sees no CUDA device in this process")
    if config.gpu and config.workers > 0 and not _cluster_has_gpus():
        raise ValueError("--gpu: this Ray cluster has no GPUs")
    return config, done


def train(config: VisionTrainConfig, run_dir: str | Path, resume: bool = False,
          overrides: dict[str, Any] | None = None) -> TrainResult:
    """Run the training job for `config` in `run_dir` (see the module docstring) and, once the
    schedule is complete, write the anytime report. Starts a local Ray if none is running."""
    from dpv.vision.train.report import write_anytime_report

    run_dir = Path(run_dir).resolve()
    config, done = prepare(config, run_dir, resume, overrides)
    target = min(config.epochs, config.stop_after or config.epochs)
    if done < target and config.workers == 0:
        fit_epochs(config, run_dir, Worker(0, 1, torch.device("cuda" if config.gpu else "cpu")))
    elif done < target:
        _fit(config, run_dir)
    checkpoint = load_vision_checkpoint(run_dir / CHECKPOINT)
    finished = checkpoint.epoch >= config.epochs
    if finished:
        write_anytime_report(checkpoint, run_dir)
    return TrainResult(run_dir, run_dir / CHECKPOINT, checkpoint.epoch, finished)


def _ray():
    """The ray module, with a local Ray started if none is running."""
    import ray

    if not ray.is_initialized():
        ray.init(include_dashboard=False, configure_logging=False)
    return ray


def _cluster_has_gpus() -> bool:
    return _ray().cluster_resources().get("GPU", 0) > 0


def _fit(config: VisionTrainConfig, run_dir: Path) -> None:
    from ray.train import LoggingConfig, RunConfig, ScalingConfig, TrainingFailedError
    from ray.train.torch import TorchTrainer

    _ray()
    trainer = TorchTrainer(
        train_loop,
        train_loop_config={"config": to_dict(config), "run_dir": str(run_dir)},
        scaling_config=ScalingConfig(num_workers=config.workers, use_gpu=config.gpu),
        run_config=RunConfig(name="ray", storage_path=str(run_dir),
                             logging_config=LoggingConfig(log_level="WARNING")),
    )
    try:
        trainer.fit()
    except TrainingFailedError as err:
        print(err, file=sys.stderr)
        lines = [line for line in str(err).splitlines() if line.strip()]
        raise ValueError(f"training failed on a worker: {lines[-1] if lines else err}") from None


@dataclass(frozen=True)
class Worker:
    """Where `fit_epochs` runs: this worker's rank among `world` training workers, its torch
    device, how its model is wrapped for data-parallel training (identity in one process) and
    where each epoch's metrics are reported (nowhere in one process)."""

    rank: int
    world: int
    device: torch.device
    prepare: Callable[[nn.Module], nn.Module] = lambda net: net
    report: Callable[[dict[str, Any]], None] = lambda metrics: None


def train_loop(loop_config: dict[str, Any]) -> None:
    """The Ray Train worker: `fit_epochs` in a DDP worker group."""
    import ray.train
    import ray.train.torch

    config = from_dict(VisionTrainConfig, loop_config["config"])
    context = ray.train.get_context()
    kwargs = {"find_unused_parameters": config.loss.endswith("last-only")}
    worker = Worker(context.get_world_rank(), context.get_world_size(), ray.train.torch.get_device(),
                    lambda net: ray.train.torch.prepare_model(net, parallel_strategy_kwargs=kwargs),
                    ray.train.report)
    fit_epochs(config, Path(loop_config["run_dir"]), worker)


def fit_epochs(config: VisionTrainConfig, run_dir: Path, worker: Worker) -> None:
    """Train from the saved state (if any) to the end of the schedule or `stop_after`,
    validating every exit and checkpointing (rank 0) after each epoch."""
    rank, world, device = worker.rank, worker.world, worker.device
    torch.manual_seed(config.seed)
    loss_fn = build_loss(config)
    net = build_model(model_config(config))
    costs = exit_costs(net)
    optimizer = torch.optim.SGD(net.parameters(), lr=config.lr, momentum=config.momentum,
                                weight_decay=config.weight_decay)
    history: list[dict[str, Any]] = []
    start = 0
    best_weights: dict[str, torch.Tensor] | None = None
    if (run_dir / CHECKPOINT).is_file():
        saved = load_vision_checkpoint(run_dir / CHECKPOINT)
        net.load_state_dict(saved.model.state_dict())
        optimizer.load_state_dict(saved.optimizer_state)
        start, history = saved.epoch, list(saved.metrics.get("history", []))
        if (run_dir / BEST).is_file():  # absent in runs begun before best.pt was kept
            best_weights = load_vision_checkpoint(run_dir / BEST).model.state_dict()
    model = worker.prepare(net.to(device))
    _move_optimizer_state(optimizer, device)

    train_set = get_dataset(config.dataset, "train", config.data_dir, config.data_seed,
                            augment=True)
    val_set = get_dataset(config.dataset, "val", config.data_dir, config.data_seed)
    sampler = DistributedSampler(train_set, num_replicas=world, rank=rank, shuffle=True,
                                 seed=config.seed, drop_last=True)
    loader = DataLoader(train_set, batch_size=config.batch_size // world, sampler=sampler,
                        drop_last=True, num_workers=config.loader_workers,
                        pin_memory=device.type == "cuda")
    steps = len(loader)  # >= 1: `prepare` refuses a batch larger than the data set
    stop = min(config.epochs, config.stop_after or config.epochs)
    progress = Progress() if rank == 0 else None
    for epoch in range(start, stop):
        sampler.set_epoch(epoch)
        torch.manual_seed(config.seed * 1_000_003 + epoch * 1009 + rank)  # augmentation
        began = time.monotonic()
        train_loss = _train_epoch(model, loader, loss_fn, optimizer, config, epoch, steps,
                                  device, world, progress, history)
        train_seconds = time.monotonic() - began
        val = evaluate(model, val_set, device, rank, world, config.loader_workers)
        record = {"epoch": epoch + 1, "lr": optimizer.param_groups[0]["lr"],
                  "train_loss": train_loss,
                  "images_per_s": steps * config.batch_size / train_seconds,
                  "seconds": time.monotonic() - began,
                  "val_accuracy": val["accuracy"], "val_damping_mean": val["damping_mean"]}
        history.append(record)
        improved = best_epoch(history) == epoch + 1
        if improved:
            best_weights = {k: v.detach().cpu().clone() for k, v in unwrap(model).state_dict().items()}
        metrics: dict[str, Any] = {"history": history}
        if epoch + 1 == config.epochs:
            test_set = get_dataset(config.dataset, "test", config.data_dir, config.data_seed)
            metrics["test"] = evaluate(model, test_set, device, rank, world,
                                       config.loader_workers)
            if best_weights is not None:
                metrics["test_best"] = {"epoch": best_epoch(history), **_evaluate_weights(
                    net, best_weights, test_set, device, rank, world, config.loader_workers)}
        if rank == 0:
            if improved:
                save_vision_checkpoint(run_dir / BEST, model, config, epoch + 1, None,
                                       {"history": history}, costs)
            save_vision_checkpoint(run_dir / CHECKPOINT, model, config, epoch + 1, optimizer,
                                   metrics, costs)
            _write_history(run_dir / METRICS, history)
            progress.update(_epoch_line(record, config.epochs, history), force=True)
        worker.report({"epoch": epoch + 1, "val_accuracy": val["accuracy"]})


def _train_epoch(model: nn.Module, loader: DataLoader, loss_fn: MultiExitLoss,
                 optimizer: torch.optim.Optimizer, config: VisionTrainConfig, epoch: int,
                 steps: int, device: torch.device, world: int, progress: Progress | None,
                 history: list[dict[str, Any]]) -> float:
    """One epoch of SGD with the per-iteration cosine learning rate; the mean training loss
    (of this worker's batches)."""
    model.train()
    total_steps = config.epochs * steps
    began, loss_sum = time.monotonic(), 0.0
    for i, (x, y) in enumerate(loader):
        for group in optimizer.param_groups:
            group["lr"] = cosine_lr(config.lr, epoch * steps + i, total_steps)
        x, y = x.to(device, non_blocking=True), y.to(device, non_blocking=True)
        loss = loss_fn(model(x), y)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        loss_sum += float(loss.detach())
        if progress is not None:
            rate = (i + 1) * config.batch_size / (time.monotonic() - began)
            epoch_guess = _epoch_seconds(history, steps * config.batch_size / rate)
            left = (steps - i - 1) * config.batch_size / rate + \
                (config.epochs - epoch - 1) * epoch_guess
            progress.update(f"epoch {epoch + 1}/{config.epochs} [{i + 1}/{steps}] "
                            f"{rate:,.0f} img/s  loss {loss_sum / (i + 1):.3f}  "
                            f"ETA {_duration(left)}")
    return loss_sum / steps


@torch.no_grad()
def evaluate(model: nn.Module, dataset: Dataset, device: torch.device | str = "cpu",
             rank: int = 0, world: int = 1, loader_workers: int = 0) -> dict[str, list[float]]:
    """Accuracy (%) of every exit on `dataset`, from the first N logits (the damping neuron
    dropped), and each exit's mean damping-neuron softmax (Table 4.8; empty without the
    neuron). Each of `world` workers evaluates every world-th image; the counts are summed
    over the workers."""
    net = unwrap(model)
    if world > 1:  # every worker's BN statistics drift after the last DDP broadcast
        for buffer in net.buffers():
            torch.distributed.broadcast(buffer, 0)
    was_training = net.training
    net.eval()
    n = net.config.num_classes
    part = Subset(dataset, range(rank, len(dataset), world))
    totals = torch.zeros(3, net.num_exits, dtype=torch.float64, device=device)  # hits, F[N+1], n
    for x, y in DataLoader(part, batch_size=EVAL_BATCH, num_workers=loader_workers):
        x, y = x.to(device), y.to(device)
        for k, z in enumerate(net(x)):
            totals[0, k] += (z[:, :n].argmax(1) == y).sum()
            if net.config.damping:
                totals[1, k] += z.softmax(1)[:, -1].sum()
        totals[2] += len(y)
    if world > 1:
        torch.distributed.all_reduce(totals)
    net.train(was_training)
    count = totals[2].clamp(min=1)
    accuracy = (100 * totals[0] / count).tolist()
    means = (totals[1] / count).tolist() if net.config.damping else []
    return {"accuracy": accuracy, "damping_mean": means}


def best_epoch(history: list[dict[str, Any]]) -> int:
    """The epoch (1-based) whose last exit had the highest validation accuracy, the first of
    equals: the early-stopping choice of Table 4.6."""
    last = [record["val_accuracy"][-1] for record in history]
    return history[last.index(max(last))]["epoch"]


def _evaluate_weights(net: nn.Module, weights: dict[str, torch.Tensor], dataset: Dataset,
                      device: torch.device, rank: int, world: int,
                      loader_workers: int) -> dict[str, list[float]]:
    """`evaluate` of a copy of `net` (unwrapped) holding `weights`."""
    copy = build_model(unwrap(net).config).to(device)
    copy.load_state_dict(weights)
    return evaluate(copy, dataset, device, rank, world, loader_workers)


def _move_optimizer_state(optimizer: torch.optim.Optimizer, device: torch.device) -> None:
    for state in optimizer.state.values():
        for key, value in state.items():
            if torch.is_tensor(value):
                state[key] = value.to(device)


def _epoch_seconds(history: list[dict[str, Any]], guess: float) -> float:
    return history[-1]["seconds"] if history else guess


def _epoch_line(record: dict[str, Any], epochs: int, history: list[dict[str, Any]]) -> str:
    left = (epochs - record["epoch"]) * _epoch_seconds(history, 0.0)
    accuracy = " ".join(f"{a:.1f}" for a in record["val_accuracy"])
    return (f"epoch {record['epoch']}/{epochs} done: {record['images_per_s']:,.0f} img/s  "
            f"loss {record['train_loss']:.3f}  val acc per exit [{accuracy}]  "
            f"ETA {_duration(left)}")


def _duration(seconds: float) -> str:
    seconds = int(seconds)
    if seconds >= 3600:
        return f"{seconds // 3600}h{seconds % 3600 // 60:02d}m"
    return f"{seconds // 60}m{seconds % 60:02d}s"


def _write_history(path: Path, history: list[dict[str, Any]]) -> None:
    tmp = path.with_suffix(".tmp")
    tmp.write_text("".join(json.dumps(r) + "\n" for r in history))
    tmp.replace(path)
