"""Training data for ``Flow.fit``: coercion into loaders, sharding over ranks, batch moves."""

from __future__ import annotations

from typing import Any

import torch
from torch import Tensor
from torch.utils.data import (
    BatchSampler,
    DataLoader,
    Dataset,
    DistributedSampler,
    RandomSampler,
    Sampler,
    SequentialSampler,
    TensorDataset,
)

from ..distributed import is_distributed
from ..errors import ModuleArgumentError

__all__ = ["as_loader", "batch_size_of", "move_batch", "set_loader_epoch", "split_batch"]


def as_loader(data: Any, batch_size: int, shuffle: bool, *, distributed: bool = False,
              seed: int = 0) -> DataLoader:
    """Wrap a tensor, a tuple of tensors, a ``Dataset`` or a ``DataLoader`` into a loader.

    A loader built here draws its shuffling and worker seeds from a generator of its own (seeded
    with ``seed`` and the epoch), never from the global RNG. With ``distributed``, each rank gets
    a ``DistributedSampler`` shard; a user's ``DataLoader`` is rebuilt around one unless its
    sampler is distributed already.

    Raises:
        ModuleArgumentError: For anything else, or a ``batch_size`` that is not a positive int.

    Example:
        >>> loader = as_loader(torch.zeros(10, 2), batch_size=4, shuffle=False)
        >>> [len(batch[0]) for batch in loader]
        [4, 4, 2]
    """
    if isinstance(data, DataLoader):
        return _shard_loader(data, seed) if distributed else data
    check_batch_size(batch_size)
    if isinstance(data, Tensor):
        data = TensorDataset(data)
    elif isinstance(data, (tuple, list)) and data and all(isinstance(t, Tensor) for t in data):
        data = TensorDataset(*data)
    if not isinstance(data, Dataset):
        raise ModuleArgumentError(
            f"Flow.fit: data must be a tensor, a tuple (x, c_0, ...) of tensors, a Dataset or a "
            f"DataLoader, got a {type(data).__name__}."
        )
    generator = torch.Generator().manual_seed(seed)
    if distributed:
        sampler: Sampler = DistributedSampler(data, shuffle=shuffle, seed=seed)
    elif shuffle:
        sampler = RandomSampler(data, generator=generator)
    else:
        sampler = SequentialSampler(data)
    if isinstance(data, TensorDataset):
        # whole batches by one gather per tensor, not per-sample indexing and collation
        loader = DataLoader(data, batch_size=None, generator=generator,
                            sampler=BatchSampler(sampler, batch_size, drop_last=False))
    else:
        loader = DataLoader(data, batch_size=batch_size, sampler=sampler, generator=generator)
    loader._inn_owned = True  # its generator is ours to reseed per epoch
    return loader


def check_batch_size(batch_size: Any) -> None:
    """Raise a ``ModuleArgumentError`` unless ``batch_size`` is a positive int."""
    if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
        raise ModuleArgumentError(
            f"Flow.fit: batch_size must be a positive int, got {batch_size!r}."
        )


def _shard_loader(loader: DataLoader, seed: int) -> DataLoader:
    sampler = getattr(loader.sampler, "sampler", loader.sampler)  # a BatchSampler's inner one
    if isinstance(sampler, DistributedSampler) or not is_distributed():
        return loader
    if loader.batch_size is None:
        raise ModuleArgumentError(
            "Flow.fit: under torch.distributed, a DataLoader with a custom batch_sampler cannot "
            "be sharded automatically; give it a DistributedSampler yourself."
        )
    shuffle = not isinstance(loader.sampler, torch.utils.data.SequentialSampler)
    sampler = DistributedSampler(loader.dataset, shuffle=shuffle, seed=seed,
                                 drop_last=loader.drop_last)
    sharded = DataLoader(loader.dataset, batch_size=loader.batch_size, sampler=sampler,
                         num_workers=loader.num_workers, collate_fn=loader.collate_fn,
                         pin_memory=loader.pin_memory, drop_last=loader.drop_last,
                         generator=torch.Generator().manual_seed(seed))
    sharded._inn_owned = True
    return sharded


def set_loader_epoch(loader: DataLoader, epoch: int, seed: int) -> None:
    """Reshuffle per epoch: ``set_epoch`` on a distributed sampler, reseed our own generator."""
    sampler = loader.sampler
    sampler = getattr(sampler, "sampler", sampler)  # inside our BatchSampler
    if hasattr(sampler, "set_epoch"):
        sampler.set_epoch(epoch)
    if getattr(loader, "_inn_owned", False):
        loader.generator.manual_seed(seed + epoch)


def split_batch(batch: Any) -> tuple[Tensor, tuple]:
    """``x`` and the conditions of a batch yielded as ``x`` or ``(x, c_0, ...)``."""
    if isinstance(batch, Tensor):
        return batch, ()
    x, *conditions = batch
    return x, tuple(conditions)


def batch_size_of(batch: Any) -> int:
    """The number of samples in a batch."""
    return split_batch(batch)[0].shape[0]


def move_batch(batch: Any, device: torch.device, dtype: torch.dtype) -> tuple[Tensor, tuple]:
    """``(x, conditions)`` on ``device``; floating tensors cast to ``dtype``."""
    x, conditions = split_batch(batch)

    def move(t: Any) -> Any:
        if not isinstance(t, Tensor):
            return t
        if t.is_floating_point():
            return t.to(device=device, dtype=dtype, non_blocking=True)
        return t.to(device, non_blocking=True)

    return move(x), tuple(move(t) for t in conditions)
