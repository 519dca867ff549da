"""The per-step callback protocol of ``Flow.fit``: ``StepInfo`` in, ``True`` to stop."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Protocol

from ..errors import ModuleArgumentError

__all__ = ["StepCallback", "StepInfo", "as_step_callbacks"]


@dataclass(frozen=True)
class StepInfo:
    """What ``Flow.fit`` tells a per-step callback after each optimizer step.

    Attributes:
        epoch: The epoch, from 0.
        step: Optimizer steps taken so far, this one included (from 1; not reset per epoch).
        batch: Index within the epoch of the last batch of this step, from 0.
        loss: Mean NLL of this step's batches (over all ranks under ``torch.distributed``).
        lr: The first parameter group's learning rate used by this step.
    """

    epoch: int
    step: int
    batch: int
    loss: float
    lr: float


class StepCallback(Protocol):
    """Anything callable as ``callback(info: StepInfo)``; returning ``True`` stops training.

    Example:
        >>> losses = []
        >>> def record(info: StepInfo) -> None:
        ...     losses.append(info.loss)
    """

    def __call__(self, info: StepInfo) -> bool | None:
        """React to one optimizer step; return ``True`` to stop training."""


def as_step_callbacks(
    on_step: StepCallback | Sequence[StepCallback] | None,
) -> list[Callable[[StepInfo], bool | None]]:
    """A list of callbacks from ``None``, one callable or a sequence of callables.

    Raises:
        ModuleArgumentError: If an entry is not callable.
    """
    if on_step is None:
        return []
    callbacks = [on_step] if callable(on_step) else list(on_step)
    for callback in callbacks:
        if not callable(callback):
            raise ModuleArgumentError(
                f"Flow.fit: on_step must be a callable or a sequence of callables taking a "
                f"StepInfo, got a {type(callback).__name__}."
            )
    return callbacks
