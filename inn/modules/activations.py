"""Elementwise invertible activations: sigmoid, learned leaky slopes, elementwise scaling."""

from __future__ import annotations

import warnings
from typing import Any

import torch
import torch.nn as nn
from torch import Tensor

from ..transformers.functional import affine, logistic, two_sided_scale
from ..utils import ShapeList, sum_except_batch
from ._helpers import log_of_positive, single_input_shape
from .base import InvertibleModule, Tensors

__all__ = [
    "InvAutoAct",
    "InvAutoActFixed",
    "InvAutoActTwoSided",
    "InvertibleSigmoid",
    "LearnedElementwiseScaling",
]


def _channel_parameter(shape: tuple[int, ...], value: float, learnable: bool) -> nn.Parameter:
    """A ``(1, C, 1, ...)`` parameter filled with ``value``, trainable if ``learnable``."""
    param_shape = (1, shape[0]) + (1,) * (len(shape) - 1)
    return nn.Parameter(torch.full(param_shape, value), requires_grad=learnable)


class _Elementwise(InvertibleModule):
    """Shared skeleton: one input of any rank, no conditions, same output shape."""

    exact_inverse = True  # see InvertibleModule.exact_inverse

    def __init__(self, dims_in: Any, dims_c: Any = None) -> None:
        super().__init__(dims_in, dims_c)
        self.tensor_rank = len(single_input_shape(self))

    def output_dims(self, input_dims: ShapeList) -> ShapeList:
        """The input shape."""
        return [tuple(input_dims[0])]


class InvertibleSigmoid(_Elementwise):
    r"""The logistic sigmoid, elementwise: :math:`y = \sigma(x)`; reverse :math:`x = \operatorname{logit}(y)`.

    .. math::

        y = \frac{1}{1 + e^{-x}}, \qquad
        \log|\det J| = \sum_i \log \sigma'(x_i)
        = -\sum_i \left(\operatorname{softplus}(x_i) + \operatorname{softplus}(-x_i)\right),

    summed over all non-batch axes (images too), computed without overflow. The reverse pass
    needs inputs in :math:`(0, 1)`.

    Args:
        dims_in: One input shape of any rank.
        dims_c: Must be empty.
        **kwargs: Passed on to :class:`InvertibleModule`, as in FrEIA.

    Raises:
        ModuleArgumentError: For several inputs or conditions.

    Example:
        >>> m = InvertibleSigmoid([(2, 2, 2)])
        >>> (y,), log_jac_det = m([torch.zeros(1, 2, 2, 2)])
        >>> y.unique(), log_jac_det
        (tensor([0.5000]), tensor([-11.0904]))
    """  # noqa: E501

    def __init__(self, dims_in: Any, dims_c: Any = None, **kwargs: Any) -> None:
        super().__init__(dims_in, dims_c, **kwargs)

    def _forward(self, x: Tensors, c: Tensors, jac: bool) -> tuple[Tensors, Tensor]:
        y, log_det = logistic(x[0])
        return (y,), sum_except_batch(log_det)

    def _inverse(self, z: Tensors, c: Tensors, jac: bool) -> tuple[Tensors, Tensor]:
        x, log_det = logistic(z[0], inverse=True)
        return (x,), sum_except_batch(log_det)


class InvAutoActTwoSided(_Elementwise):
    r"""A leaky-ReLU-like activation with learned slopes on both sides, per channel.

    .. math::

        y = x \cdot \begin{cases} e^{\alpha_+} & x \ge 0 \\ e^{\alpha_-} & x < 0 \end{cases},
        \qquad \log|\det J| = \sum_i \log \mathrm{slope}_i.

    ``alpha_pos`` and ``alpha_neg`` have shape ``(1, C, 1, ...)``. At exactly ``x = 0`` the
    log-det counts the mean log-slope, as in FrEIA.

    Args:
        dims_in: One input shape ``(C, ...)``.
        dims_c: Must be empty.
        init_pos: Initial slope :math:`e^{\alpha_+} > 0` for positive inputs.
        init_neg: Initial slope :math:`e^{\alpha_-} > 0` for negative inputs.
        learnable: Train the slopes; otherwise they stay at their initial values.

    Raises:
        ModuleArgumentError: For non-positive slopes, several inputs or conditions.

    Example:
        >>> m = InvAutoActTwoSided([(1,)], init_pos=2.0, init_neg=0.5)
        >>> (y,), log_jac_det = m([torch.tensor([[3.0], [-4.0]])])
        >>> y.detach(), log_jac_det.detach()
        (tensor([[ 6.],
                [-2.]]), tensor([ 0.6931, -0.6931]))
    """

    # approximate with the invertible-autoencoder family (API.md §8.1): kept, not recomputed
    exact_inverse = False

    def __init__(
        self,
        dims_in: Any,
        dims_c: Any = None,
        init_pos: float = 2.0,
        init_neg: float = 0.5,
        learnable: bool = True,
    ) -> None:
        super().__init__(dims_in, dims_c)
        owner, shape = type(self).__name__, self.dims_in[0]
        alpha_pos = log_of_positive(owner, "init_pos", init_pos)
        alpha_neg = log_of_positive(owner, "init_neg", init_neg)
        self.alpha_pos = _channel_parameter(shape, alpha_pos, learnable)
        self.alpha_neg = _channel_parameter(shape, alpha_neg, learnable)

    def _forward(self, x: Tensors, c: Tensors, jac: bool) -> tuple[Tensors, Tensor]:
        y, log_det = two_sided_scale(x[0], self.alpha_pos, self.alpha_neg)
        return (y,), sum_except_batch(log_det)

    def _inverse(self, z: Tensors, c: Tensors, jac: bool) -> tuple[Tensors, Tensor]:
        x, log_det = two_sided_scale(z[0], self.alpha_pos, self.alpha_neg, inverse=True)
        return (x,), sum_except_batch(log_det)


