"""The monotone rational-quadratic spline of Neural Spline Flows, with linear tails."""

from __future__ import annotations

import torch
from torch import Tensor

from .knots import bin_sizes, gather_pair, locate_bin

__all__ = ["rational_quadratic", "rational_quadratic_bin"]


def rational_quadratic(
    x: Tensor,
    widths: Tensor,
    heights: Tensor,
    derivatives: Tensor,
    x0: Tensor | float,
    y0: Tensor | float,
    *,
    inverse: bool = False,
) -> tuple[Tensor, Tensor]:
    r"""Monotone rational-quadratic spline (Durkan et al., 2019) with linear tails, or its inverse.

    The spline has ``K`` bins between the knots :math:`(x^k, y^k)`,
    :math:`x^k = x_0 + \sum_{j<k} w_j`, :math:`y^k = y_0 + \sum_{j<k} h_j`, with slopes
    :math:`\delta^k` at the knots. In bin ``k``, with :math:`s = h_k / w_k` and
    :math:`\xi = (x - x^k) / w_k \in [0, 1]`,

    .. math::

        y = y^k + \frac{h_k\,(s \xi^2 + \delta^k \xi (1-\xi))}
                       {s + (\delta^{k+1} + \delta^k - 2s)\,\xi(1-\xi)},
        \qquad
        \frac{dy}{dx} = \frac{s^2 (\delta^{k+1} \xi^2 + 2 s \xi (1-\xi) + \delta^k (1-\xi)^2)}
                             {(s + (\delta^{k+1} + \delta^k - 2s)\,\xi(1-\xi))^2}.

    Left of :math:`x^0` and right of :math:`x^K` the map continues linearly with the end slopes
    :math:`\delta^0` and :math:`\delta^K`. See :func:`rational_quadratic_bin` for the inverse.
    The lookup is a comparison count and the tails are clamp arithmetic, so there are no host
    syncs and ``torch.compile(fullgraph=True)`` traces it.

    Args:
        x: Points of shape ``(*S)`` (the outputs ``y`` when ``inverse``).
        widths: Positive bin widths, shape broadcastable to ``(*S, K)``.
        heights: Positive bin heights, same shape as ``widths``.
        derivatives: Positive knot slopes :math:`\delta^0 \dots \delta^K`, shape ``(*S, K+1)``
            (broadcastable).
        x0: Position of the first knot in ``x``, broadcastable to ``(*S)``.
        y0: Position of the first knot in ``y``, broadcastable to ``(*S)``.
        inverse: Compute the inverse map.

    Returns:
        ``(y, log_det)``: the result and the elementwise log-derivative of the computed map
        (negative of the forward one when ``inverse``).

    References:
        Durkan, Bekasov, Murray, Papamakarios. Neural Spline Flows. arXiv:1906.04032.

    Example:
        >>> w = h = torch.full((1, 4), 1.5)
        >>> d = torch.ones(1, 5)
        >>> x = torch.tensor([-4.0, 0.3, 2.0])
        >>> y, log_det = rational_quadratic(x, w, h, d, -3.0, -3.0)
        >>> torch.allclose(y, x), torch.allclose(log_det, torch.zeros(3), atol=1e-6)
        (True, True)
        >>> d = torch.tensor([[0.5, 2.0, 0.3, 1.0, 3.0]])
        >>> y, log_det = rational_quadratic(x, w, h, d, -3.0, -3.0)
        >>> x_rec, log_det_inv = rational_quadratic(y, w, h, d, -3.0, -3.0, inverse=True)
        >>> torch.allclose(x_rec, x), torch.allclose(log_det_inv, -log_det)
        (True, True)
    """
    sizes = bin_sizes(widths, heights)
    position = x - (y0 if inverse else x0)
    index, lower_x, width, lower_y, height = locate_bin(
        position, sizes.cumsum(-1), int(inverse))
    d_lower, d_upper = gather_pair(derivatives, index)
    offset, log_det = rational_quadratic_bin(position, lower_x, width, lower_y, height,
                                             d_lower, d_upper, inverse=inverse)
    return offset + (x0 if inverse else y0), log_det


