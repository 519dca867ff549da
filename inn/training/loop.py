"""The epoch loop of ``Flow.fit``: data-parallel, accumulating, checkpointing, resumable."""

from __future__ import annotations

import copy
import math
import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import torch
import torch.distributed as dist
import torch.nn as nn
from torch.nn.parallel import DistributedDataParallel
from torch.utils.data import DataLoader

from ..distributed import is_distributed, is_rank_zero
from ..errors import ModuleArgumentError, NonFiniteError
from .callbacks import StepInfo, as_step_callbacks
from .data import as_loader, batch_size_of, check_batch_size, move_batch, set_loader_epoch
from .progress import Progress
from .state import TrainingState, capture_rng, load_checkpoint, restore_rng, save_checkpoint
from .step import NegativeLogLikelihood, TrainStep, autocast_dtype

__all__ = ["FitOptions", "fit_flow"]


@dataclass(frozen=True)
class FitOptions:
    """Every keyword of ``Flow.fit`` (documented there)."""

    epochs: int = 10
    batch_size: int = 256
    lr: float = 1e-3
    optimizer: Any = None
    val_data: Any = None
    progress: bool = True
    weight_decay: float = 0.0
    clip_grad_norm: float | None = None
    scheduler: Any = None
    callback: Callable | None = None
    device: Any = None
    compile: bool | dict = False
    checkpoint: str | os.PathLike | None = None
    checkpoint_every: int | None = None
    scheduler_interval: str = "epoch"
    accumulate: int = 1
    precision: Any = None
    restore_best: bool = False
    on_step: Any = None
    seed: int | None = None
    distributed: bool | None = None


def fit_flow(flow: nn.Module, data: Any, options: FitOptions) -> dict[str, list[float]]:
    """Minimise the mean NLL of ``data`` under ``flow`` (see ``Flow.fit`` for the options)."""
    _check_options(options)
    if options.device is not None:
        flow.to(options.device)
    device, dtype = _placement(flow)
    distributed = is_distributed() if options.distributed is None else options.distributed
    if distributed and not is_distributed():
        raise ModuleArgumentError(
            "Flow.fit(distributed=True) needs an initialised torch.distributed process group "
            "with more than one rank (e.g. run under torchrun)."
        )
    seed = _shared_seed(options.seed, device, distributed)
    loader = as_loader(data, options.batch_size, True, distributed=distributed, seed=seed)
    val_loader = None
    if options.val_data is not None:
        val_loader = as_loader(options.val_data, options.batch_size, False, seed=seed)
    run = _Run(flow, loader, val_loader, options, device, dtype, distributed, seed)
    return run.fit()


def _check_options(options: FitOptions) -> None:
    check_batch_size(options.batch_size)
    for name in ("epochs", "accumulate", "checkpoint_every"):
        value = getattr(options, name)
        smallest = 0 if name == "epochs" else 1
        if value is None and name == "checkpoint_every":
            continue
        if isinstance(value, bool) or not isinstance(value, int) or value < smallest:
            raise ModuleArgumentError(
                f"Flow.fit: {name} must be an int >= {smallest}, got {value!r}."
            )
    if options.scheduler_interval not in ("epoch", "step"):
        raise ModuleArgumentError(
            f"Flow.fit: scheduler_interval must be 'epoch' or 'step', got "
            f"{options.scheduler_interval!r}."
        )
    if options.restore_best and options.val_data is None:
        raise ModuleArgumentError("Flow.fit: restore_best=True needs val_data.")
    autocast_dtype(options.precision)


def _placement(flow: nn.Module) -> tuple[torch.device, torch.dtype]:
    reference = next(iter(flow.parameters()), None)
    if reference is None:
        reference = next(iter(flow.buffers()), torch.zeros(()))
    return reference.device, reference.dtype


def _shared_seed(seed: int | None, device: torch.device, distributed: bool) -> int:
    """The data-order seed: given, or drawn once from the global RNG (rank 0's, if distributed)."""
    if seed is None:
        seed = int(torch.randint(0, 2**31 - 1, ()).item())
    if distributed:
        shared = torch.tensor([seed], dtype=torch.int64,
                              device=device if dist.get_backend() == "nccl" else "cpu")
        dist.broadcast(shared, src=0)
        seed = int(shared.item())
    return seed


