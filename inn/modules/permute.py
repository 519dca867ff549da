"""``PermuteRandom``: a fixed random permutation of the channel axis."""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
from torch import Tensor

from ..utils import ShapeList
from ._helpers import check_seed, single_input_shape
from .base import InvertibleModule, Tensors

__all__ = ["PermuteRandom"]


class PermuteRandom(InvertibleModule):
    r"""Permute the channels (axis 1) by a fixed random permutation: :math:`y = x_{[\pi]}`.

    The log-determinant is zero. The permutation is drawn with numpy, like FrEIA's: a given
    ``seed`` reproduces ``np.random.RandomState(seed).permutation(C)`` without touching numpy's
    global random state; ``seed=None`` draws from the global state. Both ``perm`` and
    ``perm_inv`` are buffers, so they are saved in the ``state_dict``.

    Args:
        dims_in: One input shape ``(C, *spatial)``.
        dims_c: Must be empty; the permutation is unconditional.
        seed: Seed for the permutation, or ``None``.

    Raises:
        ModuleArgumentError: For several inputs or conditions.

    Example:
        >>> perm = PermuteRandom([(4,)], seed=0)
        >>> perm.perm
        tensor([2, 3, 1, 0])
        >>> (z,), _ = perm([torch.arange(4.0).reshape(1, 4)])
        >>> z
        tensor([[2., 3., 1., 0.]])
    """

    exact_inverse = True  # see InvertibleModule.exact_inverse

    def __init__(self, dims_in: Any, dims_c: Any = None, seed: int | None = None) -> None:
        super().__init__(dims_in, dims_c)
        self.in_channels = single_input_shape(self)[0]
        seed = check_seed("PermuteRandom", seed)
        rng = np.random if seed is None else np.random.RandomState(seed)
        perm = torch.as_tensor(rng.permutation(self.in_channels), dtype=torch.long)
        self.register_buffer("perm", perm)
        self.register_buffer("perm_inv", torch.argsort(perm))

    def _forward(self, x: Tensors, c: Tensors, jac: bool) -> tuple[Tensors, Tensor]:
        return (x[0].index_select(1, self.perm),), x[0].new_zeros(x[0].shape[0])

    def _inverse(self, z: Tensors, c: Tensors, jac: bool) -> tuple[Tensors, Tensor]:
        return (z[0].index_select(1, self.perm_inv),), z[0].new_zeros(z[0].shape[0])

    def output_dims(self, input_dims: ShapeList) -> ShapeList:
        """The input shape."""
        return [tuple(input_dims[0])]
