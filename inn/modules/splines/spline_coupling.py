"""``SplineCouplingBlock``: the general coupling with tfep's rational-quadratic spline."""

from __future__ import annotations

from typing import Any

from torch import Tensor

from ...transformers import RationalQuadratic
from ..coupling import CouplingBlock, SubnetConstructor

__all__ = ["SplineCouplingBlock"]


class SplineCouplingBlock(CouplingBlock):
    r"""Rational-quadratic spline coupling with every option of tfep's spline transformer.

    A :class:`~inn.modules.CouplingBlock` whose transformer is
    :class:`~inn.transformers.RationalQuadratic`: the subnet predicts, from the passive part and
    the conditions, ``P`` parameter-major spline parameters per active feature (tfep's layout,
    see the transformer for ``P``):

    .. math::

        y_b = \mathrm{RQS}\big(x_b;\ \theta(x_a, c)\big), \qquad
        \log|\det J| = \sum \log \mathrm{RQS}'(x_b).

    Args:
        dims_in: One input shape ``(C, *spatial)``.
        dims_c: Condition shapes ``(c_i, *spatial)``.
        subnet_constructor: ``(c_in, c_out) -> nn.Module``.
        x0: First knot of the input domain (float or ``(n_features,)`` tensor).
        xf: Last knot of the input domain.
        n_bins: Number of bins ``K``.
        y0: First knot of the output domain (default ``x0``).
        yf: Last knot of the output domain (default ``xf``).
        circular: Periodic features on :math:`[x_0, x_f)` with a learned shift.
        identity_boundary_slopes: Fix the end slopes to 1.
        learn_lower_bound: Learn the lower bounds of the domains.
        learn_upper_bound: Learn the upper bounds of the domains.
        min_bin_size: Minimum width and height of a bin.
        min_slope: Minimum knot slope, in ``[0, 1)``.
        split_len: Length of the passive first part (FrEIA's rules).
        mask: Bool channel or element mask, ``True`` = passive.
        two_sided: Also transform the passive part, from the transformed active part.
        init_identity: Start as the identity (the spline's identity parameters as last bias).
        num_masked: TFP's number of passive channels (negative: the last ones).
        fraction_masked: TFP's fraction of passive channels.

    Raises:
        ModuleArgumentError: For bad spline options (see
            :class:`~inn.transformers.RationalQuadratic`) or coupling options (see
            :class:`~inn.modules.CouplingBlock`).

    References:
        Durkan, Bekasov, Murray, Papamakarios. Neural Spline Flows. arXiv:1906.04032.

    Example:
        >>> import torch.nn as nn
        >>> block = SplineCouplingBlock([(4,)], subnet_constructor=nn.Linear, n_bins=5,
        ...                             circular=True, init_identity=True)
        >>> x = 2.0 * torch.rand(3, 4) - 1.0
        >>> (z,), log_jac_det = block([x])
        >>> torch.allclose(z, x, atol=1e-5), log_jac_det.abs().max() < 1e-5
        (True, tensor(True))
    """

    def __init__(
        self,
        dims_in: Any,
        dims_c: Any = None,
        subnet_constructor: SubnetConstructor | None = None,
        *,
        x0: Tensor | float = -3.0,
        xf: Tensor | float = 3.0,
        n_bins: int = 8,
        y0: Tensor | float | None = None,
        yf: Tensor | float | None = None,
        circular: bool = False,
        identity_boundary_slopes: bool = False,
        learn_lower_bound: bool = False,
        learn_upper_bound: bool = False,
        min_bin_size: float = 1e-4,
        min_slope: float = 1e-4,
        split_len: float | int = 0.5,
        mask: Tensor | None = None,
        two_sided: bool = False,
        init_identity: bool = False,
        num_masked: int | None = None,
        fraction_masked: float | None = None,
    ) -> None:
        transformer = RationalQuadratic(
            x0, xf, n_bins, y0, yf, circular=circular,
            identity_boundary_slopes=identity_boundary_slopes,
            learn_lower_bound=learn_lower_bound, learn_upper_bound=learn_upper_bound,
            min_bin_size=min_bin_size, min_slope=min_slope,
        )
        super().__init__(dims_in, dims_c, transformer=transformer,
                         subnet_constructor=subnet_constructor, split_len=split_len, mask=mask,
                         two_sided=two_sided, init_identity=init_identity,
                         num_masked=num_masked, fraction_masked=fraction_masked)
