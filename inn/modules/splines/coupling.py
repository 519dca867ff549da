"""FrEIA's spline couplings (rational-quadratic and linear) on the shared coupling base."""

from __future__ import annotations

from typing import Any

from torch import Tensor

from ...transformers import Transformer
from ..coupling.base import CouplingBase, SubnetConstructor
from .binned import BinnedSplineParameters

__all__ = [
    "BinnedSplineCoupling",
    "BinnedSplineTransformer",
    "LinearSpline",
    "RationalQuadraticSpline",
]


class BinnedSplineTransformer(Transformer):
    r"""The transformer of FrEIA's spline couplings: FrEIA's raw parameters, FrEIA's layout.

    Per feature it takes FrEIA's ``P`` raw parameters (widths, heights, bottom/left or total
    width, slopes) and applies FrEIA's constraints from the coupling's ``spline_base``
    (:class:`BinnedSplineParameters`) before the shared kernels of
    :mod:`inn.transformers.functional`. Unlike other transformers the parameters are
    **feature-major**, FrEIA's layout: ``(B, F·P, *rest)`` is viewed as ``(B, F, P, *rest)``,
    so FrEIA checkpoints give FrEIA's results and no reordering copy is made. It holds no
    tensors: ``settings`` is a plain reference (not a submodule), so FrEIA's buffers appear once
    in the ``state_dict``, under FrEIA's key ``spline_base``.

    Args:
        settings: The coupling's spline settings.

    Example:
        >>> settings = BinnedSplineParameters("LinearSpline", False, bins=2)
        >>> t = BinnedSplineTransformer(settings)
        >>> x = torch.tensor([[0.5]])
        >>> t(x, torch.zeros(1, t.n_parameters_per_feature))  # zero parameters: the identity
        (tensor([[0.5000]]), tensor([0.]))
    """

    def __init__(self, settings: BinnedSplineParameters) -> None:
        super().__init__()
        object.__setattr__(self, "settings", settings)

    @property
    def n_parameters_per_feature(self) -> int:
        """FrEIA's ``P``: ``3K + 1`` (RQ) or ``2K + 2``, one less with identity tails."""
        return self.settings.n_raw_parameters

    def unflatten_parameters(self, x: Tensor, parameters: Tensor) -> Tensor:
        """View feature-major ``(B, F·P, *rest)`` parameters as ``(B, F, *rest, P)``."""
        super().unflatten_parameters(x, parameters)  # the shape check
        return parameters.unflatten(1, (x.shape[1], -1)).movedim(2, -1)

    def _transform(self, x: Tensor, parameters: Tensor, inverse: bool) -> tuple[Tensor, Tensor]:
        return self.settings.spline(x, parameters, inverse)


class BinnedSplineCoupling(CouplingBase):
    """FrEIA's two-sided spline coupling: ``subnet1`` for ``x1``, then ``subnet2`` for ``x2``.

    Subclasses set ``_rational``. The subnets predict FrEIA's raw parameters in its
    feature-major layout, and :class:`BinnedSplineTransformer` applies FrEIA's constraints and
    the shared spline kernel.
    """

    _steps = ((0, "subnet1"), (1, "subnet2"))
    _rational: bool

    def __init__(
        self,
        dims_in: Any,
        dims_c: Any = None,
        subnet_constructor: SubnetConstructor | None = None,
        split_len: float | int = 0.5,
        *,
        bins: int = 10,
        min_bin_sizes: tuple[float, float] = (0.1, 0.1),
        default_domain: tuple[float, float, float, float] = (-3.0, 3.0, -3.0, 3.0),
        identity_tails: bool = False,
        domain_clamping: float | None = None,
    ) -> None:
        owner = type(self).__name__
        spline_base = BinnedSplineParameters(owner, self._rational, bins, min_bin_sizes,
                                             default_domain, identity_tails, domain_clamping)
        super().__init__(dims_in, dims_c, transformer=BinnedSplineTransformer(spline_base),
                         split_len=split_len)
        self.spline_base = spline_base
        constructor = self._require_subnet_constructor(subnet_constructor, owner)
        self.subnet1 = constructor(*self.subnet_dims(0))
        self.subnet2 = constructor(*self.subnet_dims(1))


