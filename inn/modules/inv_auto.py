"""Invertible-autoencoder layers ``InvAutoFC`` and ``InvAutoConv2D``, inverted by transposition."""

from __future__ import annotations

import math
import warnings
from typing import Any

import torch
import torch.nn as nn
import torch.nn.functional as F
from torch import Tensor

from ..errors import ModuleArgumentError
from ..utils import Shape, ShapeList
from ._helpers import single_input_shape
from .base import InvertibleModule, Tensors

__all__ = ["InvAutoConv2D", "InvAutoFC"]

_INTRACTABLE = (
    "{owner}: invertible-autoencoder layers have no tractable log-det-Jacobian; returning 0, "
    "which is exact only for an orthogonal weight (it approaches 0 as the layer converges)."
)


class _InvAutoBase(InvertibleModule):
    """Shared checks and the once-per-instance warning about the log-det."""

    exact_inverse = False  # the reverse pass uses the transposed weight, not the inverse

    def __init__(self, dims_in: Any, dims_c: Any, rank: int, kind: str) -> None:
        super().__init__(dims_in, dims_c)
        single_input_shape(self, rank=rank, what=f"{kind} inputs")
        self._warned = False

    def _zero_log_det(self, t: Tensor, jac: bool) -> Tensor:
        # warnings.warn does not trace: compiled calls rely on an eager call having warned
        if jac and not self._warned and not torch.compiler.is_compiling():
            warnings.warn(_INTRACTABLE.format(owner=type(self).__name__), stacklevel=2)
            self._warned = True
        return t.new_zeros(t.shape[0])


class InvAutoFC(_InvAutoBase):
    r"""Invertible-autoencoder linear layer: :math:`y = W x + b`, reverse :math:`W^\top(y - b)`.

    The reverse pass uses the transposed weight instead of the inverse; trained with a
    reconstruction loss, :math:`W` converges to an orthogonal matrix and the layer to an
    invertible map. The layer is only approximately invertible, exact for orthogonal (or, with
    ``dims_out > C``, column-orthonormal) :math:`W`, and the returned log-det is 0 (a warning
    says so once per layer).

    Args:
        dims_in: One vector shape ``(C,)``.
        dims_c: Must be empty.
        dims_out: Output size; ``None`` for ``C``. It may differ from ``C``.

    Raises:
        ModuleArgumentError: For a non-vector input, several inputs, conditions, or
            ``dims_out < 1``.

    References:
        Teng, Choromanska, Bojarski. Invertible Autoencoder for Domain Adaptation.
        arXiv:1802.06869.

    Example:
        >>> layer = InvAutoFC([(3,)])
        >>> with torch.no_grad():
        ...     _ = layer.weights.copy_(torch.linalg.qr(torch.randn(3, 3))[0])
        >>> x = torch.randn(4, 3)
        >>> (z,), _ = layer([x], jac=False)
        >>> (x_rec,), _ = layer([z], rev=True, jac=False)
        >>> bool(torch.allclose(x_rec, x, atol=1e-5))
        True
    """

    def __init__(self, dims_in: Any, dims_c: Any = None, dims_out: int | None = None) -> None:
        super().__init__(dims_in, dims_c, rank=1, kind="vector")
        channels = self.dims_in[0][0]
        self.dims_out = channels if dims_out is None else dims_out
        if isinstance(self.dims_out, bool) or not isinstance(self.dims_out, int) or (
                self.dims_out < 1):
            raise ModuleArgumentError(
                f"InvAutoFC: dims_out must be None or an int >= 1, got {dims_out!r}."
            )
        self.weights = nn.Parameter(math.sqrt(1.0 / self.dims_out)
                                    * torch.randn(self.dims_out, channels))
        self.bias = nn.Parameter(torch.randn(1, self.dims_out))

    def _forward(self, x: Tensors, c: Tensors, jac: bool) -> tuple[Tensors, Tensor]:
        return (F.linear(x[0], self.weights) + self.bias,), self._zero_log_det(x[0], jac)

    def _inverse(self, z: Tensors, c: Tensors, jac: bool) -> tuple[Tensors, Tensor]:
        x = F.linear(z[0] - self.bias, self.weights.t())
        return (x,), self._zero_log_det(z[0], jac)

    def output_dims(self, input_dims: ShapeList) -> ShapeList:
        """``[(dims_out,)]``."""
        return [(self.dims_out,)]


