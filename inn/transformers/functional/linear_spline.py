"""The monotone piecewise-linear spline, with linear tails at the mean slope."""

from __future__ import annotations

import torch
from torch import Tensor

from .knots import bin_sizes, locate_bin

__all__ = ["linear_spline", "linear_spline_bin"]


def linear_spline(
    x: Tensor,
    widths: Tensor,
    heights: Tensor,
    x0: Tensor | float,
    y0: Tensor | float,
    *,
    inverse: bool = False,
) -> tuple[Tensor, Tensor]:
    r"""Monotone piecewise-linear spline through ``K+1`` knots, with linear tails, or its inverse.

    The knots are :math:`x^k = x_0 + \sum_{j<k} w_j`, :math:`y^k = y_0 + \sum_{j<k} h_j`. In bin
    ``k`` the map is the chord, and outside :math:`[x^0, x^K]` it continues with the mean slope
    :math:`S = \sum h / \sum w` (FrEIA's tails):

    .. math::

        y = y^k + \frac{h_k}{w_k} (x - x^k), \qquad
        \log\frac{dy}{dx} = \log h_k - \log w_k \quad (\log S \text{ in the tails}).

    Args:
        x: Points of shape ``(*S)`` (the outputs ``y`` when ``inverse``).
        widths: Positive bin widths, shape broadcastable to ``(*S, K)``.
        heights: Positive bin heights, same shape as ``widths``.
        x0: Position of the first knot in ``x``, broadcastable to ``(*S)``.
        y0: Position of the first knot in ``y``, broadcastable to ``(*S)``.
        inverse: Compute the inverse map.

    Returns:
        ``(y, log_det)``: the result and the elementwise log-derivative of the computed map
        (negative of the forward one when ``inverse``).

    Example:
        >>> w = torch.tensor([[1.0, 3.0]])
        >>> h = torch.tensor([[3.0, 1.0]])
        >>> y, log_det = linear_spline(torch.tensor([-1.0, 0.5, 2.0, 6.0]), w, h, 0.0, 0.0)
        >>> y
        tensor([-1.0000,  1.5000,  3.3333,  6.0000])
        >>> linear_spline(y, w, h, 0.0, 0.0, inverse=True)[0]
        tensor([-1.0000,  0.5000,  2.0000,  6.0000])
    """
    sizes = bin_sizes(widths, heights)
    cumulative = sizes.cumsum(-1)
    position = x - (y0 if inverse else x0)
    _, lower_x, width, lower_y, height = locate_bin(position, cumulative, int(inverse))
    offset, log_det = linear_spline_bin(position, lower_x, width, lower_y, height,
                                        cumulative[..., 0, -1], cumulative[..., 1, -1],
                                        inverse=inverse)
    return offset + (x0 if inverse else y0), log_det


def linear_spline_bin(
    position: Tensor,
    lower_x: Tensor,
    width: Tensor,
    lower_y: Tensor,
    height: Tensor,
    total_width: Tensor,
    total_height: Tensor,
    *,
    inverse: bool = False,
) -> tuple[Tensor, Tensor]:
    r"""The chord of given bins, continued beyond the domain at the mean slope.

    The kernel behind :func:`linear_spline`, for callers that look the bins up themselves (all
    arguments elementwise, positions relative to the first knot).

    Args:
        position: ``x - x0`` (``y - y0`` when ``inverse``).
        lower_x: Offset of the bin's lower knot in ``x``.
        width: Bin width.
        lower_y: Offset of the bin's lower knot in ``y``.
        height: Bin height.
        total_width: :math:`\sum w`, broadcastable to ``position``.
        total_height: :math:`\sum h`.
        inverse: Compute the inverse map.

    Returns:
        ``(offset, log_det)``: ``y - y0`` (``x - x0`` when ``inverse``) and the elementwise
        log-derivative of the computed map.

    Example:
        >>> one = torch.ones(2)
        >>> linear_spline_bin(torch.tensor([0.5, 3.0]), 0 * one, one, 0 * one, 2 * one,
        ...                   one, 2 * one)
        (tensor([1., 6.]), tensor([0.6931, 0.6931]))
    """
    if inverse:
        position, lower_x, width, lower_y, height, total_width, total_height = (
            position, lower_y, height, lower_x, width, total_height, total_width)
    fraction = (position - lower_x) / width
    inside = fraction.clamp(0.0, 1.0)
    overshoot = fraction - inside  # nonzero only beyond the first or the last knot
    tail_ratio = total_height / total_width
    result = torch.addcmul(lower_y, height, inside) + width * overshoot * tail_ratio
    ratio = torch.where(overshoot == 0, height / width, tail_ratio)
    return result, torch.log(ratio)
