"""Fixed linear maps: ``FixedLinearTransform`` on vectors, ``Fixed1x1Conv`` on images."""

from __future__ import annotations

import math
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor

from ..errors import ModuleArgumentError
from ..utils import ShapeList
from ._helpers import DerivedBuffers, single_input_shape
from .base import InvertibleModule, Tensors

__all__ = ["Fixed1x1Conv", "FixedLinearTransform"]


def _inverse_and_log_det(matrix: Tensor) -> tuple[Tensor, Tensor]:
    """``(inverse, log|det|)`` of ``matrix`` in its dtype (half precisions solved in float32)."""
    work = matrix if matrix.dtype in (torch.float32, torch.float64) else matrix.float()
    inverse, log_det = torch.linalg.inv(work), torch.linalg.slogdet(work).logabsdet
    return inverse.to(matrix.dtype), log_det.to(matrix.dtype)


def _check_matrix(owner: str, M: Tensor | None, size: int) -> Tensor:
    """Return ``M`` as a floating ``(size, size)`` invertible matrix, or raise."""
    if M is None:
        raise ModuleArgumentError(
            f"{owner} needs the argument M, the invertible ({size}, {size}) matrix to multiply "
            f"with; got M=None."
        )
    M = torch.as_tensor(M)
    if not M.is_floating_point():
        M = M.to(torch.get_default_dtype())
    if tuple(M.shape) != (size, size):
        raise ModuleArgumentError(
            f"{owner}: M must have shape ({size}, {size}) to match the {size} input channels, "
            f"got {tuple(M.shape)}."
        )
    if torch.linalg.slogdet(M.detach()).sign == 0:
        raise ModuleArgumentError(f"{owner}: M must be invertible, but it is singular.")
    return M.detach().clone()


class FixedLinearTransform(DerivedBuffers, InvertibleModule):
    r"""A fixed invertible affine map of vectors: :math:`y = M x + b`.

    .. math::

        y = M x + b, \qquad \log|\det J| = \log|\det M|; \qquad x = M^{-1} (y - b).

    ``M`` and ``b`` are buffers, not parameters. As in FrEIA the buffer ``M`` holds
    :math:`M^\top` (rows act on row vectors, ``y = x @ M + b``), ``M_inv`` its inverse and
    ``logDetM`` the log-determinant; ``M_inv`` and ``logDetM`` are recomputed from ``M`` in the
    module's dtype after every cast and ``load_state_dict``, so float64 inverses are exact.

    Args:
        dims_in: One vector shape ``(d,)``.
        dims_c: Must be empty.
        M: The invertible ``(d, d)`` matrix (required; its dtype is kept if floating).
        b: Optional ``(d,)`` offset.

    Raises:
        ModuleArgumentError: Without ``M``, for a singular or wrongly shaped ``M`` or ``b``,
            non-vector inputs, several inputs or conditions.

    Example:
        >>> M = torch.tensor([[2.0, 1.0], [0.0, 1.0]])
        >>> m = FixedLinearTransform([(2,)], M=M, b=torch.tensor([1.0, 0.0]))
        >>> (y,), log_jac_det = m([torch.tensor([[1.0, 1.0]])])
        >>> y, log_jac_det
        (tensor([[4., 1.]]), tensor([0.6931]))
    """

    exact_inverse = True  # see InvertibleModule.exact_inverse

    def __init__(
        self, dims_in: Any, dims_c: Any = None, M: Tensor | None = None, b: Tensor | None = None
    ) -> None:
        super().__init__(dims_in, dims_c)
        (size,) = single_input_shape(self, rank=1, what="vectors (d,)")
        M = _check_matrix(type(self).__name__, M, size)
        if b is None:
            b = M.new_zeros(())  # FrEIA's 0-dim placeholder, kept for its state_dict keys
        else:
            b = torch.as_tensor(b).detach().to(M.dtype)
            if tuple(b.shape) != (size,):
                raise ModuleArgumentError(
                    f"FixedLinearTransform: b must have shape ({size},), got {tuple(b.shape)}."
                )
            b = b.clone().unsqueeze(0)
        self.register_buffer("M", M.t().contiguous())
        self.register_buffer("M_inv", torch.empty_like(M))
        self.register_buffer("b", b)
        self.register_buffer("logDetM", M.new_zeros(()))
        self.refresh_derived()

    def refresh_derived(self) -> None:
        """Recompute ``M_inv`` and ``logDetM`` from ``M`` in its current dtype."""
        self.M_inv, self.logDetM = _inverse_and_log_det(self.M)

    def _forward(self, x: Tensors, c: Tensors, jac: bool) -> tuple[Tensors, Tensor]:
        return (x[0] @ self.M + self.b,), self.logDetM.repeat(x[0].shape[0])

    def _inverse(self, z: Tensors, c: Tensors, jac: bool) -> tuple[Tensors, Tensor]:
        return ((z[0] - self.b) @ self.M_inv,), -self.logDetM.repeat(z[0].shape[0])

    def output_dims(self, input_dims: ShapeList) -> ShapeList:
        """The input shape."""
        return [tuple(input_dims[0])]