def _pair(value: Any, name: str) -> tuple[int, int]:
    values = (value, value) if isinstance(value, int) else tuple(value)
    if len(values) != 2 or any(isinstance(v, bool) or not isinstance(v, int) for v in values):
        raise ModuleArgumentError(f"InvAutoConv2D: {name} must be an int or a pair of ints, "
                                  f"got {value!r}.")
    return values


class InvAutoConv2D(_InvAutoBase):
    r"""Convolutional invertible-autoencoder layer: :math:`y = k * x + b`; reverse transposed.

    The reverse pass is the transposed convolution with the same kernel :math:`k` (stride 1,
    same padding) applied to :math:`y - b`; it inverts the forward pass when the convolution is
    an orthogonal operator, e.g. a kernel whose only non-zero tap is an orthogonal channel
    matrix. The returned log-det is 0 (a warning says so once per layer). The convolution has
    no bias of its own; ``bias`` has shape ``(1, C_out, 1, 1)``.

    Args:
        dims_in: One image shape ``(C, H, W)``.
        dims_c: Must be empty.
        dims_out: Output shape ``(C_out, H_out, W_out)``, or an int ``C_out``; ``None`` keeps
            ``C``. The spatial size is that of the convolution,
            ``H_out = H + 2 padding - kernel_size + 1``.
        kernel_size: Kernel size (int or pair).
        padding: Zero padding (int or pair); ``kernel_size // 2`` keeps the image size.

    Raises:
        ModuleArgumentError: For a non-image input, several inputs, conditions, an empty
            output, or a ``dims_out`` whose spatial size the convolution does not produce.

    References:
        Teng, Choromanska, Bojarski. Invertible Autoencoder for Domain Adaptation.
        arXiv:1802.06869.

    Example:
        >>> layer = InvAutoConv2D([(2, 5, 5)], dims_out=4)
        >>> (z,), _ = layer([torch.randn(3, 2, 5, 5)], jac=False)
        >>> z.shape, layer.output_dims(layer.dims_in)
        (torch.Size([3, 4, 5, 5]), [(4, 5, 5)])
    """

    def __init__(
        self,
        dims_in: Any,
        dims_c: Any = None,
        dims_out: Any = None,
        kernel_size: int | tuple[int, int] = 3,
        padding: int | tuple[int, int] = 1,
    ) -> None:
        super().__init__(dims_in, dims_c, rank=3, kind="image (C, H, W)")
        channels, height, width = self.dims_in[0]
        self.kernel_size = kernel_size
        self.padding = padding
        kernel, pad = _pair(kernel_size, "kernel_size"), _pair(padding, "padding")
        spatial = (height + 2 * pad[0] - kernel[0] + 1, width + 2 * pad[1] - kernel[1] + 1)
        self.dims_out = self._resolve_dims_out(dims_out, channels, spatial)
        self.conv2d = nn.Conv2d(channels, self.dims_out[0], kernel_size=kernel_size,
                                padding=padding, bias=False)
        self.bias = nn.Parameter(torch.randn(1, self.dims_out[0], 1, 1))

    @staticmethod
    def _resolve_dims_out(dims_out: Any, channels: int, spatial: tuple[int, int]) -> Shape:
        if dims_out is None:
            shape: Shape = (channels, *spatial)
        elif isinstance(dims_out, int) and not isinstance(dims_out, bool):
            shape = (dims_out, *spatial)
        else:
            shape = tuple(dims_out)
        if len(shape) != 3 or shape[1:] != spatial or min(shape) < 1:
            raise ModuleArgumentError(
                f"InvAutoConv2D: dims_out must be (C_out, {spatial[0]}, {spatial[1]}) with "
                f"C_out >= 1 for this kernel_size and padding, got {dims_out!r}."
            )
        return shape

    def _forward(self, x: Tensors, c: Tensors, jac: bool) -> tuple[Tensors, Tensor]:
        return (self.conv2d(x[0]) + self.bias,), self._zero_log_det(x[0], jac)

    def _inverse(self, z: Tensors, c: Tensors, jac: bool) -> tuple[Tensors, Tensor]:
        x = F.conv_transpose2d(z[0] - self.bias, self.conv2d.weight, padding=self.padding)
        return (x,), self._zero_log_det(z[0], jac)

    def output_dims(self, input_dims: ShapeList) -> ShapeList:
        """``[dims_out]``."""
        return [self.dims_out]