def rational_quadratic_bin(
    position: Tensor,
    lower_x: Tensor,
    width: Tensor,
    lower_y: Tensor,
    height: Tensor,
    d_lower: Tensor,
    d_upper: Tensor,
    *,
    inverse: bool = False,
) -> tuple[Tensor, Tensor]:
    r"""The rational-quadratic map inside given bins, continued linearly beyond their ends.

    The kernel behind :func:`rational_quadratic`, for callers that look the bins up themselves
    (all arguments elementwise, one bin per point, positions relative to the first knot).
    :math:`\xi` is clamped into :math:`[0, 1]` and the overshoot is added at the end slope,
    so points outside the domain (which the lookup puts in the first or last bin) follow the
    linear tails; no ``where`` and no data-dependent branch.

    The inverse solves the quadratic of eqs. 6-8 in the stable form
    :math:`\xi = 2c / (-b - \sqrt{D})`, or the equal :math:`(\sqrt{D} - b) / 2a` when
    :math:`b < 0`, where the first form cancels. With :math:`\eta = (y - y^k)/h_k` the
    discriminant is evaluated as
    :math:`D / h_k^2 = (\delta^k (1-\eta) - \delta^{k+1} \eta)^2 + 4 s^2 \eta (1-\eta)`,
    which equals :math:`(b^2 - 4ac)/h_k^2` but cannot cancel or turn negative.

    Args:
        position: ``x - x0`` (``y - y0`` when ``inverse``).
        lower_x: Offset of the bin's lower knot in ``x``.
        width: Bin width.
        lower_y: Offset of the bin's lower knot in ``y``.
        height: Bin height.
        d_lower: Slope at the lower knot.
        d_upper: Slope at the upper knot.
        inverse: Compute the inverse map.

    Returns:
        ``(offset, log_det)``: ``y - y0`` (``x - x0`` when ``inverse``) and the elementwise
        log-derivative of the computed map.

    Example:
        >>> one = torch.ones(2)
        >>> rational_quadratic_bin(torch.tensor([0.5, 3.0]), 0 * one, one, 0 * one, 2 * one,
        ...                        2 * one, 2 * one)
        (tensor([1., 6.]), tensor([0.6931, 0.6931]))
    """
    slope = height / width
    if inverse:
        return _inverse(position, lower_x, width, lower_y, height, d_lower, d_upper, slope)
    xi_raw = (position - lower_x) / width
    xi = xi_raw.clamp(0.0, 1.0)
    one_minus = 1.0 - xi
    xi_1m = xi * one_minus
    xi_sq = xi * xi
    curvature = torch.add(d_lower + d_upper, slope, alpha=-2.0)  # d^k + d^(k+1) - 2 s
    denominator = torch.addcmul(slope, curvature, xi_1m)
    numerator = torch.addcmul(slope * xi_sq, d_lower, xi_1m)
    overshoot = xi_raw - xi  # <= 0 before the first knot, >= 0 after the last
    tail = torch.addcmul(d_lower * overshoot.clamp(max=0.0), d_upper, overshoot.clamp(min=0.0))
    y = torch.addcmul(lower_y, height, numerator / denominator) + width * tail
    log_det = _log_derivative(xi_sq, xi_1m, one_minus, slope, d_lower, d_upper, denominator)
    return y, log_det


def _inverse(v: Tensor, xk: Tensor, w: Tensor, yk: Tensor, h: Tensor, dk: Tensor, dk1: Tensor,
             s: Tensor) -> tuple[Tensor, Tensor]:
    eta_raw = (v - yk) / h
    eta = eta_raw.clamp(0.0, 1.0)
    one_minus_eta = 1.0 - eta
    # Eqs. 6-8 divided by h: a xi^2 + b xi + c = 0 with q = dk(1-eta) - dk1 eta,
    # b = q + 2 s eta, a = s - b, c = -s eta; b^2 - 4ac = q^2 + 4 s^2 eta (1-eta).
    q = torch.addcmul(dk * one_minus_eta, dk1, eta, value=-1.0)
    s_eta = s * eta
    b = torch.add(q, s_eta, alpha=2.0)
    root = torch.addcmul(q * q, s * s, eta * one_minus_eta, value=4.0).sqrt()
    # The root in [0, 1] without cancellation: 2c / (-b - root) when b >= 0, and the equal
    # (root - b) / 2a when b < 0 (then a = s - b > s > 0). Selecting before dividing keeps the
    # value and its gradient finite.
    negative_b = b < 0
    xi = (torch.where(negative_b, root - b, -2.0 * s_eta)
          / torch.where(negative_b, 2.0 * (s - b), -b - root))
    overshoot = eta_raw - eta
    tail = overshoot.clamp(max=0.0) / dk + overshoot.clamp(min=0.0) / dk1
    x = torch.addcmul(xk, w, xi) + h * tail
    one_minus = 1.0 - xi
    xi_1m = xi * one_minus
    curvature = torch.add(dk + dk1, s, alpha=-2.0)
    denominator = torch.addcmul(s, curvature, xi_1m)
    log_det = _log_derivative(xi * xi, xi_1m, one_minus, s, dk, dk1, denominator)
    return x, -log_det


def _log_derivative(xi_sq: Tensor, xi_1m: Tensor, one_minus: Tensor, s: Tensor, dk: Tensor,
                    dk1: Tensor, denominator: Tensor) -> Tensor:
    """``log dy/dx`` (eq. 5); at the clamped ends it is the end slope, which the tails use."""
    bracket = torch.addcmul(torch.addcmul(dk1 * xi_sq, s, xi_1m, value=2.0),
                            dk, one_minus * one_minus)
    ratio = s / denominator
    return torch.log(bracket * ratio * ratio)