class Fixed1x1Conv(DerivedBuffers, InvertibleModule):
    r"""A fixed invertible 1×1 convolution: :math:`y_{:, h, w} = M^\top x_{:, h, w}` per pixel.

    .. math::

        y_{:, h, w} = M^\top x_{:, h, w}, \qquad \log|\det J| = H W \log|\det M|.

    The convolution kernel is :math:`M^\top`, not :math:`M`: a quirk of FrEIA kept for
    compatibility (pass ``M.T`` to multiply by ``M``). The buffers ``M`` (the kernel
    :math:`M^\top` of shape ``(C, C, 1, 1)``), ``M_inv`` and ``logDetM`` keep FrEIA's names;
    ``M_inv`` and ``logDetM`` are recomputed from ``M`` in the module's dtype after every cast
    and ``load_state_dict``, so float64 modules stay exact.

    Args:
        dims_in: One image shape ``(C, H, W)``.
        dims_c: Must be empty.
        M: The invertible ``(C, C)`` matrix (required; its dtype is kept if floating).

    Raises:
        ModuleArgumentError: Without ``M``, for a singular or wrongly shaped ``M``, inputs that
            are not ``(C, H, W)``, several inputs or conditions.

    Example:
        >>> M = torch.tensor([[1.0, 2.0], [0.0, 1.0]])
        >>> conv = Fixed1x1Conv([(2, 1, 3)], M=M)
        >>> x = torch.tensor([[[[1.0, 0.0, 2.0]], [[1.0, 1.0, 1.0]]]])
        >>> (y,), log_jac_det = conv([x])
        >>> y[0, :, 0], log_jac_det
        (tensor([[1., 0., 2.],
                [3., 1., 5.]]), tensor([0.]))
    """

    exact_inverse = True  # see InvertibleModule.exact_inverse

    def __init__(self, dims_in: Any, dims_c: Any = None, M: Tensor | None = None) -> None:
        super().__init__(dims_in, dims_c)
        shape = single_input_shape(self, rank=3, what="images (C, H, W)")
        M = _check_matrix(type(self).__name__, M, shape[0])
        self._positions = math.prod(shape[1:])
        self.register_buffer("M", M.t().contiguous().view(*M.shape, 1, 1))
        self.register_buffer("M_inv", torch.empty_like(self.M))
        self.register_buffer("logDetM", M.new_zeros(()))
        self.refresh_derived()

    def refresh_derived(self) -> None:
        """Recompute ``M_inv`` and ``logDetM`` from the kernel ``M`` in its current dtype."""
        inverse, self.logDetM = _inverse_and_log_det(self.M[:, :, 0, 0])
        self.M_inv = inverse.view_as(self.M)

    def _forward(self, x: Tensors, c: Tensors, jac: bool) -> tuple[Tensors, Tensor]:
        log_jac_det = (self._positions * self.logDetM).repeat(x[0].shape[0])
        return (F.conv2d(x[0], self.M),), log_jac_det

    def _inverse(self, z: Tensors, c: Tensors, jac: bool) -> tuple[Tensors, Tensor]:
        log_jac_det = (-self._positions * self.logDetM).repeat(z[0].shape[0])
        return (F.conv2d(z[0], self.M_inv),), log_jac_det

    def output_dims(self, input_dims: ShapeList) -> ShapeList:
        """The input shape."""
        return [tuple(input_dims[0])]
