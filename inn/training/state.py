"""The resumable state of a ``Flow.fit`` run: counters, RNG states, and checkpoint files."""

from __future__ import annotations

import os
import random
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch

from ..errors import ModuleArgumentError

__all__ = ["CHECKPOINT_FORMAT", "TrainingState", "capture_rng", "restore_rng"]

#: Written into every checkpoint; a file without it is not a ``Flow.fit`` checkpoint.
CHECKPOINT_FORMAT = "inn.fit/1"


@dataclass
class TrainingState:
    """Where a run stands: enough, with the model and optimizer, to continue it exactly.

    ``batches_done`` counts the batches of ``epoch`` already trained on; checkpoints are only
    written after an optimizer step, so it always ends a gradient-accumulation window.
    """

    seed: int
    epoch: int = 0
    batches_done: int = 0
    step: int = 0
    loss_sum: float = 0.0
    sample_count: int = 0
    history: dict[str, list[float]] = field(default_factory=lambda: {"loss": [], "val_loss": []})
    best_val_loss: float = float("inf")
    rng_epoch_start: dict | None = None


def capture_rng() -> dict[str, Any]:
    """The states of torch's CPU (and initialised CUDA) generators, numpy's and Python's."""
    state = {"torch": torch.get_rng_state(), "numpy": np.random.get_state(),
             "python": random.getstate(), "cuda": None}
    if torch.cuda.is_available() and torch.cuda.is_initialized():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def restore_rng(state: dict[str, Any]) -> None:
    """Undo everything drawn since :func:`capture_rng` returned ``state``."""
    torch.set_rng_state(state["torch"])
    np.random.set_state(state["numpy"])
    random.setstate(state["python"])
    if state["cuda"] is not None and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])


def save_checkpoint(path: str | os.PathLike, state: TrainingState, parts: dict[str, Any],
                    best_model: dict | None) -> None:
    """Write the run atomically (a temporary file, then ``os.replace``).

    ``parts`` maps ``"model"``, ``"optimizer"``, ``"scheduler"`` and ``"scaler"`` to objects
    with ``state_dict`` (or ``None``).
    """
    payload = {
        "format": CHECKPOINT_FORMAT,
        "state": asdict(state),
        "rng": capture_rng(),
        "best_model": best_model,
        **{name: None if part is None else part.state_dict() for name, part in parts.items()},
    }
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(path.name + ".partial")
    torch.save(payload, partial)
    os.replace(partial, path)


def load_checkpoint(path: str | os.PathLike, parts: dict[str, Any],
                    map_location: torch.device) -> tuple[TrainingState, dict, dict | None]:
    """Load a checkpoint into ``parts``; returns the state, the RNG states and the best model.

    Checkpoints hold RNG states (numpy arrays, Python tuples), so they are read with
    ``weights_only=False``: load only files you wrote yourself.

    Raises:
        ModuleArgumentError: If the file is not a ``Flow.fit`` checkpoint, or lacks a part that
            this run has (e.g. a scheduler).
    """
    payload = torch.load(path, map_location=map_location, weights_only=False)
    if not isinstance(payload, dict) or payload.get("format") != CHECKPOINT_FORMAT:
        raise ModuleArgumentError(
            f"Flow.fit: {os.fspath(path)!r} is not a Flow.fit checkpoint (expected format "
            f"{CHECKPOINT_FORMAT!r}); pass another checkpoint path."
        )
    for name, part in parts.items():
        if part is None:
            continue
        if payload.get(name) is None:
            raise ModuleArgumentError(
                f"Flow.fit: the checkpoint {os.fspath(path)!r} has no {name} state, but this "
                f"run has a {type(part).__name__}."
            )
        part.load_state_dict(payload[name])
    return TrainingState(**payload["state"]), payload["rng"], payload["best_model"]
