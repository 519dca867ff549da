"""Elementwise affine and additive maps and their inverses, with elementwise log-determinants."""

from __future__ import annotations

import torch
from torch import Tensor

__all__ = ["additive", "affine", "affine_inverse"]


def affine(
    x: Tensor, log_scale: Tensor, shift: Tensor, *, inverse: bool = False
) -> tuple[Tensor, Tensor]:
    r"""Elementwise affine map :math:`y = x \cdot e^{s} + t`, or its inverse.

    .. math::

        y = x e^{s} + t, \qquad \log\left|\frac{\partial y}{\partial x}\right| = s;
        \qquad x = (y - t) e^{-s}, \qquad \log\left|\frac{\partial x}{\partial y}\right| = -s.

    Args:
        x: Input of any shape (the output ``y`` when ``inverse``).
        log_scale: :math:`s`, broadcastable to ``x``.
        shift: :math:`t`, broadcastable to ``x``.
        inverse: Compute the inverse map.

    Returns:
        ``(y, log_det)``: the result and the elementwise log-derivative of the computed map.

    Example:
        >>> affine(torch.tensor([1.0]), torch.tensor([0.0]), torch.tensor([2.0]))
        (tensor([3.]), tensor([0.]))
        >>> affine(torch.tensor([3.0]), torch.tensor([0.0]), torch.tensor([2.0]), inverse=True)
        (tensor([1.]), tensor([-0.]))
    """
    if inverse:
        return affine_inverse(x, -log_scale, shift)
    return torch.addcmul(shift, x, torch.exp(log_scale)), log_scale


def affine_inverse(y: Tensor, neg_log_scale: Tensor, shift: Tensor) -> tuple[Tensor, Tensor]:
    r"""The inverse affine map :math:`x = (y - t) \cdot e^{-s}`, given the negated log-scale.

    Callers that can produce :math:`-s` directly (a clamp with a negated factor) save the
    negation that :func:`affine` with ``inverse=True`` performs.

    Returns:
        ``(x, log_det)`` with the elementwise log-derivative :math:`-s`.

    Example:
        >>> affine_inverse(torch.tensor([3.0]), torch.tensor([0.0]), torch.tensor([2.0]))
        (tensor([1.]), tensor([0.]))
    """
    return (y - shift) * torch.exp(neg_log_scale), neg_log_scale


def additive(x: Tensor, shift: Tensor, *, inverse: bool = False) -> tuple[Tensor, Tensor]:
    r"""Volume-preserving shift :math:`y = x + t` (NICE), or its inverse :math:`x = y - t`.

    Returns:
        ``(y, log_det)``; the log-derivative is exactly zero (a broadcast view, no allocation).

    Example:
        >>> additive(torch.tensor([1.0]), torch.tensor([2.0]))
        (tensor([3.]), tensor([0.]))
    """
    y = x - shift if inverse else x + shift
    return y, y.new_zeros(()).expand_as(y)
