"""2x2-patch transforms of images: the polyphase split (``space_to_depth``) and Haar wavelets."""

from __future__ import annotations

import math
from typing import Any

import torch
from torch import Tensor

from ..errors import ModuleArgumentError
from ..utils import ShapeList
from .base import InvertibleModule, Tensors

__all__ = [
    "HaarDownsampling",
    "HaarUpsampling",
    "check_image_shape",
    "depth_to_space",
    "haar_analysis",
    "haar_kernels",
    "haar_synthesis",
    "space_to_depth",
]

PATCH = 2  # side of the square patches moved into channels (FrEIA's ``block_size``)
PATCH_AREA = PATCH * PATCH  # FrEIA's ``block_size_sq``: channels per input channel


def check_image_shape(owner: str, dims_in: ShapeList, dims_c: ShapeList, *, up: bool) -> None:
    """Check the shape of a 2x2 down- (``up=False``) or upsampling module's one image input.

    Raises:
        ModuleArgumentError: For conditions, several inputs, a shape that is not ``(C, H, W)``,
            an odd ``H`` or ``W`` (downsampling) or a channel count not divisible by 4
            (upsampling).

    Example:
        >>> check_image_shape("HaarDownsampling", [(3, 5, 4)], [], up=False)
        ... # doctest: +ELLIPSIS
        Traceback (most recent call last):
        ...
        inn.errors.ModuleArgumentError: HaarDownsampling: dims_in must be ... even H and W, ...
    """
    if dims_c:
        raise ModuleArgumentError(f"{owner} takes no conditions, got dims_c={dims_c}.")
    if up:
        requirement = "(C, H, W) with C divisible by 4"
        valid = len(dims_in) == 1 and len(dims_in[0]) == 3 and dims_in[0][0] % PATCH_AREA == 0
    else:
        requirement = "(C, H, W) with even H and W"
        valid = (len(dims_in) == 1 and len(dims_in[0]) == 3
                 and dims_in[0][1] % PATCH == 0 and dims_in[0][2] % PATCH == 0)
    if not valid:
        raise ModuleArgumentError(
            f"{owner}: dims_in must be one image shape {requirement}, got {dims_in}."
        )


