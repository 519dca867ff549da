"""Make a block's recomputation repeat its forward pass without side effects.

Two kinds of state change when a block runs: the random number generators (dropout in a subnet,
the probes of a stochastic log-det estimate) and the module's buffers (batch-norm running
statistics). The forward pass records the generators' state before each block that draws
random numbers; backward restores it before re-running that block, and restores every buffer
of the block after recomputing it, so statistics are updated once, by the forward pass.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import torch
import torch.nn as nn
from torch import Tensor

__all__ = ["RngState", "capture_rng", "preserved_buffers", "restore_rng", "rng_advanced"]

#: The generators' state: the CPU one and that of each CUDA device the block's inputs live on.
RngState = tuple[Tensor, tuple[tuple[int, Tensor], ...]]


def _cuda_devices(tensors: tuple) -> tuple[int, ...]:
    return tuple(sorted({t.device.index or 0 for t in tensors
                         if isinstance(t, Tensor) and t.device.type == "cuda"}))


def capture_rng(tensors: tuple) -> RngState:
    """The current state of the CPU generator and of the CUDA generators of ``tensors``."""
    cuda = tuple((d, torch.cuda.get_rng_state(d)) for d in _cuda_devices(tensors))
    return torch.get_rng_state(), cuda


def rng_advanced(before: RngState) -> bool:
    """Whether any generator recorded in ``before`` has drawn numbers since."""
    cpu, cuda = before
    if not torch.equal(torch.get_rng_state(), cpu):
        return True
    return any(not torch.equal(torch.cuda.get_rng_state(d), s) for d, s in cuda)


def restore_rng(state: RngState) -> None:
    """Set the generators back to ``state``."""
    cpu, cuda = state
    torch.set_rng_state(cpu)
    for device, value in cuda:
        torch.cuda.set_rng_state(value, device)


@contextmanager
def preserved_buffers(module: Any) -> Iterator[None]:
    """Undo, on exit, every change made to the buffers of ``module`` and its submodules.

    Buffers that did not change are not written to, so graphs that saved them stay valid.
    """
    if not isinstance(module, nn.Module):
        yield
        return
    snapshot = []
    for owner in module.modules():
        for name, buffer in owner.named_buffers(recurse=False):
            snapshot.append((owner, name, buffer, buffer.clone()))
    try:
        yield
    finally:
        with torch.no_grad():
            for owner, name, buffer, value in snapshot:
                if getattr(owner, name) is not buffer:
                    setattr(owner, name, buffer)
                if not torch.equal(buffer, value):  # unchanged buffers stay untouched
                    buffer.copy_(value)
