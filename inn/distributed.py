r"""Helpers for ``torch.distributed``: whether a process group runs, rank 0, moments over ranks.

``inn`` uses PyTorch's own engine only (DDP, FSDP2, ``torchrun``); these helpers are the few
places that ask it whether it is running, so that single-process code pays nothing.
"""

from __future__ import annotations

import torch
import torch.distributed as dist
import torch.nn as nn
from torch import Tensor
from torch.nn.parallel import DistributedDataParallel

__all__ = [
    "is_distributed",
    "is_fully_sharded",
    "is_rank_zero",
    "moments_over_ranks",
    "unwrap_parallel",
    "world_size",
]


def is_distributed() -> bool:
    """Whether a default process group with more than one rank is initialised.

    Example:
        >>> is_distributed()
        False
    """
    return dist.is_available() and dist.is_initialized() and dist.get_world_size() > 1


def world_size() -> int:
    """The number of ranks of the default group (1 without a process group)."""
    return dist.get_world_size() if is_distributed() else 1


def is_rank_zero() -> bool:
    """Whether this process is rank 0 (always true without a process group)."""
    return not is_distributed() or dist.get_rank() == 0


def is_fully_sharded(module: nn.Module) -> bool:
    """Whether FSDP2's ``fully_shard`` was applied to ``module`` itself.

    Example:
        >>> is_fully_sharded(nn.Linear(2, 2))
        False
    """
    try:
        from torch.distributed.fsdp import FSDPModule
    except ImportError:  # torch without FSDP2
        return False
    return isinstance(module, FSDPModule)


def unwrap_parallel(module: nn.Module) -> nn.Module:
    """The module inside ``DistributedDataParallel`` or ``DataParallel`` wrappers (else itself).

    Example:
        >>> inner = nn.Linear(2, 2)
        >>> unwrap_parallel(nn.DataParallel(inner)) is inner
        True
    """
    while isinstance(module, (DistributedDataParallel, nn.DataParallel)):
        module = module.module
    return module


def moments_over_ranks(batch: Tensor, axes: list[int]) -> tuple[Tensor, Tensor]:
    r"""Mean and unbiased standard deviation over ``axes`` of the union of every rank's batch.

    Without a process group these are ``batch.mean(axes)`` and ``batch.std(axes)``. With one,
    every rank must call this (it is a collective); ranks may hold different batch sizes. The
    reduction is two-pass (sums, then squared deviations from the global mean) in float64, so
    the result matches the single-process statistics of the concatenated batches:

    .. math::

        \mu = \frac{\sum_r \sum_i x_{ri}}{N}, \qquad
        \sigma^2 = \frac{\sum_r \sum_i (x_{ri} - \mu)^2}{N - 1}.

    Args:
        batch: The local data.
        axes: The axes reduced over (kept as size-1 dimensions).

    Returns:
        ``(mean, std)`` in ``batch``'s dtype, identical on every rank.

    Example:
        >>> x = torch.tensor([[1.0], [3.0]])
        >>> moments_over_ranks(x, [0])
        (tensor([[2.]]), tensor([[1.4142]]))
    """
    if not is_distributed():
        return batch.mean(dim=axes, keepdim=True), batch.std(dim=axes, keepdim=True)
    wide = batch.detach().to(torch.float64)
    count = torch.tensor(float(wide.numel() // _kept_numel(wide, axes)), dtype=torch.float64,
                         device=wide.device)
    total = torch.cat([wide.sum(dim=axes, keepdim=True).flatten(), count.reshape(1)])
    dist.all_reduce(total)
    n = total[-1]
    mean = (total[:-1] / n).reshape(wide.sum(dim=axes, keepdim=True).shape)
    squares = ((wide - mean) ** 2).sum(dim=axes, keepdim=True)
    dist.all_reduce(squares)
    std = torch.sqrt(squares / (n - 1))
    return mean.to(batch.dtype), std.to(batch.dtype)


def _kept_numel(batch: Tensor, axes: list[int]) -> int:
    reduced = {a % batch.dim() for a in axes}
    kept = 1
    for axis, size in enumerate(batch.shape):
        if axis not in reduced:
            kept *= size
    return kept
