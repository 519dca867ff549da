"""``ActNorm``: per-channel affine normalisation initialised from the first batch of data."""

from __future__ import annotations

import math
from typing import Any

import torch
import torch.nn as nn
from torch import Tensor

from ..distributed import is_distributed, is_fully_sharded, moments_over_ranks
from ..errors import ModuleArgumentError, ShapeError
from ..utils import ShapeList
from ._helpers import single_input_shape
from .base import InvertibleModule, Tensors

__all__ = ["ActNorm"]


class ActNorm(InvertibleModule):
    r"""Activation normalisation (Kingma & Dhariwal, 2018): :math:`y = (x - \mu) e^{-\lambda}`.

    :math:`\mu` (``loc``) and :math:`\lambda` (``log_scale``) are learned per channel, with shape
    ``(1, C, 1, ...)``. Unless initialised already, the first batch passed through the module
    (in either direction), or ``init_data``, sets them to the batch mean and log standard
    deviation over all axes but the channel axis, so that outputs start standardised.

    Under ``torch.distributed`` (DDP, FSDP2, ``torchrun``) the statistics are those of the union
    of every rank's first batch, all-reduced, so every rank starts with identical parameters.
    The first call is then a collective: every rank must make it (as DDP's training step does),
    or initialise before the process group starts, from ``init_data`` or a loaded checkpoint.
    Under FSDP2, initialise before ``fully_shard``; a sharded, uninitialised ActNorm raises.

    .. math::

        \log|\det J| = -N_\text{positions} \sum_c \lambda_c

    Args:
        dims_in: One input shape ``(C, *spatial)``.
        dims_c: Must be empty.
        init_data: Optional ``(B, C, *spatial)`` data to initialise from right away.

    Raises:
        ModuleArgumentError: For conditions, several inputs, or a channel with zero standard
            deviation in the initialisation data.
        ShapeError: For initialisation data of the wrong shape.

    References:
        Kingma, Dhariwal. Glow: Generative Flow with Invertible 1x1 Convolutions.
        arXiv:1807.03039.

    Example:
        >>> norm = ActNorm([(3,)])
        >>> (z,), _ = norm([torch.randn(100, 3) * 5 + 2])
        >>> bool(norm.is_initialized), z.mean(0).abs().max() < 1e-5
        (True, tensor(True))
    """

    exact_inverse = True  # see InvertibleModule.exact_inverse

    def __init__(self, dims_in: Any, dims_c: Any = None, init_data: Tensor | None = None) -> None:
        super().__init__(dims_in, dims_c)
        shape = single_input_shape(self)
        param_shape = (1, shape[0]) + (1,) * (len(shape) - 1)
        self.log_scale = nn.Parameter(torch.zeros(param_shape))
        self.loc = nn.Parameter(torch.zeros(param_shape))
        self.register_buffer("is_initialized", torch.tensor(False))
        self._initialized = False  # host-side mirror of the buffer: no device sync per call
        self._positions = math.prod(shape[1:])
        if init_data is not None:
            self.initialize(init_data)

    @property
    def scale(self) -> Tensor:
        r""":math:`e^{\lambda}`, the per-channel standard deviation divided out."""
        return torch.exp(self.log_scale)

    @torch.no_grad()
    def initialize(self, batch: Tensor) -> None:
        """Set ``loc`` and ``log_scale`` to the mean and log-std of ``batch`` per channel.

        Raises:
            ShapeError: If ``batch`` is not ``(B, *dims_in[0])``.
            ModuleArgumentError: If a channel has zero standard deviation, or if FSDP2's
                ``fully_shard`` was applied to this module (its sharded parameters would never
                see the statistics: initialise before sharding).
        """
        if is_fully_sharded(self):
            raise ModuleArgumentError(
                "ActNorm cannot initialise from data after FSDP2's fully_shard: the sharded "
                "parameters would keep their zeros. Initialise it before sharding (init_data, "
                "a loaded state dict, or one forward pass with every rank's first batch)."
            )
        if tuple(batch.shape[1:]) != self.dims_in[0]:
            raise ShapeError(
                f"ActNorm.initialize: expected data of shape (B, {', '.join(map(str, self.dims_in[0]))}), "  # noqa: E501
                f"got {tuple(batch.shape)}."
            )
        axes = [0, *range(2, batch.dim())]
        if batch.numel() // max(batch.shape[1], 1) < 2 and not is_distributed():
            # the std of one value is NaN (and torch warns), not "zero"
            raise ModuleArgumentError(
                f"ActNorm cannot initialise from 1 value per channel (data of shape "
                f"{tuple(batch.shape)}): the first batch needs at least 2 values per channel, "
                f"or pass init_data."
            )
        mean, std = moments_over_ranks(batch, axes)
        if not bool((std > 0).all()):
            raise ModuleArgumentError(
                "ActNorm cannot initialise: one or more channels have zero standard deviation "
                "in the initialisation batch."
            )
        self.loc.copy_(mean)
        self.log_scale.copy_(torch.log(std))
        self.is_initialized.fill_(True)
        self._initialized = True

    def _maybe_initialize(self, batch: Tensor) -> None:
        if not self._initialized:
            self._initialized = bool(self.is_initialized)
            if not self._initialized:
                self.initialize(batch)

    def _log_jac_det(self, batch: Tensor) -> Tensor:
        return (-self._positions * self.log_scale.sum()).to(batch.dtype).expand(batch.shape[0])

    def _forward(self, x: Tensors, c: Tensors, jac: bool) -> tuple[Tensors, Tensor]:
        self._maybe_initialize(x[0])
        z = (x[0] - self.loc) * torch.exp(-self.log_scale)
        return (z,), self._log_jac_det(x[0])

    def _inverse(self, z: Tensors, c: Tensors, jac: bool) -> tuple[Tensors, Tensor]:
        self._maybe_initialize(z[0])
        x = torch.addcmul(self.loc, z[0], torch.exp(self.log_scale))
        return (x,), -self._log_jac_det(z[0])

    def output_dims(self, input_dims: ShapeList) -> ShapeList:
        """The input shape."""
        return [tuple(input_dims[0])]

    def _load_from_state_dict(self, state_dict: dict, prefix: str, *args: Any,
                              **kwargs: Any) -> None:
        legacy = (prefix + "scale" in state_dict and prefix + "bias" in state_dict
                  and prefix + "log_scale" not in state_dict)
        if legacy:  # FrEIA 0.2 stored y = x·exp(scale) + bias
            scale = state_dict.pop(prefix + "scale")
            bias = state_dict.pop(prefix + "bias")
            state_dict[prefix + "log_scale"] = -scale
            state_dict[prefix + "loc"] = -torch.exp(-scale) * bias
            state_dict[prefix + "is_initialized"] = torch.tensor(True)
        super()._load_from_state_dict(state_dict, prefix, *args, **kwargs)
        self._initialized = bool(self.is_initialized)
