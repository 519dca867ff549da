"""Volume-preserving reshapes: i-RevNet down/upsampling, ``Flatten`` and ``Reshape``."""

from __future__ import annotations

import math
import warnings
from collections.abc import Iterable
from typing import Any

import torch
from torch import Tensor

from ..errors import ModuleArgumentError
from ..utils import Shape, ShapeList
from ._helpers import single_input_shape
from .base import InvertibleModule, Tensors
from .wavelets import PATCH, PATCH_AREA, check_image_shape, depth_to_space, space_to_depth

__all__ = ["Flatten", "IRevNetDownsampling", "IRevNetUpsampling", "Reshape"]


def _selection_kernel(channels: int) -> Tensor:
    """FrEIA's ``downsample_kernel``: one-hot 2x2 kernels per output channel, ``(4C, 1, 2, 2)``."""
    kernel = torch.eye(PATCH_AREA).reshape(PATCH_AREA, 1, PATCH, PATCH)
    return kernel.repeat(channels, 1, 1, 1)


class _IRevNetResampling(InvertibleModule):
    """Shared body of the i-RevNet down- and upsampling; ``_up`` picks the direction."""

    exact_inverse = True  # see InvertibleModule.exact_inverse

    _up: bool
    any_float_dtype = True  # the kernel buffer is cast to the input's dtype per call

    def __init__(self, dims_in: Any, dims_c: Any = None, legacy_backend: bool = False) -> None:
        super().__init__(dims_in, dims_c)
        owner = type(self).__name__
        check_image_shape(owner, self.dims_in, self.dims_c, up=self._up)
        image_channels = self.dims_in[0][0]
        self.channels = image_channels // PATCH_AREA if self._up else image_channels
        self.block_size = PATCH
        self.block_size_sq = PATCH_AREA
        self.legacy_backend = bool(legacy_backend)
        if not self.legacy_backend:
            # Unused by the reshape; kept as a buffer so state_dicts keep FrEIA's key.
            self.register_buffer("downsample_kernel", _selection_kernel(self.channels))

    def _down(self, x: Tensor) -> Tensor:
        return space_to_depth(x, channel_major=self.legacy_backend)

    def _up_sample(self, z: Tensor) -> Tensor:
        return depth_to_space(z, channel_major=self.legacy_backend)

    def _forward(self, x: Tensors, c: Tensors, jac: bool) -> tuple[Tensors, Tensor]:
        out = self._up_sample(x[0]) if self._up else self._down(x[0])
        return (out,), x[0].new_zeros(x[0].shape[0])

    def _inverse(self, z: Tensors, c: Tensors, jac: bool) -> tuple[Tensors, Tensor]:
        out = self._down(z[0]) if self._up else self._up_sample(z[0])
        return (out,), z[0].new_zeros(z[0].shape[0])

    def output_dims(self, input_dims: ShapeList) -> ShapeList:
        """``(C, H, W) -> (4C, H/2, W/2)`` (downsampling) or back (upsampling)."""
        channels, height, width = input_dims[0]
        if self._up:
            return [(channels // PATCH_AREA, height * PATCH, width * PATCH)]
        return [(channels * PATCH_AREA, height // PATCH, width // PATCH)]


class IRevNetDownsampling(_IRevNetResampling):
    r"""The i-RevNet pixel shuffle: :math:`(C, H, W) \to (4C, H/2, W/2)`, log-det 0.

    Each 2x2 patch :math:`\begin{smallmatrix}a & b\\ c & d\end{smallmatrix}` of channel
    :math:`i` moves into four channels. The default order is ``a1, b1, c1, d1, a2, ...``
    (channel :math:`4i + k`); ``legacy_backend=True`` gives ``a1, a2, ..., b1, b2, ...``
    (channel :math:`kC + i`), the order of the original i-RevNet code. Both are computed with
    a reshape and a permutation (FrEIA uses a strided convolution for the default order), so
    the map is exact in every dtype and on every device.

    .. math::

        z_{4i + 2 p + q,\, h, w} = x_{i,\, 2h + p,\, 2w + q}, \qquad \log|\det J| = 0.

    Args:
        dims_in: One image shape ``(C, H, W)`` with even ``H`` and ``W``.
        dims_c: Must be empty.
        legacy_backend: Use the channel-major order of the original i-RevNet code.

    Raises:
        ModuleArgumentError: For conditions, several inputs, a non-image shape, or odd ``H``
            or ``W``.

    References:
        Jacobsen, Smeulders, Oyallon. i-RevNet: Deep Invertible Networks. arXiv:1802.07088.

    Example:
        >>> down = IRevNetDownsampling([(1, 2, 2)])
        >>> (z,), log_jac_det = down([torch.tensor([[[[1.0, 2.0], [3.0, 4.0]]]])])
        >>> z.flatten().tolist(), z.shape, log_jac_det
        ([1.0, 2.0, 3.0, 4.0], torch.Size([1, 4, 1, 1]), tensor([0.]))
    """

    _up = False


class IRevNetUpsampling(_IRevNetResampling):
    r"""The inverse of :class:`IRevNetDownsampling`: :math:`(4C, H, W) \to (C, 2H, 2W)`.

    ``dims_in`` is this module's own input shape (FrEIA stores the output shape instead), so
    pre-built instances work in ``SequenceINN.append`` and ``Node``. The channel order of the
    input is that of the downsampling with the same ``legacy_backend``.

    Args:
        dims_in: One image shape ``(4C, H, W)``.
        dims_c: Must be empty.
        legacy_backend: Expect the channel-major order of the original i-RevNet code.

    Raises:
        ModuleArgumentError: For conditions, several inputs, a non-image shape, or a channel
            count not divisible by 4.

    References:
        Jacobsen, Smeulders, Oyallon. i-RevNet: Deep Invertible Networks. arXiv:1802.07088.

    Example:
        >>> up = IRevNetUpsampling([(4, 1, 1)])
        >>> (x,), _ = up([torch.arange(4.0).reshape(1, 4, 1, 1)])
        >>> x
        tensor([[[[0., 1.],
                  [2., 3.]]]])
    """

    _up = True


class Flatten(InvertibleModule):
    r"""Flatten each sample into a vector: :math:`(d_1, \ldots, d_n) \to (\prod_i d_i,)`.

    Row-major, like ``torch.reshape``; the log-determinant is zero.

    Args:
        dims_in: One input shape.
        dims_c: Must be empty.

    Raises:
        ModuleArgumentError: For several inputs or for conditions.

    Example:
        >>> (z,), _ = Flatten([(2, 3)])([torch.arange(6.0).reshape(1, 2, 3)])
        >>> z
        tensor([[0., 1., 2., 3., 4., 5.]])
    """

    exact_inverse = True  # see InvertibleModule.exact_inverse

    def __init__(self, dims_in: Any, dims_c: Any = None) -> None:
        super().__init__(dims_in, dims_c)
        single_input_shape(self)
        self.input_shape: Shape = self.dims_in[0]
        self.output_shape: Shape = (math.prod(self.input_shape),)

    def _forward(self, x: Tensors, c: Tensors, jac: bool) -> tuple[Tensors, Tensor]:
        return (x[0].reshape(x[0].shape[0], -1),), x[0].new_zeros(x[0].shape[0])

    def _inverse(self, z: Tensors, c: Tensors, jac: bool) -> tuple[Tensors, Tensor]:
        out = z[0].reshape(z[0].shape[0], *self.input_shape)
        return (out,), z[0].new_zeros(z[0].shape[0])

    def output_dims(self, input_dims: ShapeList) -> ShapeList:
        """The flattened shape ``(prod(dims_in[0]),)``."""
        return [(math.prod(input_dims[0]),)]


class Reshape(InvertibleModule):
    r"""Reshape each sample to ``output_dims`` with ``torch.reshape``; the log-det is zero.

    The element order is not spatially meaningful for images; see
    :class:`IRevNetDownsampling` and :class:`~inn.modules.HaarDownsampling` for that.

    Args:
        dims_in: One input shape.
        dims_c: Must be empty.
        output_dims: The output shape without batch axis; it must hold as many elements as
            ``dims_in[0]``.
        target_dim: Deprecated name of ``output_dims`` (warns).

    Raises:
        ModuleArgumentError: For a missing ``output_dims``, a different number of elements,
            several inputs or conditions.

    Example:
        >>> reshape = Reshape([(12,)], output_dims=(3, 2, 2))
        >>> (z,), _ = reshape([torch.zeros(5, 12)])
        >>> z.shape
        torch.Size([5, 3, 2, 2])
    """

    exact_inverse = True  # see InvertibleModule.exact_inverse

    def __init__(
        self,
        dims_in: Any,
        dims_c: Any = None,
        output_dims: Iterable[int] | None = None,
        target_dim: Iterable[int] | None = None,
    ) -> None:
        super().__init__(dims_in, dims_c)
        single_input_shape(self)
        if target_dim is not None:
            warnings.warn("Reshape: 'target_dim' is deprecated and will be removed; use "
                          "'output_dims' instead.", DeprecationWarning, stacklevel=2)
            if output_dims is not None and _as_shape(output_dims) != _as_shape(target_dim):
                raise ModuleArgumentError(
                    f"Reshape: output_dims={output_dims!r} and its deprecated alias "
                    f"target_dim={target_dim!r} disagree."
                )
            output_dims = target_dim
        if output_dims is None:
            raise ModuleArgumentError(
                "Reshape: output_dims is required, the output shape without batch axis."
            )
        self.size: Shape = self.dims_in[0]
        self.target_dim: Shape = _as_shape(output_dims)
        if math.prod(self.size) != math.prod(self.target_dim):
            raise ModuleArgumentError(
                f"Reshape: output_dims={self.target_dim} holds {math.prod(self.target_dim)} "
                f"elements, but the input shape {self.size} holds {math.prod(self.size)}; "
                "they must match for invertibility."
            )

    def _forward(self, x: Tensors, c: Tensors, jac: bool) -> tuple[Tensors, Tensor]:
        out = x[0].reshape(x[0].shape[0], *self.target_dim)
        return (out,), x[0].new_zeros(x[0].shape[0])

    def _inverse(self, z: Tensors, c: Tensors, jac: bool) -> tuple[Tensors, Tensor]:
        out = z[0].reshape(z[0].shape[0], *self.size)
        return (out,), z[0].new_zeros(z[0].shape[0])

    def output_dims(self, input_dims: ShapeList) -> ShapeList:
        """``[output_dims]``."""
        return [self.target_dim]


def _as_shape(dims: Any) -> Shape:
    """An int or an iterable of ints as a shape tuple."""
    if isinstance(dims, int) and not isinstance(dims, bool):
        return (dims,)
    try:
        shape = tuple(int(d) for d in dims)
    except (TypeError, ValueError):
        raise ModuleArgumentError(
            f"Reshape: output_dims must be a shape (a tuple of ints), got {dims!r}."
        ) from None
    if any(d < 1 for d in shape):
        raise ModuleArgumentError(
            f"Reshape: output_dims must have positive entries, got {dims!r}."
        )
    return shape
