"""The search's evaluator contract: numpy in, numpy out, over a DPV network.

`Evaluator(planes, thresholds, legal=None, fixed_exit=None)` takes input planes float32
[n, 17, N, N] (AlphaGo Zero layout), per-leaf exit thresholds float32 [n] and optionally a
fixed exit per leaf int [n] (-1: decide by threshold), and returns
`(priors float32 [n, A], values float32 [n], exit_used int32 [n])`: priors are the softmax over
all A = N*N + 1 actions, values lie in [-1, 1] from the view of the player to move, and each
leaf leaves at the first exit whose confidence (eq. 6.4, over legal moves when `legal` is
given) reaches its threshold (eq. 6.6). A threshold above 1 means the last exit. The forward
itself runs on an inference backend (dpv.nets.backends): torch fp32 unless told otherwise.
"""
from __future__ import annotations

from pathlib import Path
from typing import NamedTuple

import numpy as np
import torch

from dpv.nets.backends.base import InferenceBackend
from dpv.nets.backends.torch_backend import TorchBackend
from dpv.nets.checkpoint import load_checkpoint
from dpv.nets.flops import exit_flops
from dpv.nets.model import DPVNet, score_as_value

Result = tuple[np.ndarray, np.ndarray, np.ndarray]


class PositionEstimates(NamedTuple):
    """What the auxiliary heads say of a batch of positions (`Evaluator.position_estimates`)."""

    ownership: np.ndarray | None
    """float32 [n, N*N] in [-1, 1], action order, +1: the player to move owns the point; None
    without an ownership head."""
    score: np.ndarray | None
    """float32 [n]: the points the player to move leads by at the game's end (komi included);
    None without a score head."""


