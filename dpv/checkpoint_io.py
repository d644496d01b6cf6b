"""File handling shared by the Go and vision checkpoints: atomic writes, checked reads,
one-line errors."""
from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Any

import torch


def save_atomic(payload: dict[str, Any], path: Path) -> None:
    """torch.save `payload` to `path` through a temporary file and a rename, so a crash never
    leaves a half-written checkpoint behind."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            torch.save(payload, f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def load_payload(path: Path, device: str | torch.device, fmt: str, error: type[Exception]) -> dict[str, Any]:
    """The dict saved at `path` by `save_atomic`, checked to be of format `fmt`; raises `error`
    with one line naming the file when it is missing, unreadable or of another format."""
    if not path.is_file():
        raise error(f"{path}: no such checkpoint file")
    try:
        payload = torch.load(path, map_location=device, weights_only=True)
    except Exception as err:  # torch raises many types for a damaged file
        raise error(f"{path}: not a readable checkpoint ({first_line(err)})") from None
    if not isinstance(payload, dict) or payload.get("format") != fmt:
        raise error(f"{path}: not a {fmt} checkpoint")
    return payload


def first_line(err: BaseException) -> str:
    """The first line of an exception's message (its type name when the message is empty)."""
    text = str(err).strip() or type(err).__name__
    return text.splitlines()[0]
