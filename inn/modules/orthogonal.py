"""``OrthogonalTransform``: a learned orthogonal matrix, re-orthonormalised during training."""

from __future__ import annotations

import random
import weakref
from collections.abc import Callable
from typing import Any

import numpy as np
import torch
import torch.nn as nn
from torch import Tensor

from ..errors import ModuleArgumentError
from ..transformers.functional import soft_clamp_atan
from ..utils import ShapeList
from ._helpers import single_input_shape
from .base import InvertibleModule, Tensors

__all__ = ["OrthogonalTransform", "orthonormalize_rows"]

# FrEIA's initial spreads of the bias and the raw log-scaling; kept for parity of initialisation.
BIAS_INIT_STD = 0.05
SCALING_INIT_STD = 0.02


def orthonormalize_rows(matrix: Tensor) -> Tensor:
    r"""Gram–Schmidt on the rows of a square matrix: the nearest orthogonal matrix row by row.

    Row :math:`i` of the result is row :math:`i` of ``matrix`` minus its projections on the
    previous (orthonormalised) rows, normalised. Computed stably through a QR decomposition
    with the signs fixed so that the diagonal of the triangular factor is positive, which is
    exactly classical Gram–Schmidt in exact arithmetic. The result has ``matrix``'s dtype.

    Example:
        >>> q = orthonormalize_rows(torch.tensor([[2.0, 0.0], [1.0, 1.0]]))
        >>> q.abs()
        tensor([[1., 0.],
                [0., 1.]])
    """
    q, r = torch.linalg.qr(matrix.transpose(-1, -2))
    signs = torch.sign(torch.diagonal(r, dim1=-2, dim2=-1))
    signs = torch.where(signs == 0, torch.ones_like(signs), signs)
    return (q * signs.unsqueeze(-2)).transpose(-1, -2)


class _CountBackward(torch.autograd.Function):
    """Identity on the weights whose backward calls ``callback`` once per backward pass."""

    @staticmethod
    def forward(ctx: Any, weights: Tensor, callback: Callable[[], None]) -> Tensor:
        ctx.callback = callback
        return weights.view_as(weights)

    @staticmethod
    def backward(ctx: Any, grad: Tensor) -> tuple[Tensor, None]:
        ctx.callback()  # every consumer of the weights has run: correcting them now is safe
        return grad, None


class OrthogonalTransform(InvertibleModule):
    r"""A learned orthogonal map of vectors with bias and bounded scaling.

    .. math::

        y = (x W + b) \odot e^{\psi(s)}, \quad \psi(s) = c \cdot 0.636 \arctan(s / c),
        \qquad \log|\det J| = \sum_i \psi(s_i); \qquad x = (y \odot e^{-\psi(s)} - b) W^\top.

    ``W`` (``weights``) starts orthogonal (the left singular vectors of a random symmetric
    matrix) and is trained freely; every ``correction_interval`` backward passes, counted from
    a random phase, it is projected back onto the orthogonal matrices by Gram–Schmidt on its
    rows (in place, in the module's dtype). The inverse and the log-det assume ``W`` orthogonal,
    as FrEIA does: between corrections they are approximate by the drift of ``W``.

    With gradients enabled it does not trace with ``torch.compile(fullgraph=True)``: the
    backward-pass counter is a Python callback that changes the module during backward, a side
    effect dynamo refuses. Without gradients (``torch.no_grad()``, frozen weights) it traces.

    Args:
        dims_in: One vector shape ``(d,)``.
        dims_c: Must be empty.
        correction_interval: Backward passes between two re-orthonormalisations (``>= 1``).
        clamp: The bound :math:`c > 0` of the log-scaling.

    Raises:
        ModuleArgumentError: For non-vector inputs, several inputs, conditions, a
            ``correction_interval < 1`` or ``clamp <= 0``.

    Example:
        >>> m = OrthogonalTransform([(3,)])
        >>> W = m.weights.detach()
        >>> torch.allclose(W @ W.T, torch.eye(3), atol=1e-5)
        True
        >>> x = torch.randn(4, 3)
        >>> (z,), log_jac_det = m([x])
        >>> (x_rec,), _ = m([z], rev=True)
        >>> torch.allclose(x, x_rec, atol=1e-5), log_jac_det.shape
        (True, torch.Size([4]))
    """

    exact_inverse = True  # see InvertibleModule.exact_inverse

    def __init__(
        self, dims_in: Any, dims_c: Any = None, correction_interval: int = 256, clamp: float = 5.0
    ) -> None:
        super().__init__(dims_in, dims_c)
        (self.width,) = single_input_shape(self, rank=1, what="vectors (d,)")
        if isinstance(correction_interval, bool) or not isinstance(correction_interval, int) \
                or correction_interval < 1:
            raise ModuleArgumentError(
                f"OrthogonalTransform: correction_interval must be an int >= 1, got "
                f"{correction_interval!r}."
            )
        if not clamp > 0:
            raise ModuleArgumentError(f"OrthogonalTransform: clamp must be > 0, got {clamp!r}.")
        self.clamp = clamp
        self.correction_interval = correction_interval
        # One draw from numpy's global stream (never reseeded), as FrEIA draws its phase; the
        # later phases come from a local generator seeded by it.
        seed = int(np.random.randint(0, 2**31 - 1))
        self._phase_rng = random.Random(seed)
        self.back_counter = (seed % correction_interval) // 2

        symmetric = torch.randn(self.width, self.width)
        symmetric = symmetric + symmetric.t()
        self.weights = nn.Parameter(torch.linalg.svd(symmetric).U)
        self.bias = nn.Parameter(BIAS_INIT_STD * torch.randn(1, self.width))
        self.scaling = nn.Parameter(SCALING_INIT_STD * torch.randn(1, self.width))

    def _log_scaling(self) -> Tensor:
        return soft_clamp_atan(self.scaling, self.clamp)

    def _counted_weights(self) -> Tensor:
        """The weights, counting the backward passes that reach them."""
        if not (torch.is_grad_enabled() and self.weights.requires_grad):
            return self.weights
        module = weakref.ref(self)

        def count() -> None:
            owner = module()
            if owner is not None:
                owner.count_backward_pass()

        return _CountBackward.apply(self.weights, count)

    def count_backward_pass(self) -> None:
        """Count one backward pass; re-orthonormalise ``weights`` when the interval is over."""
        self.back_counter += 1
        if self.back_counter > self.correction_interval:
            self.back_counter = self._phase_rng.randrange(self.correction_interval) // 4
            self.correct_weights()

    @torch.no_grad()
    def correct_weights(self) -> None:
        """Project ``weights`` back onto the orthogonal matrices (Gram–Schmidt on rows)."""
        self.weights.data.copy_(orthonormalize_rows(self.weights.data))

    def _forward(self, x: Tensors, c: Tensors, jac: bool) -> tuple[Tensors, Tensor]:
        log_scaling = self._log_scaling()
        z = (x[0] @ self._counted_weights() + self.bias) * torch.exp(log_scaling)
        return (z,), log_scaling.sum().repeat(x[0].shape[0])

    def _inverse(self, z: Tensors, c: Tensors, jac: bool) -> tuple[Tensors, Tensor]:
        log_scaling = self._log_scaling()
        x = (z[0] * torch.exp(-log_scaling) - self.bias) @ self._counted_weights().t()
        return (x,), -log_scaling.sum().repeat(z[0].shape[0])

    def output_dims(self, input_dims: ShapeList) -> ShapeList:
        """The input shape."""
        return [tuple(input_dims[0])]