class Evaluator:
    """Wraps a DPVNet on a device for batched, inference-mode evaluation through an inference
    backend: `backend` (one built over `model` on its own device, see dpv.nets.backends.choice;
    `device` and the flags are then unused), else a torch one on `device`.

    For the torch one, `bf16` runs under bfloat16 autocast and `channels_last` uses the NHWC
    memory layout. On an H200 with the paper preset (bench/nets.py) channels_last gave about +20%
    positions/s at batch 64-256 and bf16 was slower, so use `channels_last=True, bf16=False` on
    CUDA. `exit_flops[k]` is the cost of exit k for one position, which the search charges per leaf.
    """

    def __init__(self, model: DPVNet, device: str | torch.device = "cpu", bf16: bool = False,
                 channels_last: bool = False, *, backend: InferenceBackend | None = None) -> None:
        if backend is None:
            backend = TorchBackend("torch-bf16" if bf16 else "torch-fp32", model, device, bf16=bf16,
                                   channels_last=channels_last)
        elif backend.model is not model:
            raise ValueError(f"backend {backend.name} runs another model than the one given")
        self.backend = backend
        self.model = backend.model
        self.device = backend.device
        cfg = model.config
        self.input_shape = (cfg.input_planes, cfg.board_size, cfg.board_size)
        self.num_exits = model.num_exits
        self.exit_flops = np.asarray(exit_flops(model), dtype=np.float64)
        self._scoring: Evaluator | None = None

    @classmethod
    def from_checkpoint(cls, path: str | Path, device: str | torch.device = "cpu", **options: bool) -> Evaluator:
        """An evaluator over the network saved at `path` (see `load_checkpoint`)."""
        return cls(load_checkpoint(path, device=device).model, device, **options)

    def load_state_dict(self, state_dict: dict[str, torch.Tensor]) -> None:
        """New weights for the model, and the backend rebuilt over them."""
        self.model.load_state_dict(state_dict)
        self.backend.reload()
        self._scoring = None

    def scoring(self) -> Evaluator:
        """An evaluator over the same weights, on a backend of the same kind, whose values are
        the score heads' (the points the player to move leads by at komi 7.5, divided by N*N,
        unbounded) at the exit each leaf takes (dpv.nets.model.score_as_value): one forward per
        leaf gives its priors, exit and score. Built once per weights (dpv.gtp.komi asks at
        each `komi` command); ValueError for a network without score heads."""
        if self._scoring is None:
            from dpv.nets.backends.choice import build_backend

            model = score_as_value(self.model)
            backend = build_backend(self.backend.name, model, self.device, getattr(self.backend, "threads", 1))
            self._scoring = Evaluator(model, self.device, backend=backend) if backend else Evaluator(model, self.device)
        return self._scoring

    def __call__(self, planes: np.ndarray, thresholds: np.ndarray | float,
                 legal: np.ndarray | None = None, fixed_exit: np.ndarray | None = None,
                 vote: np.ndarray | None = None) -> Result:
        """The search's evaluator contract (go_engine.search): leaf i answers at exit
        `fixed_exit[i]` when that is >= 0, else at the first exit whose confidence reaches
        `thresholds[i]` (eq. 6.4-6.6). Rows of both kinds may share one call (two players with
        different exit policies); each kind runs as its own sub-batch. A leaf of the dynamic kind
        whose bool `vote[i]` is set answers with the mean policy logits of the exits it passed
        (collaborative exits, `dpv.nets.model.early_exit`: no extra FLOPs); fixed-exit leaves
        ignore it."""
        x = self._planes(planes)
        n = x.shape[0]
        t = torch.as_tensor(np.asarray(thresholds, dtype=np.float32))
        if t.shape not in ((), (n,)):
            raise ValueError(f"thresholds must have shape [{n}] or be a scalar, got {list(t.shape)}")
        t = t.expand(n).to(self.device)
        fixed = np.full(n, -1, dtype=np.int64) if fixed_exit is None else np.asarray(fixed_exit, dtype=np.int64)
        if fixed.shape != (n,) or fixed.min(initial=-1) < -1 or fixed.max(initial=-1) >= self.num_exits:
            raise ValueError(f"fixed_exit must be [{n}] ints in -1..{self.num_exits - 1}, "
                             f"got shape {list(fixed.shape)} with values {sorted(set(fixed.ravel().tolist()))[:8]}")
        mask = None
        if legal is not None:
            legal = np.asarray(legal, dtype=bool)
            if legal.shape != (n, self.model.config.num_actions):
                raise ValueError(f"legal must have shape {(n, self.model.config.num_actions)}, got {legal.shape}")
            mask = torch.from_numpy(legal).to(self.device, non_blocking=True)
        votes = None
        if vote is not None:
            vote = np.asarray(vote, dtype=bool)
            if vote.shape != (n,):
                raise ValueError(f"vote must have shape [{n}], got {list(vote.shape)}")
            votes = torch.from_numpy(vote).to(self.device) if vote.any() else None
        kinds = np.unique(fixed)
        with torch.inference_mode():
            if len(kinds) == 1:
                return self._result(*self._forward(x, t, mask, int(kinds[0]), votes))
            logits = x.new_empty(n, self.model.config.num_actions)
            values = x.new_empty(n)
            exits = torch.empty(n, dtype=torch.int64, device=self.device)
            for kind in kinds:
                rows = torch.from_numpy(np.flatnonzero(fixed == kind)).to(self.device)
                sub_mask = None if mask is None else mask.index_select(0, rows)
                sub_votes = None if votes is None else votes.index_select(0, rows)
                out = self._forward(x.index_select(0, rows), t.index_select(0, rows), sub_mask, int(kind), sub_votes)
                for target, part in zip((logits, values, exits), out):
                    target.index_copy_(0, rows, part.to(target.dtype))
            return self._result(logits, values, exits)

    def _forward(self, x: torch.Tensor, thresholds: torch.Tensor, mask: torch.Tensor | None,
                 fixed_exit: int, votes: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Logits, values and exits of one sub-batch: at exit `fixed_exit`, or dynamic if -1 (with
        the voting rows `votes`, None: none)."""
        if fixed_exit < 0:
            if votes is None:
                return self.backend.forward_dynamic(x, thresholds, mask)
            return self.backend.forward_dynamic(x, thresholds, mask, votes)
        logits, values = self.backend.forward_exit(x, fixed_exit)
        return logits, values, torch.full((x.shape[0],), fixed_exit, dtype=torch.int64, device=x.device)

    def evaluate(self, planes: np.ndarray, exit: int) -> Result:
        """Every leaf at the fixed exit `exit` (0-based); only the blocks it needs run."""
        x = self._planes(planes)
        with torch.inference_mode():
            return self._result(*self._forward(x, x.new_zeros(0), None, exit))

    def position_estimates(self, planes: np.ndarray) -> PositionEstimates:
        """The deepest exit's auxiliary heads on a batch of positions (planes [n, 17, N, N], as
        `__call__` takes): ownership float32 [n, N*N] in [-1, 1] (action order, +1 where the
        player to move will own the point) and the score lead float32 [n] in points (the score
        head's output times N*N), both from the view of the player to move; either is None for
        a network without that head (NetConfig.ownership_head / score_head). The search never
        calls it: the GTP engine's analysis output does (dpv.gtp.analysis)."""
        x = self._planes(planes)
        with torch.inference_mode():
            out = self.model.exit_outputs(x, self.num_exits - 1)
        points = self.input_shape[-1] ** 2
        return PositionEstimates(
            ownership=None if out.ownership is None else out.ownership.float().cpu().numpy(),
            score=None if out.score is None else (out.score.float() * points).cpu().numpy())

    def _planes(self, planes: np.ndarray) -> torch.Tensor:
        planes = np.asarray(planes)
        if planes.ndim != 4 or planes.shape[1:] != self.input_shape:
            shape = ", ".join(map(str, self.input_shape))
            raise ValueError(f"planes must have shape [n, {shape}], got {list(planes.shape)}")
        x = torch.from_numpy(np.ascontiguousarray(planes, dtype=np.float32))
        return x.to(self.device, non_blocking=True)

    @staticmethod
    def _result(logits: torch.Tensor, values: torch.Tensor, exits: torch.Tensor) -> Result:
        priors = logits.float().softmax(dim=1)
        return (priors.cpu().numpy(), values.float().cpu().numpy(),
                exits.to(torch.int32).cpu().numpy())
