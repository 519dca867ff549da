"""The monotone piecewise-linear spline transformer."""

from __future__ import annotations

from torch import Tensor

from ..functional import linear_spline_bin, locate_bin
from .base import SplineTransformer

__all__ = ["Linear"]


class Linear(SplineTransformer):
    r"""Monotone piecewise-linear spline transformer with linear tails.

    ``K = n_bins`` bins span :math:`[x_0, x_f]` and :math:`[y_0, y_f]`. The ``P = 2K``
    parameters per feature are the raw widths ``[:K]`` and heights ``[K:2K]`` (softmax, scaled
    to the domain after reserving ``min_bin_size`` per bin). Outside the domain the slope is
    :math:`(y_f - y_0)/(x_f - x_0)`.

    .. math::

        y = y^k + \frac{h_k}{w_k}(x - x^k), \qquad
        \log\left|\frac{\partial y}{\partial x}\right| = \sum_i \log\frac{h_{k_i}}{w_{k_i}}.

    Args:
        x0: First knot of the input domain (float or ``(n_features,)`` tensor).
        xf: Last knot of the input domain.
        n_bins: Number of bins ``K``.
        y0: First knot of the output domain (default ``x0``).
        yf: Last knot of the output domain (default ``xf``).
        min_bin_size: Minimum width and height of a bin.

    Raises:
        ModuleArgumentError: For ``n_bins < 1``, a negative ``min_bin_size``, or a decreasing
            domain or one too small for ``n_bins`` minimum bins.

    Example:
        >>> t = Linear(0.0, 1.0, n_bins=2, y0=0.0, yf=2.0)
        >>> y, log_det = t(torch.tensor([[0.25, 3.0]]), t.get_identity_parameters(2)[None])
        >>> y, log_det
        (tensor([[0.5000, 6.0000]]), tensor([1.3863]))
    """

    def __init__(
        self,
        x0: Tensor | float = -3.0,
        xf: Tensor | float = 3.0,
        n_bins: int = 8,
        y0: Tensor | float | None = None,
        yf: Tensor | float | None = None,
        *,
        min_bin_size: float = 1e-4,
    ) -> None:
        super().__init__(x0, xf, n_bins, y0, yf, min_bin_size)

    @property
    def n_parameters_per_feature(self) -> int:
        """``2K``: raw widths and heights."""
        return 2 * self.n_bins

    def _transform(self, x: Tensor, parameters: Tensor, inverse: bool) -> tuple[Tensor, Tensor]:
        params = parameters.movedim(1, -1)
        x0, xf, y0, yf = self._bounds(x)
        sizes = self._bin_sizes(params, xf - x0, yf - y0)
        cumulative = sizes.cumsum(-1)
        position = x - (y0 if inverse else x0)
        _, *bin_geometry = locate_bin(position, cumulative, int(inverse))
        offset, log_det = linear_spline_bin(position, *bin_geometry, cumulative[..., 0, -1],
                                            cumulative[..., 1, -1], inverse=inverse)
        return offset + (x0 if inverse else y0), log_det

    def get_identity_parameters(self, n_features: int) -> Tensor:
        """Zeros: uniform bins, the linear map between the domains (the identity if equal)."""
        self._check_n_features(n_features)
        return self.x0.new_zeros(self.n_parameters_per_feature * n_features)

    def extra_repr(self) -> str:
        """The domain and the minimum bin size."""
        return f"{self._domain_repr()}, min_bin_size={self.min_bin_size}"
