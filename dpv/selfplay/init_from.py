"""`dpv launch selfplay --init-from PATH`: a run that continues a lineage. Its version 0
(checkpoints/initial.pt, best.pt) is the weights of PATH (a checkpoint or the shipped network)
instead of a random network; the buffer starts empty. `RUN/lineage.json` records where the weights
came from: the source path and sha256, the learner steps, games and CPU-hours its checkpoint carries, the
heads the run's network grew, and the source run's own lineage, oldest first, so the parts of a
lineage can be counted on (`dpv rate --lineage`, `dpv model-card`).

A network that grows (KataGo grew its net during its run): where the run's net config equals the
checkpoint's but for auxiliary heads the checkpoint lacks (ownership, score), those heads start
from fresh (seeded) initialisation, every other weight is loaded strictly, and stderr says so in
one line. Any other difference is a one-line error.
"""
from __future__ import annotations

import dataclasses
import json
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from dpv.nets.config import NetConfig

LINEAGE_FILE = "lineage.json"
"""The file of a run directory that records where its initial weights came from."""


@dataclass(frozen=True)
class Origin:
    """The network a run started from."""

    source: str
    """Absolute path of the checkpoint the weights were read from."""
    sha256: str
    """The sha256 of that file when it was read, so the lineage finds its checkpoint in the source run
    (`dpv rate --lineage`) after the path holds another network (a shipped models/ file replaced)."""
    steps: int
    """Learner steps the checkpoint records."""
    games: int | None
    """Self-play games the checkpoint's learner had seen (its extra 'games'; None: not recorded)."""
    cpu_hours: float | None
    """CPU-hours the checkpoint records (its extra 'cpu_hours'; None: not recorded)."""
    grown_heads: tuple[str, ...] = ()
    """NetConfig switches of the heads the run's network has and the checkpoint lacks, which started
    from fresh initialisation (dpv.nets.checkpoint.AUX_HEADS; empty: every weight came from it)."""
    before: tuple[dict[str, Any], ...] = ()
    """The source run's own lineage (its lineage.json, or the checkpoint's extra 'lineage'), oldest first."""

    def lineage(self) -> list[dict[str, Any]]:
        """The whole lineage, oldest first, this origin last."""
        own = {k: v for k, v in dataclasses.asdict(self).items() if k != "before"}
        return [*self.before, {**own, "grown_heads": list(self.grown_heads)}]


def source_lineage(path: Path, extra: dict[str, Any]) -> tuple[dict[str, Any], ...]:
    """The lineage of the run that wrote the checkpoint at `path` (its lineage.json: best.pt lies at
    the run's top, step checkpoints in its checkpoints/), else the one the checkpoint carries, else none."""
    run = path.parent.parent if path.parent.name == "checkpoints" else path.parent
    if (run / LINEAGE_FILE).is_file():
        return tuple(json.loads((run / LINEAGE_FILE).read_text())["lineage"])
    return tuple(extra.get("lineage", ()))


def read_origin(source: str | Path, net: NetConfig, config: str) -> tuple[Origin, Any]:
    """The origin and the network of `source`, whose config must be `net` (the run's, from the
    config file `config`) or `net` without auxiliary heads that `net` adds (they keep the fresh
    initialisation of DPVNet(net)): a missing or damaged file, or a network of another config, is
    a one-line ValueError naming both."""
    from dpv.digest import file_sha256
    from dpv.nets.checkpoint import CheckpointError, load_grown
    from dpv.nets.model import DPVNet

    path = Path(source)
    try:
        loaded, grown = load_grown(path, DPVNet(net))
    except CheckpointError as err:
        raise ValueError(f"--init-from {path} does not fit the net of {config}: {err}") from None
    extra = loaded.extra
    origin = Origin(source=str(path.resolve()), sha256=file_sha256(path), steps=loaded.step, games=extra.get("games"),
                    cpu_hours=extra.get("cpu_hours"), grown_heads=grown, before=source_lineage(path, extra))
    return origin, loaded.model


def write_initial(root: Path, initial: Path, net: NetConfig, seed: int, init_from: str | None) -> None:
    """Write the run's version 0 to `initial`: a random network of `net` (seeded), or with
    `init_from` the weights of that checkpoint at step 0 (heads it lacks seeded, named on stderr),
    with the run's lineage.json in `root`."""
    import torch

    from dpv.nets.checkpoint import save_checkpoint
    from dpv.nets.model import DPVNet

    torch.manual_seed(seed)
    if init_from is None:
        save_checkpoint(initial, DPVNet(net), 0)
        return
    origin, model = read_origin(init_from, net, "the run's config")
    if origin.grown_heads:
        print(f"dpv: --init-from {init_from} has no {' and no '.join(origin.grown_heads)}: the run's network grows "
              "them from fresh initialisation (every other weight loaded)", file=sys.stderr)
    lineage = origin.lineage()
    save_checkpoint(initial, model, 0, extra={"lineage": lineage})
    (root / LINEAGE_FILE).write_text(json.dumps({"lineage": lineage}, indent=1) + "\n")
