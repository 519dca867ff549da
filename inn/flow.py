"""``Flow``: an invertible transform paired with a base distribution — log_prob, sample, fit."""

from __future__ import annotations

import math
import os
from collections.abc import Callable, Sequence
from typing import Any

import torch
import torch.nn as nn
from torch import Tensor
from torch.distributions import Distribution

from .distributed import unwrap_parallel
from .errors import ModuleArgumentError, ShapeError
from .flow_bases import StandardNormal, check_sample_shape, draw, make_bases
from .modules.base import InvertibleModule
from .training import FitOptions, StepCallback, fit_flow
from .utils import as_tuple, format_shape

__all__ = ["Flow", "FlowDistribution", "StandardNormal"]


class Flow(nn.Module):
    r"""A normalizing flow: a transform :math:`f` (data :math:`x` to latent :math:`z`) and a base.

    .. math::

        \log p(x) = \log p_\text{base}(f(x)) + \log\left|\det \frac{\partial f}{\partial x}\right|,
        \qquad x = f^{-1}(z),\ z \sim p_\text{base}.

    A transform with several outputs (a multiscale ``GraphINN`` whose split-offs have their
    own ``OutputNode``) gets one base per output: :math:`\log p(x) = \sum_k \log
    p_k(z_k) + \log|\det J|`, and sampling draws every :math:`z_k` from its base.

    Args:
        transform: Any invertible module with one input and one or more outputs
            (``SequenceINN`` and ``GraphINN`` included); it is called in tuple mode.
        base: A ``torch.distributions.Distribution`` whose ``event_shape`` is the transform's
            output shape, an ``nn.Module`` with ``log_prob`` and ``sample`` (a learned base), or
            ``None`` for a standard normal (with buffers, so ``.to()`` moves it). For several
            outputs: ``None`` or a list with one base (or ``None``) per output.

    Raises:
        ModuleArgumentError: For a transform with several inputs, a base of the wrong event
            shape, or a base list of the wrong length.

    Example:
        >>> import inn, torch.nn as nn
        >>> seq = inn.SequenceINN(2)
        >>> seq.append(inn.GLOWCouplingBlock, subnet_constructor=nn.Linear)
        >>> flow = inn.Flow(seq)
        >>> flow.log_prob(torch.randn(5, 2)).shape, flow.sample(3).shape
        (torch.Size([5]), torch.Size([3, 2]))
    """

    def __init__(self, transform: InvertibleModule, base: Any = None) -> None:
        super().__init__()
        transform = unwrap_parallel(transform)  # Flow(DDP(net)): fit parallelises by itself
        dims_out = transform.output_dims(transform.dims_in)
        if len(transform.dims_in) != 1 or not dims_out:
            raise ModuleArgumentError(
                f"Flow needs a transform with one input and at least one output, got inputs "
                f"{transform.dims_in} and outputs {dims_out}."
            )
        self.transform = transform
        self.input_shape = torch.Size(transform.dims_in[0])
        self.event_shapes = [torch.Size(shape) for shape in dims_out]
        self.event_shape = self.event_shapes[0] if len(dims_out) == 1 else tuple(self.event_shapes)
        self.base = make_bases(base, self.event_shapes)

    @property
    def bases(self) -> list:
        """One base distribution per output of the transform."""
        return [self.base] if len(self.event_shapes) == 1 else list(self.base)

    def _run(self, x: tuple, c: Any, rev: bool, jac: bool) -> tuple[tuple, Tensor]:
        return self.transform._call_as_block(x, as_tuple(c), rev, jac)

    def _base_log_prob(self, z: tuple) -> Tensor:
        return sum(base.log_prob(part) for base, part in zip(self.bases, z, strict=True))

    def log_prob(self, x: Tensor, c: Any = None) -> Tensor:
        """Log-density of ``x`` of shape ``(B, *input_shape)``; returns ``(B,)``."""
        z, log_jac_det = self._run((x,), c, rev=False, jac=True)
        return self._base_log_prob(z) + log_jac_det

    def forward(self, x: Tensor, c: Any = None) -> Tensor:
        """Same as :meth:`log_prob`."""
        return self.log_prob(x, c)

    def _draw(self, n: int | tuple, c: Any, jac: bool) -> tuple[Tensor, tuple, Tensor, tuple]:
        sample_shape = check_sample_shape(n)
        count = math.prod(sample_shape)
        for i, cond in enumerate(as_tuple(c)):
            if isinstance(cond, Tensor) and cond.shape[0] != count:
                raise ShapeError(
                    f"Flow.sample: condition {i} has batch size {cond.shape[0]}, but {count} "
                    f"samples were asked for (conditions are never broadcast)."
                )
        z = tuple(draw(base, count) for base in self.bases)
        (x,), log_jac_det = self._run(z, c, rev=True, jac=jac)
        return x, z, log_jac_det, sample_shape

    def sample(self, n: int | tuple, c: Any = None) -> Tensor:
        """Draw samples ``x = f^{-1}(z)``, ``z ~ base``, of shape ``(*n, *input_shape)``.

        Raises:
            ShapeError: If ``n`` is not a non-negative int (or a tuple of them), or a
                condition's batch size is not the number of samples.
        """
        x, _, _, sample_shape = self._draw(n, c, jac=False)
        return x.reshape(*sample_shape, *self.input_shape)

    def sample_and_log_prob(self, n: int | tuple, c: Any = None) -> tuple[Tensor, Tensor]:
        """Draw samples and their log-density in one reverse pass."""
        x, z, log_jac_det_rev, sample_shape = self._draw(n, c, jac=True)
        log_prob = self._base_log_prob(z) - log_jac_det_rev
        return x.reshape(*sample_shape, *self.input_shape), log_prob.reshape(sample_shape)

    def distribution(self, c: Any = None) -> FlowDistribution:
        """A ``torch.distributions.Distribution`` view of the flow, optionally conditioned."""
        return FlowDistribution(self, c)

    def fit(
        self,
        data: Any,
        *,
        epochs: int = 10,
        batch_size: int = 256,
        lr: float = 1e-3,
        optimizer: Any = None,
        val_data: Any = None,
        progress: bool = True,
        weight_decay: float = 0.0,
        clip_grad_norm: float | None = None,
        scheduler: Any = None,
        callback: Callable[[int, dict], Any] | None = None,
        device: torch.device | str | None = None,
        compile: bool | dict = False,
        checkpoint: str | os.PathLike | None = None,
        checkpoint_every: int | None = None,
        scheduler_interval: str = "epoch",
        accumulate: int = 1,
        precision: str | torch.dtype | None = None,
        restore_best: bool = False,
        on_step: StepCallback | Sequence[StepCallback] | None = None,
        seed: int | None = None,
        distributed: bool | None = None,
    ) -> dict[str, list[float]]:
        r"""Fit by maximum likelihood: minimise the mean negative log-likelihood of ``data``.

        Under ``torch.distributed`` (e.g. launched with ``torchrun``) this trains data-parallel
        by itself: each rank reads its shard through a ``DistributedSampler`` (reshuffled per
        epoch), gradients are averaged by ``DistributedDataParallel`` (which wraps a loss module
        around the flow, so ``log_prob`` and ``sample`` stay on the plain flow), logging and
        checkpoints happen on rank 0 only, and every rank ends with identical parameters. See
        the "Training at scale" guide.

        Args:
            data: A tensor, a tuple ``(x, c_0, ...)`` of tensors, a ``Dataset`` or a
                ``DataLoader`` yielding ``x`` or ``(x, c_0, ...)``.
            epochs: Passes over the data.
            batch_size: Batch size per rank (ignored for a ``DataLoader``).
            lr: Learning rate of the default Adam optimizer.
            optimizer: ``None`` (Adam), an optimizer instance, or a factory ``params -> optim``.
            val_data: Validation data in the same forms, evaluated after every epoch on every
                rank; it never draws from the global RNG, so it does not change training.
            progress: Show a per-batch tqdm bar on rank 0 (tqdm comes with the ``progress``
                extra; without it, one line per epoch is printed).
            weight_decay: Weight decay of the default optimizer.
            clip_grad_norm: Clip the gradient norm to this value before each optimizer step.
            scheduler: A learning-rate scheduler, or a factory ``optimizer -> scheduler``.
            callback: Called as ``callback(epoch, history)`` after every epoch; returning
                ``True`` stops training.
            device: Move the flow there first (and every batch, as the data arrives).
            compile: Compile the training step (forward, loss, backward, optimizer step) with
                ``torch.compile``; ``True`` or a dict of ``torch.compile`` options, e.g.
                ``{"mode": "max-autotune"}``.
            checkpoint: A file path. If it exists, training resumes from it exactly (model,
                optimizer, scheduler, grad scaler, epoch, step, data order and RNG states);
                it is written after every epoch and every ``checkpoint_every`` steps.
            checkpoint_every: Also write the checkpoint every this many optimizer steps.
            scheduler_interval: Step the scheduler per ``"epoch"`` or per optimizer ``"step"``.
            accumulate: Average the gradients of this many batches per optimizer step.
            precision: ``None`` (the flow's dtype), ``"bf16"`` or ``"fp16"``: autocast the
                flow; log-dets and the loss are summed in float32, and fp16 uses a GradScaler.
            restore_best: Load the parameters of the epoch with the lowest validation loss at
                the end (needs ``val_data``).
            on_step: A callable, or a sequence of callables, called with a
                :class:`inn.training.StepInfo` (``epoch``, ``step``, ``batch``, ``loss``,
                ``lr``) after every optimizer step; returning ``True`` stops training.
            seed: Seed of the data order (default: drawn once from the global RNG).
            distributed: ``None`` trains data-parallel when a process group with more than one
                rank is initialised; ``False`` never does.

        Returns:
            ``{"loss": [...], "val_loss": [...]}``, one mean NLL per epoch.

        Raises:
            NonFiniteError: If the loss becomes NaN or infinite (also a ``FloatingPointError``);
                the message names the epoch, the step and the batch.
            ModuleArgumentError: For bad arguments (e.g. ``batch_size=0``) or a file at
                ``checkpoint`` that is no ``Flow.fit`` checkpoint.

        Example:
            >>> import inn, torch.nn as nn
            >>> seq = inn.SequenceINN(2)
            >>> seq.append(inn.GLOWCouplingBlock, subnet_constructor=nn.Linear)
            >>> history = inn.Flow(seq).fit(torch.randn(64, 2), epochs=2, progress=False)
            >>> len(history["loss"])
            2
        """
        options = FitOptions(
            epochs=epochs, batch_size=batch_size, lr=lr, optimizer=optimizer,
            val_data=val_data, progress=progress, weight_decay=weight_decay,
            clip_grad_norm=clip_grad_norm, scheduler=scheduler, callback=callback, device=device,
            compile=compile, checkpoint=checkpoint, checkpoint_every=checkpoint_every,
            scheduler_interval=scheduler_interval, accumulate=accumulate, precision=precision,
            restore_best=restore_best, on_step=on_step, seed=seed, distributed=distributed)
        return fit_flow(self, data, options)


