r"""Data transforms with exact log-dets: dequantisation, scaling to [0, 1], the logit transform.

Put them first in a network (data side), so that ``Flow.log_prob`` is the log-likelihood of the
raw data, and :func:`bits_per_dim` of it is the number images papers report:

.. math::

    \text{bits/dim} = -\frac{\log p(x)}{D \log 2}.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import torch
from torch import Tensor

from ..errors import ModuleArgumentError
from ..utils import ShapeList
from ._helpers import single_input_shape
from .base import InvertibleModule, Tensors

__all__ = ["LogitTransform", "ScaleToUnit", "UniformDequantization", "bits_per_dim"]


def bits_per_dim(log_prob: Tensor, shape: int | Sequence[int]) -> Tensor:
    r"""Bits per dimension :math:`-\log p(x) / (D \log 2)` of log-likelihoods in nats.

    Args:
        log_prob: Log-likelihoods, any shape.
        shape: The data shape (without batch axis) or its number of elements :math:`D`.

    Example:
        >>> bits_per_dim(torch.tensor([-64 * math.log(2.0)]), (1, 8, 8))
        tensor([1.])
    """
    dims = shape if isinstance(shape, int) else math.prod(shape)
    return -log_prob / (dims * math.log(2.0))


def _positive(owner: str, name: str, value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not value > 0 or \
            not math.isfinite(value):
        raise ModuleArgumentError(f"{owner}: {name} must be a finite number > 0, got {value!r}.")
    return float(value)


class _Elementwise(InvertibleModule):
    """Shared shape handling: one input, the same shape out, no conditions."""

    exact_inverse = True  # see InvertibleModule.exact_inverse

    def __init__(self, dims_in: Any, dims_c: Any = None) -> None:
        super().__init__(dims_in, dims_c)
        self._elements = math.prod(single_input_shape(self))

    def output_dims(self, input_dims: ShapeList) -> ShapeList:
        """The input shape."""
        return list(input_dims)


class UniformDequantization(_Elementwise):
    r"""Uniform dequantisation of integer levels :math:`\{0, \dots, L-1\}` to :math:`[0, 1)`.

    .. math::

        y = \frac{x + u}{L}, \quad u \sim \mathcal{U}[0, 1)^D; \qquad
        \log|\det J| = -D \log L; \qquad x = \lfloor L y \rfloor.

    The reverse pass is a straight-through quantiser: its values are the integer levels
    :math:`\lfloor L y \rfloor` and its gradient is that of :math:`L y - 1/2`, the exact inverse of
    the eval-mode map, so gradients flow through sampling and the reverse log-det
    :math:`+D \log L` is the log-determinant of that gradient.

    **Contract of a random transform.** In training mode the noise :math:`u` is fresh at every
    call, so the maximised :math:`\log p(y) - D\log L` is the variational lower bound on the
    discrete log-likelihood (Theis et al. 2016). In eval mode :math:`u = 1/2` (bin centres), so
    the module is a deterministic bijection on the grid and meets the usual contract (round
    trip, log-det against autograd, batch independence, ``state_dict``). In both modes the
    reverse pass is exact for integer inputs: ``rev(fwd(x)) == x``.

    Args:
        dims_in: One input shape.
        levels: The number of integer levels :math:`L` (e.g. 256 for 8-bit images).

    Raises:
        ModuleArgumentError: For ``levels`` that is not an int >= 2.

    Example:
        >>> deq = UniformDequantization([(3,)], levels=4).eval()
        >>> (y,), log_jac_det = deq([torch.tensor([[0.0, 1.0, 3.0]])])
        >>> y, log_jac_det
        (tensor([[0.1250, 0.3750, 0.8750]]), tensor([-4.1589]))
        >>> deq([y], rev=True)[0][0]
        tensor([[0., 1., 3.]])
    """

    exact_inverse = False  # the inverse floors: exact on the integer grid only


    def __init__(self, dims_in: Any, dims_c: Any = None, levels: int = 256) -> None:
        super().__init__(dims_in, dims_c)
        if isinstance(levels, bool) or not isinstance(levels, int) or levels < 2:
            raise ModuleArgumentError(
                f"UniformDequantization: levels must be an int >= 2, got {levels!r}.")
        self.levels = levels

    def _log_det(self, x: Tensor) -> Tensor:
        return x.new_full((x.shape[0],), -self._elements * math.log(self.levels))

    def _forward(self, x: Tensors, c: Tensors, jac: bool) -> tuple[Tensors, Tensor]:
        noise = torch.rand_like(x[0]) if self.training else torch.full_like(x[0], 0.5)
        return ((x[0] + noise) / self.levels,), self._log_det(x[0])

    def _inverse(self, z: Tensors, c: Tensors, jac: bool) -> tuple[Tensors, Tensor]:
        smooth = z[0] * self.levels - 0.5
        levels = torch.floor(z[0] * self.levels).clamp(0, self.levels - 1)
        # straight-through: the values of the quantiser, the gradient of the smooth inverse
        return (smooth + (levels - smooth).detach(),), -self._log_det(z[0])


class ScaleToUnit(_Elementwise):
    r"""Scale the range :math:`[\text{low}, \text{high}]` to :math:`[0, 1]`.

    .. math::

        y = \frac{x - \text{low}}{\text{high} - \text{low}}; \qquad
        \log|\det J| = -D \log(\text{high} - \text{low}).

    Args:
        dims_in: One input shape.
        low: The data's lower bound.
        high: The data's upper bound (``> low``).

    Raises:
        ModuleArgumentError: If ``high <= low``.

    Example:
        >>> scale = ScaleToUnit([(2,)], low=0.0, high=255.0)
        >>> scale([torch.tensor([[0.0, 255.0]])])[0][0]
        tensor([[0., 1.]])
    """

    def __init__(self, dims_in: Any, dims_c: Any = None, low: float = 0.0,
                 high: float = 1.0) -> None:
        super().__init__(dims_in, dims_c)
        self.low = float(low)
        self.width = _positive("ScaleToUnit", "high - low", float(high) - float(low))

    def _log_det(self, x: Tensor) -> Tensor:
        return x.new_full((x.shape[0],), -self._elements * math.log(self.width))

    def _forward(self, x: Tensors, c: Tensors, jac: bool) -> tuple[Tensors, Tensor]:
        return ((x[0] - self.low) / self.width,), self._log_det(x[0])

    def _inverse(self, z: Tensors, c: Tensors, jac: bool) -> tuple[Tensors, Tensor]:
        return (z[0] * self.width + self.low,), -self._log_det(z[0])


class LogitTransform(_Elementwise):
    r"""The logit transform of data in :math:`[0, 1]`, squeezed by :math:`\alpha` (Real NVP).

    .. math::

        p = \alpha + (1 - 2\alpha)\,x, \quad y = \log p - \log(1 - p); \qquad
        \log|\det J| = \sum \big[\log(1 - 2\alpha) - \log p - \log(1 - p)\big].

    The inverse is :math:`x = (\sigma(y) - \alpha) / (1 - 2\alpha)`. With :math:`\alpha > 0` the
    data's bounds map to finite values :math:`\pm\operatorname{logit}(\alpha)`.

    Args:
        dims_in: One input shape.
        alpha: Squeeze :math:`\alpha \in [0, 1/2)`; Real NVP uses 0.05 on CIFAR-10.

    Raises:
        ModuleArgumentError: For ``alpha`` outside ``[0, 0.5)``.

    Example:
        >>> logit = LogitTransform([(2,)], alpha=0.05)
        >>> (y,), log_jac_det = logit([torch.tensor([[0.0, 0.5]])])
        >>> y
        tensor([[-2.9444,  0.0000]])
    """

    def __init__(self, dims_in: Any, dims_c: Any = None, alpha: float = 0.05) -> None:
        super().__init__(dims_in, dims_c)
        if isinstance(alpha, bool) or not isinstance(alpha, (int, float)) or \
                not 0 <= alpha < 0.5:
            raise ModuleArgumentError(f"LogitTransform: alpha must be in [0, 0.5), got {alpha!r}.")
        self.alpha = float(alpha)

    def _forward(self, x: Tensors, c: Tensors, jac: bool) -> tuple[Tensors, Tensor]:
        p = self.alpha + (1 - 2 * self.alpha) * x[0]
        y = torch.log(p) - torch.log1p(-p)
        log_det = math.log(1 - 2 * self.alpha) - torch.log(p) - torch.log1p(-p)
        return (y,), log_det.flatten(1).sum(1)

    def _inverse(self, z: Tensors, c: Tensors, jac: bool) -> tuple[Tensors, Tensor]:
        p = torch.sigmoid(z[0])
        x = (p - self.alpha) / (1 - 2 * self.alpha)
        # log p + log(1 - p) = -softplus(-y) - softplus(y): stable for large |y|.
        log_p_1mp = -torch.nn.functional.softplus(-z[0]) - torch.nn.functional.softplus(z[0])
        log_det = log_p_1mp - math.log(1 - 2 * self.alpha)
        return (x,), log_det.flatten(1).sum(1)
