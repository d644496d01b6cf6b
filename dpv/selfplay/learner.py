"""Learner: trains the DPV network on replay-buffer samples with weighted deep supervision
(eq. 6.1-6.3; with the ownership and score heads' terms where the network has them, over the
positions of played-out games only; under playout cap randomization eq. 6.1's policy term
summed over the policy-target positions only, the value term over all), SGD with momentum and
an L2 term, and writes a checkpoint per training cycle; its answer (TrainResult) carries the
mean losses per exit, the ownership and score ones where the network has those heads.

The driver calls `train(steps)` once per `games_per_cycle` new games after `min_games`
(thesis 6.3.1: 1,000 steps per 500 games after 3,000); the learner keeps training its own
weights whether or not gating promotes them (AlphaGo Zero). The next batch is requested from
the buffer while the current one trains. Resumes from the newest checkpoint of the run
(step count and optimizer state): on `--resume`, and when Ray restarts a learner that died
(the constructor runs again; the driver then submits the interrupted cycle again). A loss
that becomes nan or infinite stops the run (RunError naming the step) before the step is
taken, so no checkpoint holds the broken weights.
"""
from __future__ import annotations

import math
import time
from pathlib import Path
from typing import Any

import numpy as np

from dpv.nets.config import LossConfig, NetConfig
from dpv.selfplay.config import LearnerSection
from dpv.selfplay.errors import RunError
from dpv.selfplay.messages import TrainingBatch, TrainResult

CHECKPOINT_PATTERN = "step-*.pt"


def latest_checkpoint(directory: Path) -> Path | None:
    """The learner checkpoint with the highest step in `directory`, if any."""
    found = sorted(directory.glob(CHECKPOINT_PATTERN))
    return found[-1] if found else None


def latest_step(directory: Path) -> int:
    """The step of the newest learner checkpoint in `directory`, read from its name (0 when
    there is none)."""
    path = latest_checkpoint(directory)
    return 0 if path is None else int(path.stem.removeprefix("step-"))


def batch_loss(model: Any, batch: TrainingBatch, cfg: LossConfig, device: Any) -> Any:
    """The weighted deep-supervision loss (dpv.nets.loss.LossTerms, eq. 6.3) of `model` (a
    DPVNet on `device`) on a replay-buffer batch, with the ownership and score targets where
    the batch carries them (over its played-out games' positions, TrainingBatch.aux_target);
    the policy term counts only the batch's policy-target positions (TrainingBatch.policy_target,
    playout cap randomization), the value term all."""
    import torch

    from dpv.nets.loss import deep_supervision_loss
    from dpv.selfplay.packing import unpack_planes

    def tensor(a: np.ndarray | None) -> Any:
        return None if a is None else torch.from_numpy(a.copy()).to(device)  # Ray's arrays are read-only

    net = model.config
    x = torch.from_numpy(unpack_planes(batch.planes, (net.input_planes, net.board_size, net.board_size))).to(device)
    return deep_supervision_loss(model(x), tensor(batch.pi), tensor(batch.z), cfg, model,
                                 tensor(batch.ownership), tensor(batch.score), tensor(batch.policy_target),
                                 tensor(batch.aux_target))


class Learner:
    """Trains the network of `initial` (a checkpoint path) or resumes from the newest
    checkpoint in `checkpoint_dir` (run as a Ray actor, `ray.remote(Learner)`). With a game
    store (`store_url`) each start is counted there."""

    def __init__(self, net: NetConfig, loss: LossConfig, learner: LearnerSection, initial: str,
                 checkpoint_dir: str, buffer: Any, seed: int = 0, store_url: str | None = None,
                 prefix: str = "dpv") -> None:
        import torch

        from dpv.nets.checkpoint import load_checkpoint
        from dpv.nets.model import DPVNet
        from dpv.selfplay.inference import pick_device
        from dpv.selfplay.state import RunState

        if store_url:
            RunState.connect(store_url, prefix).count_start("learner")
        torch.set_num_threads(learner.threads)
        torch.manual_seed(seed)
        self.cfg = learner
        self.loss_cfg = loss
        self.device = pick_device(learner.device)
        self.dir = Path(checkpoint_dir)
        self.buffer = buffer
        self.model = DPVNet(net).to(self.device)
        self.optimizer = torch.optim.SGD(self.model.parameters(), lr=learner.lr, momentum=learner.momentum)
        resume = latest_checkpoint(self.dir)
        if resume is not None:
            self.step = load_checkpoint(resume, self.model, self.optimizer, self.device).step
        else:
            load_checkpoint(initial, self.model, device=self.device)
            self.step = 0

    def train(self, steps: int, games: int = 0) -> TrainResult:
        """Run `steps` SGD steps and write `checkpoints/step-NNNNNNNN.pt` (recording `games`,
        the games stored when the cycle became due); a non-finite loss raises RunError."""
        import ray

        from dpv.nets.checkpoint import save_checkpoint

        self.model.train()
        start = time.perf_counter()
        policy = np.zeros(self.model.num_exits)
        value = np.zeros(self.model.num_exits)
        ownership, score = np.zeros(self.model.num_exits), np.zeros(self.model.num_exits)
        total = 0.0
        pending = self.buffer.sample.remote(self.cfg.batch_size)
        for i in range(steps):
            batch = ray.get(pending)
            if i + 1 < steps:
                pending = self.buffer.sample.remote(self.cfg.batch_size)
            terms = batch_loss(self.model, batch, self.loss_cfg, self.device)
            loss = float(terms.total.detach())
            if not math.isfinite(loss):
                raise RunError(f"the training loss is {loss} at learner step {self.step + 1}: the run stops "
                               f"(lower learner.lr, {self.cfg.lr}, or check the games)")
            self.optimizer.zero_grad(set_to_none=True)
            terms.total.backward()
            self.optimizer.step()
            self.step += 1
            policy += terms.policy
            value += terms.value
            if terms.ownership:
                ownership += terms.ownership
            if terms.score:
                score += terms.score
            total += loss
        self.model.eval()
        path = self.dir / f"step-{self.step:08d}.pt"
        save_checkpoint(path, self.model, self.step, self.optimizer, extra={"games": games})
        seconds = time.perf_counter() - start
        net = self.model.config
        return TrainResult(step=self.step, checkpoint=str(path), loss=total / steps,
                           policy_loss=(policy / steps).tolist(), value_loss=(value / steps).tolist(),
                           samples_per_s=steps * self.cfg.batch_size / seconds, seconds=seconds,
                           ownership_loss=(ownership / steps).tolist() if net.ownership_head else None,
                           score_loss=(score / steps).tolist() if net.score_head else None)
