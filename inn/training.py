"""Maximum-likelihood training of a ``Flow``: data coercion, the epoch loop, progress display."""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import torch
from torch import Tensor
from torch.utils.data import DataLoader, Dataset, TensorDataset

from .errors import ModuleArgumentError

__all__ = ["as_loader", "fit_flow"]


def as_loader(data: Any, batch_size: int, shuffle: bool) -> DataLoader:
    """Wrap a tensor, a tuple of tensors, a ``Dataset`` or a ``DataLoader`` into a loader.

    Raises:
        ModuleArgumentError: For anything else.
    """
    if isinstance(data, DataLoader):
        return data
    if isinstance(data, Tensor):
        data = TensorDataset(data)
    elif isinstance(data, (tuple, list)) and data and all(isinstance(t, Tensor) for t in data):
        data = TensorDataset(*data)
    if not isinstance(data, Dataset):
        raise ModuleArgumentError(
            f"Flow.fit: data must be a tensor, a tuple (x, c_0, ...) of tensors, a Dataset or a "
            f"DataLoader, got a {type(data).__name__}."
        )
    return DataLoader(data, batch_size=batch_size, shuffle=shuffle)


def _split_batch(batch: Any) -> tuple[Tensor, tuple]:
    if isinstance(batch, Tensor):
        return batch, ()
    x, *conditions = batch
    return x, tuple(conditions)


def _nll(flow: Any, batch: Any, device: torch.device, dtype: torch.dtype) -> Tensor:
    x, conditions = _split_batch(batch)
    x = x.to(device=device, dtype=dtype)
    conditions = tuple(t.to(device=device, dtype=dtype) if t.is_floating_point() else
                       t.to(device) for t in conditions)
    return -flow.log_prob(x, conditions or None).mean()


def _make_optimizer(flow: Any, optimizer: Any, lr: float, weight_decay: float) -> Any:
    params = [p for p in flow.parameters() if p.requires_grad]
    if optimizer is None:
        return torch.optim.Adam(params, lr=lr, weight_decay=weight_decay)
    if isinstance(optimizer, torch.optim.Optimizer):
        return optimizer
    if callable(optimizer):
        return optimizer(params)
    raise ModuleArgumentError(
        f"Flow.fit: optimizer must be None, an Optimizer or a factory params -> Optimizer, got "
        f"a {type(optimizer).__name__}."
    )


def _progress(iterable: Any, total: int, enabled: bool) -> Any:
    if not enabled:
        return iterable
    try:
        from tqdm.auto import tqdm
    except ImportError:
        return iterable
    return tqdm(iterable, total=total, desc="fit", leave=True)


def fit_flow(
    flow: Any,
    data: Any,
    *,
    epochs: int,
    batch_size: int,
    lr: float,
    optimizer: Any,
    val_data: Any,
    progress: bool,
    weight_decay: float,
    clip_grad_norm: float | None,
    scheduler: Any,
    callback: Callable[[int, dict], Any] | None,
) -> dict[str, list[float]]:
    """Minimise the mean NLL of ``data`` under ``flow`` (see ``Flow.fit`` for the arguments)."""
    loader = as_loader(data, batch_size, shuffle=True)
    val_loader = None if val_data is None else as_loader(val_data, batch_size, shuffle=False)
    optim = _make_optimizer(flow, optimizer, lr, weight_decay)
    if scheduler is not None and not hasattr(scheduler, "step"):
        scheduler = scheduler(optim)
    reference = next(iter(flow.parameters()), None)
    if reference is None:
        reference = next(iter(flow.buffers()), torch.zeros(()))
    device, dtype = reference.device, reference.dtype
    history: dict[str, list[float]] = {"loss": [], "val_loss": []}
    was_training = flow.training
    bar = _progress(range(epochs), epochs, progress)
    try:
        for epoch in bar:
            flow.train()
            total, count = 0.0, 0
            for batch in loader:
                loss = _nll(flow, batch, device, dtype)
                if not torch.isfinite(loss):
                    raise FloatingPointError(
                        f"Flow.fit: the loss became {loss.item()} in epoch {epoch}; lower the "
                        f"learning rate, clip gradients (clip_grad_norm) or check the data."
                    )
                optim.zero_grad()
                loss.backward()
                if clip_grad_norm is not None:
                    torch.nn.utils.clip_grad_norm_(flow.parameters(), clip_grad_norm)
                optim.step()
                size = _split_batch(batch)[0].shape[0]
                total, count = total + loss.item() * size, count + size
            history["loss"].append(total / max(count, 1))
            if val_loader is not None:
                history["val_loss"].append(_evaluate(flow, val_loader, device, dtype))
            if scheduler is not None:
                scheduler.step()
            _report(bar, epoch, epochs, history, progress)
            if callback is not None and callback(epoch, history) is True:
                break
    finally:
        flow.train(was_training)
    return history


@torch.no_grad()
def _evaluate(flow: Any, loader: DataLoader, device: torch.device, dtype: torch.dtype) -> float:
    flow.eval()
    total, count = 0.0, 0
    for batch in loader:
        size = _split_batch(batch)[0].shape[0]
        total += _nll(flow, batch, device, dtype).item() * size
        count += size
    return total / max(count, 1)


def _report(bar: Any, epoch: int, epochs: int, history: dict, progress: bool) -> None:
    if not progress:
        return
    text = f"loss {history['loss'][-1]:.4f}"
    if history["val_loss"]:
        text += f", val_loss {history['val_loss'][-1]:.4f}"
    if hasattr(bar, "set_postfix_str"):
        bar.set_postfix_str(text)
    else:
        width = int(math.log10(epochs)) + 1
        print(f"epoch {epoch + 1:>{width}}/{epochs}: {text}")
