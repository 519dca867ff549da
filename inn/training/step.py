"""One training step of ``Flow.fit``: the NLL objective, mixed precision, backward and update."""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from typing import Any

import torch
import torch.nn as nn
from torch import Tensor

from ..errors import ModuleArgumentError

__all__ = ["NegativeLogLikelihood", "TrainStep", "autocast_dtype"]

_PRECISIONS = {
    None: None, "fp32": None, "32": None, torch.float32: None,
    "bf16": torch.bfloat16, "bfloat16": torch.bfloat16, torch.bfloat16: torch.bfloat16,
    "fp16": torch.float16, "float16": torch.float16, "16": torch.float16,
    torch.float16: torch.float16,
}


def autocast_dtype(precision: Any) -> torch.dtype | None:
    """The autocast dtype of a ``precision`` argument (``None`` for full precision).

    Raises:
        ModuleArgumentError: For an unknown precision.

    Example:
        >>> autocast_dtype("bf16"), autocast_dtype(None)
        (torch.bfloat16, None)
    """
    try:
        return _PRECISIONS[precision]
    except (KeyError, TypeError):
        raise ModuleArgumentError(
            f"Flow.fit: precision must be None, 'bf16' or 'fp16' (or torch.bfloat16 / "
            f"torch.float16), got {precision!r}."
        ) from None


class NegativeLogLikelihood(nn.Module):
    r"""Mean negative log-likelihood :math:`-\frac1B \sum_i \log p(x_i \mid c_i)` of a batch.

    This is the module that ``Flow.fit`` wraps in DDP and compiles, so that the flow itself
    stays unwrapped. Under mixed precision the flow runs under ``torch.autocast``; the
    containers sum the blocks' log-dets in the input's dtype (float32), and the loss is reduced
    in float32.

    Args:
        flow: The ``Flow`` to train.
        amp_dtype: ``torch.bfloat16`` or ``torch.float16`` for autocast, or ``None``.
    """

    def __init__(self, flow: nn.Module, amp_dtype: torch.dtype | None = None) -> None:
        super().__init__()
        self.flow = flow
        self.amp_dtype = amp_dtype

    def forward(self, x: Tensor, conditions: tuple) -> Tensor:
        """The mean NLL (a float32 or float64 scalar)."""
        if self.amp_dtype is None:
            return -self.flow.log_prob(x, conditions or None).mean()
        with torch.autocast(x.device.type, dtype=self.amp_dtype):
            log_prob = self.flow.log_prob(x, conditions or None)
        return -log_prob.float().mean()


class TrainStep:
    """Forward, backward and optimizer update, optionally under ``torch.compile``.

    ``micro(x, c, scale, sync)`` runs forward and backward on one batch, its loss scaled by
    ``scale`` (``1 / window`` under gradient accumulation), and returns the unscaled loss;
    ``sync=False`` skips DDP's gradient all-reduce (inside an accumulation window).
    ``update()`` unscales (fp16), clips, steps and zeroes the gradients.
    """

    def __init__(self, objective: nn.Module, optimizer: torch.optim.Optimizer,
                 parameters: list[Tensor], clip_grad_norm: float | None,
                 scaler: Any, compile_options: dict | None) -> None:
        self.objective, self.optimizer, self.scaler = objective, optimizer, scaler
        self.parameters, self.clip_grad_norm = parameters, clip_grad_norm
        self._micro: Callable = self._forward_backward
        self._update: Callable = self._step
        if compile_options is not None:
            self._micro = torch.compile(self._forward_backward, **compile_options)
            if scaler is None:  # GradScaler's inf checks stay eager
                self._update = torch.compile(self._step, **compile_options)

    def micro(self, x: Tensor, conditions: tuple, scale: float, sync: bool) -> Tensor:
        """Forward and backward on one batch; returns the detached loss."""
        no_sync = getattr(self.objective, "no_sync", None)
        context = contextlib.nullcontext() if sync or no_sync is None else no_sync()
        with context:
            return self._micro(x, conditions, scale)

    def update(self) -> None:
        """Apply the accumulated gradients."""
        self._update()

    def _forward_backward(self, x: Tensor, conditions: tuple, scale: float) -> Tensor:
        loss = self.objective(x, conditions)
        scaled = loss if scale == 1.0 else loss * scale  # no extra op without accumulation
        (scaled if self.scaler is None else self.scaler.scale(scaled)).backward()
        return loss.detach()

    def _step(self) -> None:
        if self.scaler is not None:
            self.scaler.unscale_(self.optimizer)
        if self.clip_grad_norm is not None:
            torch.nn.utils.clip_grad_norm_(self.parameters, self.clip_grad_norm)
        if self.scaler is None:
            self.optimizer.step()
        else:
            self.scaler.step(self.optimizer)
            self.scaler.update()
        self.optimizer.zero_grad(set_to_none=True)