class FlowDistribution(Distribution):
    """A ``torch.distributions.Distribution`` view of a :class:`Flow`.

    Without conditions the batch shape is ``()``. With conditions of batch size ``B`` the batch
    shape is ``(B,)``: ``sample(s)`` returns ``(*s, B, *event_shape)``, sample ``[..., i, :]``
    drawn under condition ``i``, and ``log_prob`` takes values of shape ``(..., B, *event)``.
    """

    arg_constraints: dict = {}  # noqa: RUF012 - torch's Distribution API
    has_rsample = True

    def __init__(self, flow: Flow, c: Any = None) -> None:
        self.flow = flow
        self.c = as_tuple(c)
        batch = self.c[0].shape[0] if self.c and isinstance(self.c[0], Tensor) else None
        batch_shape = torch.Size(() if batch is None else (batch,))
        super().__init__(batch_shape, flow.input_shape, validate_args=False)

    def _repeat_conditions(self, copies: int) -> tuple:
        return tuple(t.repeat(copies, *([1] * (t.dim() - 1))) if isinstance(t, Tensor) else t
                     for t in self.c)

    def rsample(self, sample_shape: Any = ()) -> Tensor:
        """Samples with gradients, of shape ``(*sample_shape, *batch_shape, *event_shape)``."""
        sample_shape = torch.Size(sample_shape)
        copies = sample_shape.numel()
        count = copies * self.batch_shape.numel()
        x = self.flow.sample(count, self._repeat_conditions(copies) or None)
        return x.reshape(*sample_shape, *self.batch_shape, *self.event_shape)

    def sample(self, sample_shape: Any = ()) -> Tensor:
        """Samples without gradients."""
        with torch.no_grad():
            return self.rsample(sample_shape)

    def log_prob(self, value: Tensor) -> Tensor:
        """Log-density of ``value`` of shape ``(..., *batch_shape, *event_shape)``."""
        tail = (*self.batch_shape, *self.event_shape)
        if value.dim() < len(tail) or tuple(value.shape[value.dim() - len(tail):]) != tail:
            raise ShapeError(
                f"FlowDistribution.log_prob: expected a value of shape "
                f"{format_shape(tail, batch='...')}, got {tuple(value.shape)}."
            )
        outer = value.shape[: value.dim() - len(tail)]
        flat = value.reshape(-1, *self.event_shape)
        log_prob = self.flow.log_prob(flat, self._repeat_conditions(outer.numel()) or None)
        return log_prob.reshape(*outer, *self.batch_shape)
