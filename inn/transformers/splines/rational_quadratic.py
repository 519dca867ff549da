"""tfep's rational-quadratic ``NeuralSplineTransformer``: circular, learned bounds, y-domain."""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import Tensor

from ...errors import ModuleArgumentError
from ..functional import gather_pair, locate_bin, rational_quadratic_bin
from .base import SplineTransformer

__all__ = ["RationalQuadratic"]


class RationalQuadratic(SplineTransformer):
    r"""Rational-quadratic spline transformer (Durkan et al., 2019) with tfep's options.

    ``K = n_bins`` bins span :math:`[x_0, x_f]` in the input and :math:`[y_0, y_f]` in the
    output; outside, the map continues linearly with the end slopes. Per feature, the
    parameters (``P`` of them, parameter-major) are

    * ``[:K]`` widths and ``[K:2K]`` heights: softmax, scaled to the domain after reserving
      ``min_bin_size`` per bin;
    * then the knot slopes, :math:`\delta = \delta_{min} + \mathrm{softplus}(u + u_0)` with
      :math:`u_0` such that :math:`u = 0` gives slope 1: ``K+1`` of them, ``K-1`` with
      ``identity_boundary_slopes`` (the end slopes are then 1); a circular spline takes ``K``
      (the last equals the first) or ``K-1``;
    * ``circular``: a last shift :math:`\phi` (modulo the period :math:`p = x_f - x_0`), and
      :math:`y = \mathrm{spline}((x - x_0 + \phi) \bmod p + x_0)`;
    * learned bounds: a last domain scale :math:`e^{u}` that stretches the input and output
      intervals (their part beyond the reserved minimum bins) about the fixed bound, or about
      the centre when both bounds are learned; the latter also takes a domain shift at
      ``[-2]``. (tfep scales about the lower bound in that case; the centre keeps the shift
      and the scale independent.)

    So :math:`P = 3K + 1`, minus 2 with identity slopes, plus 1 or 2 for learned bounds; a
    circular spline has :math:`P = 3K + 1`, or :math:`3K` with identity slopes.

    .. math::

        \log\left|\frac{\partial y}{\partial x}\right| = \sum_i \log \mathrm{spline}'(x_i).

    Args:
        x0: First knot of the input domain (float or ``(n_features,)`` tensor).
        xf: Last knot of the input domain.
        n_bins: Number of bins ``K``.
        y0: First knot of the output domain (default ``x0``).
        yf: Last knot of the output domain (default ``xf``).
        circular: Treat the features as periodic on :math:`[x_0, x_f)`.
        identity_boundary_slopes: Fix the end slopes to 1 (identity tails when the domains are
            equal).
        learn_lower_bound: Learn the lower bounds (with a domain-scale parameter).
        learn_upper_bound: Learn the upper bounds.
        min_bin_size: Minimum width and height of a bin.
        min_slope: Minimum knot slope, in ``[0, 1)``.

    Raises:
        ModuleArgumentError: For ``n_bins < 1``, a negative ``min_bin_size``, ``min_slope``
            outside ``[0, 1)``, a decreasing domain or one too small for ``n_bins`` minimum bins,
            or a circular spline whose output domain differs from its input domain or whose
            bounds are learned.

    References:
        Durkan, Bekasov, Murray, Papamakarios. Neural Spline Flows. arXiv:1906.04032.
        Rezende et al. Normalizing Flows on Tori and Spheres. arXiv:2002.02428.

    Example:
        >>> t = RationalQuadratic(-3.0, 3.0, n_bins=4)
        >>> t.n_parameters_per_feature
        13
        >>> x = torch.linspace(-5.0, 5.0, 6).reshape(3, 2)
        >>> y, log_det = t(x, t.get_identity_parameters(2).expand(3, 26))
        >>> torch.allclose(y, x, atol=1e-6), log_det.abs().max() < 1e-6
        (True, tensor(True))
    """

    def __init__(
        self,
        x0: Tensor | float = -3.0,
        xf: Tensor | float = 3.0,
        n_bins: int = 8,
        y0: Tensor | float | None = None,
        yf: Tensor | float | None = None,
        *,
        circular: bool = False,
        identity_boundary_slopes: bool = False,
        learn_lower_bound: bool = False,
        learn_upper_bound: bool = False,
        min_bin_size: float = 1e-4,
        min_slope: float = 1e-4,
    ) -> None:
        super().__init__(x0, xf, n_bins, y0, yf, min_bin_size)
        owner = type(self).__name__
        if not 0 <= min_slope < 1:
            raise ModuleArgumentError(f"{owner}: min_slope must lie in [0, 1), got {min_slope!r}.")
        if circular and (learn_lower_bound or learn_upper_bound):
            raise ModuleArgumentError(
                f"{owner}: a circular spline cannot learn its bounds (got circular=True, "
                f"learn_lower_bound={learn_lower_bound}, learn_upper_bound={learn_upper_bound})."
            )
        if circular and not (torch.allclose(self.x0, self.y0) and
                             torch.allclose(self.xf, self.yf)):
            raise ModuleArgumentError(
                f"{owner}: a circular spline needs y0 == x0 and yf == xf, got "
                f"{self._domain_repr()}."
            )
        self.circular = bool(circular)
        self.identity_boundary_slopes = bool(identity_boundary_slopes)
        self.learn_lower_bound = bool(learn_lower_bound)
        self.learn_upper_bound = bool(learn_upper_bound)
        self.min_slope = float(min_slope)
        # Offsets the raw slopes so that a zero parameter gives slope 1 (tfep's convention).
        self.slope_offset = math.log(math.expm1(1.0 - self.min_slope))

    @property
    def n_slopes(self) -> int:
        """Number of free knot slopes per feature."""
        if self.identity_boundary_slopes:
            return self.n_bins - 1
        return self.n_bins if self.circular else self.n_bins + 1

    @property
    def n_parameters_per_feature(self) -> int:
        """``2K`` bin sizes, the free slopes, and the shift or domain parameters."""
        extra = int(self.circular) + int(self.learn_lower_bound) + int(self.learn_upper_bound)
        return 2 * self.n_bins + self.n_slopes + extra

    def _knot_slopes(self, raw: Tensor) -> Tensor:
        """The ``K+1`` knot slopes ``(..., K+1)`` (tfep's offset: a zero parameter gives 1)."""
        slopes = F.softplus(raw + self.slope_offset) + self.min_slope
        if self.identity_boundary_slopes:
            one = slopes.new_ones(()).expand(*slopes.shape[:-1], 1)
            return torch.cat((one, slopes, one), dim=-1)
        if self.circular:
            return torch.cat((slopes, slopes[..., :1]), dim=-1)
        return slopes

    def _transform(self, x: Tensor, parameters: Tensor, inverse: bool) -> tuple[Tensor, Tensor]:
        n_bins = self.n_bins
        params = parameters.movedim(1, -1)  # (B, F, *rest, P): bins last for the kernel
        x0, xf, y0, yf = self._bounds(x)
        width, height = xf - x0, yf - y0
        if self.learn_lower_bound or self.learn_upper_bound:
            reserved = n_bins * self.min_bin_size
            scale = torch.exp(params[..., -1])
            width = reserved + (width - reserved) * scale
            height = reserved + (height - reserved) * scale
        if self.learn_lower_bound and self.learn_upper_bound:
            shift = params[..., -2]
            lower_x = 0.5 * (x0 + xf - width) + shift
            lower_y = 0.5 * (y0 + yf - height) + shift
        elif self.learn_lower_bound:
            lower_x, lower_y = xf - width, yf - height
        else:
            lower_x, lower_y = x0, y0
        if self.circular:
            period, phase = xf - x0, params[..., -1]
            if not inverse:
                x = torch.remainder(x - x0 + phase, period) + x0
        sizes = self._bin_sizes(params[..., :2 * n_bins], width, height)
        position = x - (lower_y if inverse else lower_x)
        index, *bin_geometry = locate_bin(position, sizes.cumsum(-1), int(inverse))
        slopes = self._knot_slopes(params[..., 2 * n_bins:2 * n_bins + self.n_slopes])
        offset, log_det = rational_quadratic_bin(position, *bin_geometry,
                                                 *gather_pair(slopes, index), inverse=inverse)
        out = offset + (lower_x if inverse else lower_y)
        if self.circular and inverse:
            out = torch.remainder(out - x0 - phase, period) + x0
        return out, log_det

    def get_identity_parameters(self, n_features: int) -> Tensor:
        """Uniform bins with slopes :math:`(y_f - y_0)/(x_f - x_0)`: identity for equal domains.

        When the domains differ this is the linear map between them (with identity boundary
        slopes, the end slopes stay 1). Shift and domain parameters are zero.

        Raises:
            ModuleArgumentError: If the linear slope is not above ``min_slope``.
        """
        self._check_n_features(n_features)
        params = self.x0.new_zeros(self.n_parameters_per_feature, n_features)
        slope = ((self.yf - self.y0) / (self.xf - self.x0)).expand(n_features)
        if not bool((slope > self.min_slope).all()):
            raise ModuleArgumentError(
                f"{type(self).__name__}: the linear slope {slope.tolist()} between the domains "
                f"must exceed min_slope={self.min_slope} to build identity parameters."
            )
        raw = torch.log(torch.expm1(slope - self.min_slope)) - self.slope_offset
        start = 2 * self.n_bins
        params[start:start + self.n_slopes] = torch.where(slope == 1, 0.0, raw)
        return params.reshape(-1)

    def extra_repr(self) -> str:
        """The domain and the options."""
        return (f"{self._domain_repr()}, circular={self.circular}, "
                f"identity_boundary_slopes={self.identity_boundary_slopes}, "
                f"learn_lower_bound={self.learn_lower_bound}, "
                f"learn_upper_bound={self.learn_upper_bound}, "
                f"min_bin_size={self.min_bin_size}, min_slope={self.min_slope}")