class _Run:
    """One call of ``fit``: the loop and everything it carries between steps."""

    def __init__(self, flow: nn.Module, loader: DataLoader, val_loader: DataLoader | None,
                 options: FitOptions, device: torch.device, dtype: torch.dtype,
                 distributed: bool, seed: int) -> None:
        self.flow, self.loader, self.val_loader = flow, loader, val_loader
        self.options, self.device, self.dtype = options, device, dtype
        self.distributed = distributed
        self.parameters = [p for p in flow.parameters() if p.requires_grad]
        self.optimizer = _make_optimizer(self.parameters, options)
        self.scheduler = options.scheduler
        if self.scheduler is not None and not hasattr(self.scheduler, "step"):
            self.scheduler = self.scheduler(self.optimizer)
        amp = autocast_dtype(options.precision)
        self.scaler = torch.amp.GradScaler(device.type) if amp == torch.float16 else None
        objective: nn.Module = NegativeLogLikelihood(flow, amp)
        if distributed:
            device_ids = [device.index] if device.type == "cuda" else None
            objective = DistributedDataParallel(objective, device_ids=device_ids)
        compile_options = None
        if options.compile:
            compile_options = {} if options.compile is True else dict(options.compile)
        self.train_step = TrainStep(objective, self.optimizer, self.parameters,
                                    options.clip_grad_norm, self.scaler, compile_options)
        self.step_callbacks = as_step_callbacks(options.on_step)
        self.state = TrainingState(seed=seed)
        self.best_model: dict | None = None
        self.rank_zero = is_rank_zero()
        self.stop = False

    @property
    def _parts(self) -> dict[str, Any]:
        return {"model": self.flow, "optimizer": self.optimizer, "scheduler": self.scheduler,
                "scaler": self.scaler}

    def fit(self) -> dict[str, list[float]]:
        rng_now = self._resume()
        was_training = self.flow.training
        state = self.state
        progress = Progress(self.options.progress and self.rank_zero, self.options.epochs,
                            _length(self.loader), state.epoch, state.batches_done)
        try:
            while state.epoch < self.options.epochs and not self.stop:
                self.flow.train()
                self._train_epoch(self._epoch_batches(rng_now), progress)
                rng_now = None
                self._finish_epoch(progress)  # after a stop mid-epoch: the partial epoch
        finally:
            self.flow.train(was_training)
            progress.close()
        if self.options.restore_best and self.best_model is not None:
            self.flow.load_state_dict(self.best_model)
        return state.history

    # -- resuming ------------------------------------------------------------------------------

    def _resume(self) -> dict | None:
        path = self.options.checkpoint
        if path is None or not os.path.exists(path):
            return None
        self.state, rng_now, self.best_model = load_checkpoint(path, self._parts, self.device)
        return rng_now

    def _epoch_batches(self, rng_now: dict | None) -> Iterator[tuple[int, Any]]:
        """The epoch's batches with their index, skipping those a resumed run has trained on.

        The loader is iterated from the RNG state the epoch started with, so a user's shuffling
        loader yields the same order as in the interrupted run; then the saved RNG is restored.
        """
        state = self.state
        set_loader_epoch(self.loader, state.epoch, state.seed)
        if rng_now is None or state.batches_done == 0:
            state.rng_epoch_start = capture_rng()
            state.batches_done, state.loss_sum, state.sample_count = 0, 0.0, 0
            yield from enumerate(self.loader)
            return
        restore_rng(state.rng_epoch_start)
        iterator = iter(self.loader)
        for _ in range(state.batches_done):
            next(iterator)
        restore_rng(rng_now)
        yield from enumerate(iterator, start=state.batches_done)

    # -- one epoch -----------------------------------------------------------------------------

    def _train_epoch(self, batches: Iterator[tuple[int, Any]], progress: Progress) -> None:
        state, window = self.state, self.options.accumulate
        length = _length(self.loader)
        window_losses: list[Any] = []
        for index, batch in batches:
            start = index - index % window
            size = window if length is None else min(window, length - start)
            last = index - start == size - 1
            x, conditions = move_batch(batch, self.device, self.dtype)
            loss = self.train_step.micro(x, conditions, 1.0 / size, sync=last)
            count = batch_size_of(batch)
            loss_value = self._global_loss(loss, count, index)
            state.loss_sum += loss_value * count
            state.sample_count += count
            window_losses.append(loss_value)
            progress.batch(state.epoch, loss_value)
            if last:
                self._optimizer_step(index, sum(window_losses) / len(window_losses))
                window_losses = []
                if self.stop:
                    return
        if window_losses:  # a loader without len: apply the last partial window
            self._optimizer_step(index, sum(window_losses) / len(window_losses))

    def _global_loss(self, loss: torch.Tensor, count: int, index: int) -> float:
        """This batch's loss (averaged over ranks); stops every rank alike on NaN or Inf."""
        if self.distributed:
            pair = torch.stack([loss.detach().double() * count,
                                torch.tensor(float(count), dtype=torch.float64,
                                             device=loss.device)])
            dist.all_reduce(pair)
            value = (pair[0] / pair[1]).item()
        else:
            value = loss.item()
        if not math.isfinite(value):
            self.optimizer.zero_grad(set_to_none=True)
            raise NonFiniteError(
                f"Flow.fit: the loss became {value} in epoch {self.state.epoch}, step "
                f"{self.state.step + 1}, batch {index}; lower the learning rate, clip gradients "
                f"(clip_grad_norm) or check the data."
            )
        return value

    def _optimizer_step(self, index: int, loss: float) -> None:
        state = self.state
        lr = float(self.optimizer.param_groups[0]["lr"])
        self.train_step.update()
        state.step += 1
        state.batches_done = index + 1
        if self.scheduler is not None and self.options.scheduler_interval == "step":
            self.scheduler.step()
        every = self.options.checkpoint_every
        if every is not None and state.step % every == 0:
            self._save()
        info = StepInfo(epoch=state.epoch, step=state.step, batch=index, loss=loss, lr=lr)
        for callback in self.step_callbacks:
            if callback(info) is True:
                self.stop = True

    def _finish_epoch(self, progress: Progress) -> None:
        state = self.state
        state.history["loss"].append(state.loss_sum / max(state.sample_count, 1))
        if self.val_loader is not None:
            val_loss = self._evaluate()
            state.history["val_loss"].append(val_loss)
            if self.options.restore_best and val_loss < state.best_val_loss:
                state.best_val_loss = val_loss
                self.best_model = copy.deepcopy(self.flow.state_dict())
        if self.scheduler is not None and self.options.scheduler_interval == "epoch":
            self.scheduler.step()
        progress.epoch(state.epoch, state.history)
        callback = self.options.callback
        if callback is not None and callback(state.epoch, state.history) is True:
            self.stop = True
        state.epoch += 1
        state.batches_done, state.loss_sum, state.sample_count = 0, 0.0, 0
        if self.options.checkpoint is not None:
            self._save()

    def _evaluate(self) -> float:
        """Mean validation NLL; the global RNG is left exactly as it was (no draws leak)."""
        rng = capture_rng()
        self.flow.eval()
        total, count = 0.0, 0
        try:
            with torch.no_grad():
                for batch in self.val_loader:
                    x, conditions = move_batch(batch, self.device, self.dtype)
                    size = x.shape[0]
                    total += -self.flow.log_prob(x, conditions or None).sum().item()
                    count += size
        finally:
            restore_rng(rng)
            self.flow.train()
        return total / max(count, 1)

    def _save(self) -> None:
        if self.options.checkpoint is None:
            return
        if self.rank_zero:
            save_checkpoint(self.options.checkpoint, self.state, self._parts, self.best_model)
        if self.distributed:  # no rank runs ahead of the file (e.g. to resume from it)
            dist.barrier()


def _length(loader: DataLoader) -> int | None:
    try:
        return len(loader)
    except TypeError:
        return None


def _make_optimizer(params: list[torch.Tensor], options: FitOptions) -> torch.optim.Optimizer:
    optimizer = options.optimizer
    if optimizer is None:
        return torch.optim.Adam(params, lr=options.lr, weight_decay=options.weight_decay)
    if isinstance(optimizer, torch.optim.Optimizer):
        return optimizer
    if callable(optimizer):
        return optimizer(params)
    raise ModuleArgumentError(
        f"Flow.fit: optimizer must be None, an Optimizer or a factory params -> Optimizer, got "
        f"a {type(optimizer).__name__}."
    )