class RationalQuadraticSpline(BinnedSplineCoupling):
    r"""FrEIA's rational-quadratic spline coupling (Durkan et al., 2019), two-sided.

    ``subnet1 (l2+cc -> l1·P)`` predicts the spline of :math:`x_1` from :math:`[x_2, c]`,
    then ``subnet2 (l1+cc -> l2·P)`` that of :math:`x_2` from :math:`[y_1, c]`, with
    :math:`P = 3K + 1` (``3K`` with identity tails) raw parameters per feature in FrEIA's
    feature-major layout. Inside :math:`(\text{left}, \text{left} + \sum w]` each feature goes
    through the monotone rational-quadratic spline; outside, through the line of slope
    :math:`\sum h / \sum w` (the identity with ``identity_tails``).

    .. math::

        y_1 = \mathrm{RQS}(x_1; \theta_1([x_2, c])), \quad
        y_2 = \mathrm{RQS}(x_2; \theta_2([y_1, c])), \quad
        \log|\det J| = \sum \log \mathrm{RQS}'.

    Args:
        dims_in: One input shape ``(C, *spatial)``.
        dims_c: Condition shapes ``(c_i, *spatial)``.
        subnet_constructor: ``(c_in, c_out) -> nn.Module``.
        split_len: Length ``l1`` of the first part (fraction or int).
        bins: Number of bins ``K``.
        min_bin_sizes: Minimum bin ``(width, height)`` (not used with identity tails).
        default_domain: ``(left, right, bottom, top)`` of the spline for a zero net output.
        identity_tails: Centre the domain at zero and use identity tails.
        domain_clamping: If set, the total width and height are soft-clamped to it.

    Raises:
        ModuleArgumentError: Without ``subnet_constructor``; for ``bins < 1``, negative minimum
            sizes, a decreasing domain or one too small for ``bins`` minimum bins; a bad
            ``split_len`` or condition shape.

    References:
        Durkan, Bekasov, Murray, Papamakarios. Neural Spline Flows. arXiv:1906.04032.

    Example:
        >>> import torch.nn as nn
        >>> block = RationalQuadraticSpline([(4,)], subnet_constructor=nn.Linear, bins=6)
        >>> x = 2 * torch.randn(5, 4)
        >>> (z,), log_jac_det = block([x])
        >>> (x_rec,), _ = block([z], rev=True)
        >>> torch.allclose(x, x_rec, atol=1e-5), log_jac_det.shape
        (True, torch.Size([5]))
    """

    _rational = True


class LinearSpline(BinnedSplineCoupling):
    r"""FrEIA's piecewise-linear spline coupling, two-sided, with linear tails.

    Like :class:`RationalQuadraticSpline` (same arguments and layout) with straight chords
    between the knots and :math:`P = 2K + 2` raw parameters per feature (``2K + 1`` with
    identity tails):

    .. math::

        y = y^k + \frac{h_k}{w_k}(x - x^k), \qquad \log|\det J| = \sum \log\frac{h_k}{w_k}.

    Args:
        dims_in: One input shape ``(C, *spatial)``.
        dims_c: Condition shapes ``(c_i, *spatial)``.
        subnet_constructor: ``(c_in, c_out) -> nn.Module``.
        split_len: Length ``l1`` of the first part (fraction or int).
        bins: Number of bins ``K``.
        min_bin_sizes: Minimum bin ``(width, height)``.
        default_domain: ``(left, right, bottom, top)`` of the spline for a zero net output.
        identity_tails: Centre the domain at zero and use identity tails.
        domain_clamping: If set, the total width and height are soft-clamped to it.

    Raises:
        ModuleArgumentError: As :class:`RationalQuadraticSpline`.

    Example:
        >>> import torch.nn as nn
        >>> block = LinearSpline([(3,)], subnet_constructor=nn.Linear, bins=4)
        >>> x = torch.randn(2, 3)
        >>> (z,), _ = block([x])
        >>> torch.allclose(block([z], rev=True)[0][0], x, atol=1e-5)
        True
    """

    _rational = False