def space_to_depth(x: Tensor, *, channel_major: bool = False) -> Tensor:
    r"""Move each 2x2 patch into channels: ``(B, C, H, W) -> (B, 4C, H/2, W/2)``.

    With the patch pixels :math:`a=(0,0), b=(0,1), c=(1,0), d=(1,1)` of input channel
    :math:`i`, the output channel of pixel :math:`k \in \{a,b,c,d\} = \{0,1,2,3\}` is
    :math:`4i + k` (``a1, b1, c1, d1, a2, ...``), or :math:`kC + i` with ``channel_major``
    (``a1, a2, ..., b1, b2, ...``, FrEIA's legacy backend). A pure reshape and permute: exact.

    Example:
        >>> x = torch.arange(8.0).reshape(1, 2, 2, 2)
        >>> space_to_depth(x).flatten().tolist()
        [0.0, 1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0]
        >>> space_to_depth(x, channel_major=True).flatten().tolist()
        [0.0, 4.0, 1.0, 5.0, 2.0, 6.0, 3.0, 7.0]
    """
    batch, channels, height, width = x.shape
    patches = x.reshape(batch, channels, height // PATCH, PATCH, width // PATCH, PATCH)
    order = (0, 3, 5, 1, 2, 4) if channel_major else (0, 1, 3, 5, 2, 4)
    return patches.permute(order).reshape(
        batch, channels * PATCH_AREA, height // PATCH, width // PATCH
    )


def depth_to_space(z: Tensor, *, channel_major: bool = False) -> Tensor:
    """The inverse of :func:`space_to_depth`: ``(B, 4C, H, W) -> (B, C, 2H, 2W)``.

    Example:
        >>> x = torch.randn(2, 3, 4, 6)
        >>> torch.equal(depth_to_space(space_to_depth(x)), x)
        True
    """
    batch, depth, height, width = z.shape
    channels = depth // PATCH_AREA
    if channel_major:
        patches = z.reshape(batch, PATCH, PATCH, channels, height, width)
        order = (0, 3, 4, 1, 5, 2)
    else:
        patches = z.reshape(batch, channels, PATCH, PATCH, height, width)
        order = (0, 1, 4, 2, 5, 3)
    return patches.permute(order).reshape(batch, channels, height * PATCH, width * PATCH)


HAAR_SCALE = 0.5  # 0.5 * H is orthonormal: the 4x4 Haar matrix H of +-1 has H H^T = 4 I


def haar_kernels() -> Tensor:
    """FrEIA's ``haar_weights`` for one channel, ``(4, 1, 2, 2)``: average, then the details.

    Example:
        >>> haar_kernels().reshape(4, 4)
        tensor([[ 1.,  1.,  1.,  1.],
                [ 1., -1.,  1., -1.],
                [ 1.,  1., -1., -1.],
                [ 1., -1., -1.,  1.]])
    """
    return torch.tensor([[[1.0, 1.0], [1.0, 1.0]],
                         [[1.0, -1.0], [1.0, -1.0]],
                         [[1.0, 1.0], [-1.0, -1.0]],
                         [[1.0, -1.0], [-1.0, 1.0]]]).reshape(PATCH_AREA, 1, PATCH, PATCH)


def haar_analysis(x: Tensor, matrix: Tensor, *, order_by_wavelet: bool = False) -> Tensor:
    r"""Multiply every 2x2 patch by ``matrix``: ``(B, C, H, W) -> (B, 4C, H/2, W/2)``.

    The patch :math:`\begin{smallmatrix}p & q\\ r & s\end{smallmatrix}` of channel :math:`i` is
    the vector :math:`(p, q, r, s)`; output channel :math:`4i + k` (or :math:`kC + i` with
    ``order_by_wavelet``) holds row :math:`k` of ``matrix`` times it. With the Haar matrix, the
    rows are the kernels ``[[1,1],[1,1]]`` (average), ``[[1,-1],[1,-1]]``, ``[[1,1],[-1,-1]]``,
    ``[[1,-1],[-1,1]]``, flattened. A reshape and a batched 4x4 matrix product (faster than
    FrEIA's grouped convolution on CPU, and free of cuDNN's TF32 rounding on GPUs).

    Example:
        >>> patch = torch.tensor([[[[1.0, 2.0], [3.0, 4.0]]]])
        >>> haar_analysis(patch, 0.5 * haar_kernels().reshape(4, 4)).flatten().tolist()
        [5.0, -1.0, -2.0, 0.0]
    """
    batch, channels, height, width = x.shape
    patches = space_to_depth(x).reshape(batch, channels, PATCH_AREA, -1)
    out = torch.matmul(matrix, patches)  # (B, C, 4, N): one small product per channel
    if order_by_wavelet:
        out = out.transpose(1, 2)
    return out.reshape(batch, channels * PATCH_AREA, height // PATCH, width // PATCH)


def haar_synthesis(z: Tensor, matrix: Tensor, *, order_by_wavelet: bool = False) -> Tensor:
    r"""The transposed map of :func:`haar_analysis`: ``(B, 4C, H, W) -> (B, C, 2H, 2W)``.

    Each patch becomes ``matrix.T`` times its four coefficients, so for the Haar matrix
    :math:`H` (:math:`H^\top H = 4I`) ``haar_synthesis(haar_analysis(x, f H), H / (4 f)) == x``.

    Example:
        >>> haar = haar_kernels().reshape(4, 4).double()
        >>> x = torch.randn(2, 3, 4, 6, dtype=torch.float64)
        >>> y = haar_synthesis(haar_analysis(x, 0.5 * haar), 0.5 * haar)
        >>> bool((y - x).abs().max() < 1e-15)
        True
    """
    batch, depth, height, width = z.shape
    channels = depth // PATCH_AREA
    if order_by_wavelet:
        coefficients = z.reshape(batch, PATCH_AREA, channels, -1).transpose(1, 2)
    else:
        coefficients = z.reshape(batch, channels, PATCH_AREA, -1)
    patches = torch.matmul(matrix.T, coefficients)
    return depth_to_space(patches.reshape(batch, depth, height, width))


class _HaarResampling(InvertibleModule):
    """Shared body of the Haar down- and upsampling; ``_up`` picks the direction."""

    exact_inverse = True  # see InvertibleModule.exact_inverse

    _up: bool
    any_float_dtype = True  # the kernel buffer is cast to the input's dtype per call

    def __init__(
        self,
        dims_in: Any,
        dims_c: Any = None,
        order_by_wavelet: bool = False,
        rebalance: float = 1.0,
    ) -> None:
        super().__init__(dims_in, dims_c)
        owner = type(self).__name__
        if rebalance == 0 or not math.isfinite(rebalance):
            raise ModuleArgumentError(
                f"{owner}: rebalance must be a finite non-zero number, got {rebalance!r}."
            )
        check_image_shape(owner, self.dims_in, self.dims_c, up=self._up)
        image_channels = self.dims_in[0][0]
        self.in_channels = image_channels // PATCH_AREA if self._up else image_channels
        self.rebalance = float(rebalance)
        self.permute = bool(order_by_wavelet)
        self.fac_fwd = HAAR_SCALE * self.rebalance
        self.fac_rev = HAAR_SCALE / self.rebalance
        # log|det| per element: the 4x4 block fac * H has |det| = fac^4 * 16 = rebalance^4.
        self.jac_fwd = math.log(abs(self.rebalance))
        self.jac_rev = -self.jac_fwd
        # FrEIA's per-channel conv kernels (state_dict key kept); the first four rows are used.
        self.register_buffer("haar_weights", haar_kernels().repeat(self.in_channels, 1, 1, 1))

    def _matrix(self, factor: float, like: Tensor) -> Tensor:
        """The scaled 4x4 Haar matrix in the data's dtype (exact: entries are +-factor).

        The module has no parameters, so like FrEIA's reshapes it takes any float dtype.
        """
        return self.haar_weights[:PATCH_AREA].reshape(PATCH_AREA, PATCH_AREA).to(like) * factor

    def _analysis(self, x: Tensor) -> tuple[Tensor, Tensor]:
        out = haar_analysis(x, self._matrix(self.fac_fwd, x), order_by_wavelet=self.permute)
        return out, x.new_full((x.shape[0],), x[0].numel() * self.jac_fwd)

    def _synthesis(self, z: Tensor) -> tuple[Tensor, Tensor]:
        out = haar_synthesis(z, self._matrix(self.fac_rev, z), order_by_wavelet=self.permute)
        return out, z.new_full((z.shape[0],), z[0].numel() * self.jac_rev)

    def _forward(self, x: Tensors, c: Tensors, jac: bool) -> tuple[Tensors, Tensor]:
        out, log_jac_det = self._synthesis(x[0]) if self._up else self._analysis(x[0])
        return (out,), log_jac_det

    def _inverse(self, z: Tensors, c: Tensors, jac: bool) -> tuple[Tensors, Tensor]:
        out, log_jac_det = self._analysis(z[0]) if self._up else self._synthesis(z[0])
        return (out,), log_jac_det

    def output_dims(self, input_dims: ShapeList) -> ShapeList:
        """``(C, H, W) -> (4C, H/2, W/2)`` (downsampling) or back (upsampling)."""
        channels, height, width = input_dims[0]
        if self._up:
            return [(channels // PATCH_AREA, height * PATCH, width * PATCH)]
        return [(channels * PATCH_AREA, height // PATCH, width // PATCH)]


class HaarDownsampling(_HaarResampling):
    r"""Split each channel into four Haar wavelet channels: :math:`(C,H,W) \to (4C,H/2,W/2)`.

    Each 2x2 patch is multiplied by the Haar matrix (kernels ``[[1,1],[1,1]]`` (average),
    ``[[1,-1],[1,-1]]``, ``[[1,1],[-1,-1]]``, ``[[1,-1],[-1,1]]``) times
    :math:`\tfrac12 \cdot` ``rebalance``, which is orthonormal for ``rebalance=1``. Outputs are
    ordered ``a1, v1, h1, d1, a2, ...``, or by wavelet (``a1, ..., aC, v1, ..., vC, ...``) with
    ``order_by_wavelet=True``, so that a ``Split`` can take the averages off. With
    :math:`N` the number of elements per sample:

    .. math::

        z = \tfrac{r}{2} H x \text{ per patch}, \qquad \log|\det J| = N \log|r|.

    Args:
        dims_in: One image shape ``(C, H, W)`` with even ``H`` and ``W``.
        dims_c: Must be empty.
        order_by_wavelet: Group the output channels by wavelet instead of by input channel.
        rebalance: Non-zero factor :math:`r` on the forward coefficients (the reverse pass
            divides by it); values below 1 may stabilise training.

    Raises:
        ModuleArgumentError: For ``rebalance == 0``, conditions, several inputs, a non-image
            shape, or odd ``H`` or ``W``.

    Example:
        >>> haar = HaarDownsampling([(1, 2, 2)])
        >>> (z,), log_jac_det = haar([torch.tensor([[[[1.0, 2.0], [3.0, 4.0]]]])])
        >>> z.flatten().tolist(), log_jac_det
        ([5.0, -1.0, -2.0, 0.0], tensor([0.]))
    """

    _up = False


class HaarUpsampling(_HaarResampling):
    r"""The exact inverse of :class:`HaarDownsampling`: :math:`(4C,H,W) \to (C,2H,2W)`.

    ``dims_in`` is this module's own input shape (FrEIA stores the output shape instead), so
    pre-built instances work in ``SequenceINN.append`` and ``Node``. ``order_by_wavelet`` and
    ``rebalance`` describe the matching downsampling; the log-det is :math:`-N \log|r|`.

    Args:
        dims_in: One image shape ``(4C, H, W)``.
        dims_c: Must be empty.
        order_by_wavelet: The input channels are grouped by wavelet.
        rebalance: The ``rebalance`` of the matching downsampling (non-zero).

    Raises:
        ModuleArgumentError: For ``rebalance == 0``, conditions, several inputs, a non-image
            shape, or a channel count not divisible by 4.

    Example:
        >>> down, up = HaarDownsampling([(2, 4, 4)]), HaarUpsampling([(8, 2, 2)])
        >>> x = torch.randn(3, 2, 4, 4)
        >>> (x_rec,), _ = up(down([x])[0])
        >>> bool(torch.allclose(x_rec, x, atol=1e-6))
        True
    """

    _up = True