class InvAutoAct(_Elementwise):
    r"""A leaky-ReLU-like activation with one learned slope per channel, inverted on the negative side.

    .. math::

        y = x \, e^{\alpha \operatorname{sign}(x)}, \qquad
        \log|\det J| = \sum_i \alpha_i \operatorname{sign}(x_i).

    ``alpha`` has shape ``(1, C, 1, ...)``: slope :math:`e^\alpha` for positive and
    :math:`e^{-\alpha}` for negative inputs.

    Args:
        dims_in: One input shape ``(C, ...)``.
        dims_c: Must be empty.
        slope_init: Initial positive-side slope :math:`e^\alpha > 0`.
        learnable: Train the slopes; otherwise they stay at their initial values.

    Raises:
        ModuleArgumentError: For ``slope_init <= 0``, several inputs or conditions.

    Example:
        >>> m = InvAutoAct([(1,)], slope_init=2.0)
        >>> (y,), log_jac_det = m([torch.tensor([[3.0], [-4.0]])])
        >>> y.detach(), log_jac_det.detach()
        (tensor([[ 6.],
                [-2.]]), tensor([ 0.6931, -0.6931]))
    """  # noqa: E501

    # approximate with the invertible-autoencoder family (API.md §8.1): kept, not recomputed
    exact_inverse = False

    def __init__(
        self, dims_in: Any, dims_c: Any = None, slope_init: float = 2.0, learnable: bool = True
    ) -> None:
        super().__init__(dims_in, dims_c)
        alpha = log_of_positive(type(self).__name__, "slope_init", slope_init)
        self.alpha = _channel_parameter(self.dims_in[0], alpha, learnable)

    def _forward(self, x: Tensors, c: Tensors, jac: bool) -> tuple[Tensors, Tensor]:
        y, log_det = two_sided_scale(x[0], self.alpha, -self.alpha)
        return (y,), sum_except_batch(log_det)

    def _inverse(self, z: Tensors, c: Tensors, jac: bool) -> tuple[Tensors, Tensor]:
        x, log_det = two_sided_scale(z[0], self.alpha, -self.alpha, inverse=True)
        return (x,), sum_except_batch(log_det)


class InvAutoActFixed(InvAutoAct):
    """Deprecated alias of :class:`InvAutoAct`; warns, and stays learnable unless ``learnable=False``.

    Example:
        >>> import warnings
        >>> with warnings.catch_warnings(record=True) as caught:
        ...     warnings.simplefilter("always")
        ...     m = InvAutoActFixed([(3,)])
        >>> caught[0].category.__name__, m.alpha.requires_grad
        ('DeprecationWarning', True)
    """  # noqa: E501

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        warnings.warn(
            "InvAutoActFixed is deprecated: use InvAutoAct (learnable=False for fixed slopes).",
            DeprecationWarning,
            stacklevel=2,
        )


class LearnedElementwiseScaling(_Elementwise):
    r"""Scale every element by its own learned positive factor: :math:`y = x \odot e^{s}`.

    .. math::

        y = x \odot e^{s}, \qquad \log|\det J| = \sum_i s_i; \qquad x = y \odot e^{-s},
        \quad \text{reverse log-det} -\sum_i s_i.

    ``s`` has shape ``(1, *dims_in[0])``: one factor per element, not per channel.

    Args:
        dims_in: One input shape of any rank.
        dims_c: Must be empty.
        init_scale: The initial factor :math:`e^{s} > 0`.

    Raises:
        ModuleArgumentError: For ``init_scale <= 0``, several inputs or conditions.

    Example:
        >>> m = LearnedElementwiseScaling([(2,)], init_scale=2.0)
        >>> (y,), log_jac_det = m([torch.ones(1, 2)])
        >>> y.detach(), log_jac_det.detach()
        (tensor([[2., 2.]]), tensor([1.3863]))
        >>> m([y], rev=True)[1].detach()
        tensor([-1.3863])
    """

    def __init__(self, dims_in: Any, dims_c: Any = None, init_scale: float = 1.0) -> None:
        super().__init__(dims_in, dims_c)
        s = log_of_positive(type(self).__name__, "init_scale", init_scale)
        self.s = nn.Parameter(torch.full((1, *self.dims_in[0]), s))

    def _forward(self, x: Tensors, c: Tensors, jac: bool) -> tuple[Tensors, Tensor]:
        y, _ = affine(x[0], self.s, self.s.new_zeros(()))
        return (y,), self.s.sum().repeat(x[0].shape[0])

    def _inverse(self, z: Tensors, c: Tensors, jac: bool) -> tuple[Tensors, Tensor]:
        x, _ = affine(z[0], self.s, self.s.new_zeros(()), inverse=True)
        return (x,), -self.s.sum().repeat(z[0].shape[0])
