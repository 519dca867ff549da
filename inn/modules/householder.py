"""``HouseholderPerm``: a product of Householder reflections: learned, fixed or per sample."""

from __future__ import annotations

import math
from typing import Any

import torch
import torch.nn as nn
from torch import Tensor

from ..errors import ModuleArgumentError
from ..utils import ShapeList
from ._helpers import DerivedBuffers, single_input_shape
from .base import InvertibleModule, Tensors

__all__ = ["HouseholderPerm", "householder_matrix", "householder_reflect"]

# FrEIA's noise around the identity-like start of learned reflection vectors.
INIT_NOISE_STD = 0.1
# FrEIA's Householder product needs at least two reflections; the limit is kept for parity.
MIN_REFLECTIONS = 2


def householder_reflect(x: Tensor, vectors: Tensor, *, inverse: bool = False) -> Tensor:
    r"""Multiply row vectors by a product of Householder reflections.

    .. math::

        y = x H_1 H_2 \cdots H_n, \qquad H_k = I - 2 \frac{v_k v_k^\top}{v_k^\top v_k};
        \qquad x = y H_n \cdots H_1.

    Args:
        x: ``(B, d)`` row vectors.
        vectors: The reflection vectors :math:`v_k`, ``(n, d)`` shared by the batch, or
            ``(B, n, d)`` per sample.
        inverse: Apply the inverse (the transposed product).

    Returns:
        The ``(B, d)`` result.

    Example:
        >>> householder_reflect(torch.tensor([[1.0, 2.0]]), torch.tensor([[1.0, 0.0]]))
        tensor([[-1.,  2.]])
    """
    units = vectors / torch.linalg.vector_norm(vectors, dim=-1, keepdim=True)
    order = range(units.shape[-2] - 1, -1, -1) if inverse else range(units.shape[-2])
    for k in order:
        v = units[..., k, :]
        x = x - 2.0 * (x * v).sum(-1, keepdim=True) * v
    return x


def householder_matrix(vectors: Tensor) -> Tensor:
    r"""The orthogonal matrix :math:`W = H_1 \cdots H_n` of :func:`householder_reflect`.

    Args:
        vectors: ``(n, d)`` reflection vectors.

    Returns:
        The ``(d, d)`` matrix, with ``householder_reflect(x, vectors) == x @ W``.

    Example:
        >>> householder_matrix(torch.tensor([[0.0, 1.0]]))
        tensor([[ 1.,  0.],
                [ 0., -1.]])
    """
    eye = torch.eye(vectors.shape[-1], dtype=vectors.dtype, device=vectors.device)
    return householder_reflect(eye, vectors)


