"""Elementwise invertible activations: the logistic sigmoid and a two-sided (leaky) scaling."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor

__all__ = ["logistic", "two_sided_scale"]


def logistic(x: Tensor, *, inverse: bool = False) -> tuple[Tensor, Tensor]:
    r"""The sigmoid :math:`y = 1 / (1 + e^{-x})`, or its inverse, the logit.

    .. math::

        \log \sigma'(x) = -\operatorname{softplus}(x) - \operatorname{softplus}(-x),
        \qquad x = \log y - \log(1 - y), \qquad \log \frac{dx}{dy} = -\log y - \log(1 - y).

    Both log-derivatives are computed without overflow: through softplus forward, and from
    ``y`` directly (``log1p``) in reverse, which stays accurate for ``y`` near 0 or 1.

    Args:
        x: Input of any shape; values in :math:`(0, 1)` when ``inverse``.
        inverse: Compute the logit.

    Returns:
        ``(y, log_det)``: the result and the elementwise log-derivative of the computed map.

    Example:
        >>> logistic(torch.tensor([0.0, 200.0]))
        (tensor([0.5000, 1.0000]), tensor([  -1.3863, -200.0000]))
        >>> logistic(torch.tensor([0.5]), inverse=True)
        (tensor([0.]), tensor([1.3863]))
    """
    if inverse:
        log_y, log_1my = torch.log(x), torch.log1p(-x)
        return log_y - log_1my, -(log_y + log_1my)
    return torch.sigmoid(x), -F.softplus(x) - F.softplus(-x)


def two_sided_scale(
    x: Tensor, log_slope_pos: Tensor, log_slope_neg: Tensor, *, inverse: bool = False
) -> tuple[Tensor, Tensor]:
    r"""A leaky-ReLU-like bijection with positive slopes on both sides, or its inverse.

    .. math::

        y = x \, e^{a(x)}, \qquad a(x) = \begin{cases} a_+ & x > 0 \\ a_- & x < 0 \\
        (a_+ + a_-)/2 & x = 0 \end{cases}, \qquad \log\left|\frac{dy}{dx}\right| = a(x).

    The value at exactly zero, where the map has a kink, is FrEIA's (the mean log-slope; zero
    for the symmetric ``InvAutoAct``). The slopes are positive, so ``y`` has the sign of ``x``
    and the inverse reads the branch from ``y``.

    Args:
        x: Input of any shape (the output ``y`` when ``inverse``).
        log_slope_pos: :math:`a_+`, broadcastable to ``x``.
        log_slope_neg: :math:`a_-`, broadcastable to ``x``.
        inverse: Compute the inverse map.

    Returns:
        ``(y, log_det)``: the result and the elementwise log-derivative of the computed map.

    Example:
        >>> a_pos, a_neg = torch.tensor(0.5), torch.tensor(-0.5)
        >>> y, log_det = two_sided_scale(torch.tensor([2.0, -2.0]), a_pos, a_neg)
        >>> y, log_det
        (tensor([ 3.2974, -1.2131]), tensor([ 0.5000, -0.5000]))
        >>> two_sided_scale(y, a_pos, a_neg, inverse=True)[0]
        tensor([ 2., -2.])
    """
    # FrEIA's formula: a+ for x > 0, a- for x < 0, their mean at 0, with no branching on data.
    log_slope = log_slope_pos + 0.5 * (log_slope_neg - log_slope_pos) * (1 - torch.sign(x))
    if inverse:
        log_slope = -log_slope
    return x * torch.exp(log_slope), log_slope
