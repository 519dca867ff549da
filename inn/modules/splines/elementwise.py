"""FrEIA's per-element rational-quadratic spline, conditional or with learned parameters."""

from __future__ import annotations

from typing import Any

import torch
import torch.nn as nn
from torch import Tensor

from ...utils import ShapeList, sum_except_batch
from .._helpers import (
    check_condition_spatial_dims,
    require_subnet_constructor,
    single_input_shape,
)
from ..base import InvertibleModule, Tensors
from ..coupling.base import SubnetConstructor
from .binned import BinnedSplineSettings

__all__ = ["ElementwiseRationalQuadraticSpline"]


class ElementwiseRationalQuadraticSpline(BinnedSplineSettings, InvertibleModule):
    r"""A rational-quadratic spline applied to every element, as in FrEIA (not a coupling).

    With conditions, ``subnet (cc -> C·P)`` predicts the raw spline parameters from the
    concatenated conditions (which keep their dtype; FrEIA casts them to float32). Without,
    they are a learned tensor ``spline_parameters`` of shape ``(C·P, *spatial)``, initialised to
    zeros (the identity for a square ``default_domain``). ``P = 3K + 1`` (``3K`` with identity
    tails), constrained as in :class:`RationalQuadraticSpline`.

    .. math::

        y = \mathrm{RQS}(x; \theta(c)), \qquad \log|\det J| = \sum \log \mathrm{RQS}'(x).

    Args:
        dims_in: One input shape ``(C, *spatial)``.
        dims_c: Condition shapes ``(c_i, *spatial)``.
        subnet_constructor: ``(c_in, c_out) -> nn.Module``; needed with conditions, accepted
            and ignored without.
        bins: Number of bins ``K``.
        min_bin_sizes: Minimum bin ``(width, height)``.
        default_domain: ``(left, right, bottom, top)`` of the spline for zero raw parameters.
        identity_tails: Centre the domain at zero and use identity tails.
        domain_clamping: If set, the total width and height are soft-clamped to it.

    Raises:
        ModuleArgumentError: For bad spline settings, conditions whose spatial shape differs
            from the input's, or conditions without ``subnet_constructor``.

    References:
        Durkan, Bekasov, Murray, Papamakarios. Neural Spline Flows. arXiv:1906.04032.

    Example:
        >>> m = ElementwiseRationalQuadraticSpline([(3,)], bins=4)
        >>> x = torch.randn(2, 3)
        >>> (z,), log_jac_det = m([x])
        >>> torch.allclose(z, x, atol=1e-6), log_jac_det.abs().max() < 1e-6
        (True, tensor(True))
    """

    exact_inverse = True  # see InvertibleModule.exact_inverse

    def __init__(
        self,
        dims_in: Any,
        dims_c: Any = None,
        subnet_constructor: SubnetConstructor | None = None,
        bins: int = 10,
        *,
        min_bin_sizes: tuple[float, float] = (0.1, 0.1),
        default_domain: tuple[float, float, float, float] = (-3.0, 3.0, -3.0, 3.0),
        identity_tails: bool = False,
        domain_clamping: float | None = None,
    ) -> None:
        super().__init__(dims_in, dims_c)
        owner = type(self).__name__
        single_input_shape(self, conditions=True)
        self._init_settings(owner, True, bins, min_bin_sizes, default_domain, identity_tails,
                            domain_clamping)
        shape = self.dims_in[0]
        self.channels = shape[0]
        self.condition_length = sum(cond_shape[0] for cond_shape in self.dims_c)
        self.conditional = len(self.dims_c) > 0
        n_params = self.channels * self.n_raw_parameters
        if self.conditional:
            check_condition_spatial_dims(self, shape)
            constructor = require_subnet_constructor(subnet_constructor,
                                                     f"{owner} with conditions")
            self.subnet = constructor(self.condition_length, n_params)
        else:
            self.spline_parameters = nn.Parameter(torch.zeros(n_params, *shape[1:]))

    def _spline(self, x: Tensor, c: Tensors, inverse: bool) -> tuple[Tensors, Tensor]:
        if self.conditional:
            raw = self.subnet(torch.cat(c, dim=1))
        else:
            raw = self.spline_parameters.unsqueeze(0)
        out, log_det = self.spline(x.movedim(1, -1), self.feature_major(raw), inverse)
        return (out.movedim(-1, 1),), sum_except_batch(log_det)

    def _forward(self, x: Tensors, c: Tensors, jac: bool) -> tuple[Tensors, Tensor]:
        return self._spline(x[0], c, inverse=False)

    def _inverse(self, z: Tensors, c: Tensors, jac: bool) -> tuple[Tensors, Tensor]:
        return self._spline(z[0], c, inverse=True)

    def output_dims(self, input_dims: ShapeList) -> ShapeList:
        """The input shape."""
        return [tuple(shape) for shape in input_dims]