class HouseholderPerm(DerivedBuffers, InvertibleModule):
    r"""A soft permutation of vectors: the product of ``n_reflections`` Householder reflections.

    .. math::

        y = x W, \quad W = \prod_{k=1}^{n} \left(I - 2 \frac{v_k v_k^\top}{v_k^\top v_k}\right),
        \qquad \log|\det J| = 0; \qquad x = y W^\top.

    Three modes:

    * learned (default): the vectors ``Vs`` (shape ``(n, d)``) are parameters, starting close to
      the first ``n`` unit vectors;
    * ``fixed=True``: random vectors drawn once and kept as buffers, so the module has no
      trainable parameters; ``W`` (also under FrEIA's alias ``weight``) is a buffer recomputed
      from ``Vs`` in the module's dtype after every cast;
    * conditional: one condition with ``d * n_reflections`` elements holds each sample's
      vectors (read as ``c.reshape(B, d, n)``, vector ``k`` in column ``k``); each sample is
      reflected by its own matrix.

    Args:
        dims_in: One vector shape ``(d,)``.
        dims_c: ``None``, or one condition shape with ``d * n_reflections`` elements.
        n_reflections: The number of reflections, at least 2 (the default 1 raises, as in
            FrEIA).
        fixed: Draw random reflections once and never train them.

    Raises:
        ModuleArgumentError: For ``n_reflections < 2``, non-vector inputs, several inputs,
            several conditions, a condition size other than ``d * n_reflections``, or a fixed
            conditional module.

    References:
        Mathiesen, Hauberg, Mørup. Fast, Invertible Householder Products (INNF+ workshop, 2020).
        Tomczak, Welling. Improving Variational Auto-Encoders using Householder Flow.
        arXiv:1611.09630.

    Example:
        >>> m = HouseholderPerm([(4,)], n_reflections=3)
        >>> x = torch.randn(2, 4)
        >>> (z,), log_jac_det = m([x])
        >>> (x_rec,), _ = m([z], rev=True)
        >>> torch.allclose(x, x_rec, atol=1e-6), log_jac_det
        (True, tensor([0., 0.]))
    """

    exact_inverse = True  # see InvertibleModule.exact_inverse

    def __init__(
        self, dims_in: Any, dims_c: Any = None, n_reflections: int = 1, fixed: bool = False
    ) -> None:
        super().__init__(dims_in, dims_c)
        (self.width,) = single_input_shape(self, rank=1, conditions=True, what="vectors (d,)")
        self.n_reflections = n_reflections
        self.fixed = fixed
        self.conditional = bool(self.dims_c)
        self._check_arguments()
        if self.conditional:
            return
        if fixed:
            init = torch.randn(self.width, n_reflections)
            self.register_buffer("Vs", init.t().contiguous())
            self.register_buffer("W", torch.empty(self.width, self.width))
            self.register_buffer("weight", self.W)
            self.refresh_derived()
        else:
            init = torch.eye(self.width, n_reflections)
            init = init + INIT_NOISE_STD * torch.randn_like(init)
            self.Vs = nn.Parameter(init.t().contiguous())

    def _check_arguments(self) -> None:
        n = self.n_reflections
        if isinstance(n, bool) or not isinstance(n, int) or n < MIN_REFLECTIONS:
            raise ModuleArgumentError(
                f"HouseholderPerm: n_reflections must be an int >= {MIN_REFLECTIONS}, got {n!r}."
            )
        if not self.conditional:
            return
        if len(self.dims_c) != 1:
            raise ModuleArgumentError(
                f"HouseholderPerm takes at most one condition, got dims_c={self.dims_c}."
            )
        if self.fixed:
            raise ModuleArgumentError(
                "HouseholderPerm cannot be fixed=True and conditional at the same time."
            )
        size = math.prod(self.dims_c[0])
        if size != self.width * n:
            raise ModuleArgumentError(
                f"HouseholderPerm: the condition must have d * n_reflections = "
                f"{self.width} * {n} = {self.width * n} elements, got shape {self.dims_c[0]} "
                f"with {size}."
            )

    def refresh_derived(self) -> None:
        """Recompute the fixed matrix ``W`` (alias ``weight``) from ``Vs`` in its dtype."""
        if self.fixed:
            self.W = householder_matrix(self.Vs)
            self.weight = self.W

    def _vectors(self, c: Tensors) -> Tensor:
        if self.conditional:
            batch = c[0].shape[0]
            return c[0].reshape(batch, self.width, self.n_reflections).transpose(-1, -2)
        return self.Vs

    def _forward(self, x: Tensors, c: Tensors, jac: bool) -> tuple[Tensors, Tensor]:
        if self.fixed:
            z = x[0] @ self.W
        else:
            z = householder_reflect(x[0], self._vectors(c))
        return (z,), x[0].new_zeros(x[0].shape[0])

    def _inverse(self, z: Tensors, c: Tensors, jac: bool) -> tuple[Tensors, Tensor]:
        if self.fixed:
            x = z[0] @ self.W.t()
        else:
            x = householder_reflect(z[0], self._vectors(c), inverse=True)
        return (x,), z[0].new_zeros(z[0].shape[0])

    def output_dims(self, input_dims: ShapeList) -> ShapeList:
        """The input shape."""
        return [tuple(input_dims[0])]
