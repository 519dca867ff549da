"""FrEIA's binned-spline settings: validation, buffers, and the constraints on raw parameters."""

from __future__ import annotations

import math

import torch
import torch.nn as nn
import torch.nn.functional as F
from torch import Tensor

from ...errors import ModuleArgumentError
from ...transformers.functional import linear_spline_bin, locate_bin, rational_quadratic_bin

__all__ = ["LOG_E_MINUS_1", "BinnedSplineParameters", "BinnedSplineSettings"]

# softplus(u + log(e - 1)) is 1 at u = 0: FrEIA's shift for knot slopes and the total width.
LOG_E_MINUS_1 = math.log(math.e - 1.0)


def _check_settings(owner: str, bins: int, min_bin_sizes: tuple[float, float],
                    default_domain: tuple[float, float, float, float],
                    domain_clamping: float | None) -> None:
    if isinstance(bins, bool) or not isinstance(bins, int) or bins < 1:
        raise ModuleArgumentError(f"{owner}: bins must be an int >= 1, got {bins!r}.")
    if len(min_bin_sizes) != 2 or not all(size >= 0 for size in min_bin_sizes):
        raise ModuleArgumentError(
            f"{owner}: min_bin_sizes must be two sizes >= 0 (x, y), got {min_bin_sizes!r}."
        )
    if len(default_domain) != 4:
        raise ModuleArgumentError(
            f"{owner}: default_domain must be (left, right, bottom, top), got "
            f"{default_domain!r}."
        )
    for axis, low, high, min_size in (("x", 0, 1, min_bin_sizes[0]),
                                      ("y", 2, 3, min_bin_sizes[1])):
        size = default_domain[high] - default_domain[low]
        if not size > 0:
            raise ModuleArgumentError(
                f"{owner}: the {axis} domain must be increasing, got default_domain="
                f"{tuple(default_domain)}."
            )
        if not size >= bins * min_size:
            raise ModuleArgumentError(
                f"{owner}: {bins} bins of minimum size {min_size} do not fit the {axis} domain "
                f"[{default_domain[low]}, {default_domain[high]}] of default_domain."
            )
    if domain_clamping is not None and not domain_clamping > 0:
        raise ModuleArgumentError(
            f"{owner}: domain_clamping must be None or > 0, got {domain_clamping!r}."
        )


class BinnedSplineSettings:
    """Mixin for ``nn.Module``: FrEIA's spline buffers (same names) and parameter constraints.

    The raw parameters of one feature are, in FrEIA's key order: ``widths (K)``, ``heights
    (K)``, then ``bottom (1)`` and ``left (1)``, or ``total_width (1)`` with identity tails,
    then ``deltas (K-1)`` for rational-quadratic splines.
    """

    def _init_settings(self, owner: str, rational: bool, bins: int,
                       min_bin_sizes: tuple[float, float],
                       default_domain: tuple[float, float, float, float],
                       identity_tails: bool, domain_clamping: float | None) -> None:
        _check_settings(owner, bins, tuple(min_bin_sizes), tuple(default_domain),
                        domain_clamping)
        dtype = torch.get_default_dtype()
        self.register_buffer("bins", torch.tensor(bins, dtype=torch.int32))
        self.register_buffer("min_bin_sizes", torch.as_tensor(min_bin_sizes, dtype=dtype))
        self.register_buffer("default_domain", torch.as_tensor(default_domain, dtype=dtype))
        self.register_buffer("identity_tails", torch.tensor(bool(identity_tails)))
        self.register_buffer(
            "default_width",
            torch.as_tensor(default_domain[1] - default_domain[0], dtype=dtype),
        )
        self.domain_clamping = domain_clamping
        # Python copies of the integer and flag buffers: branching on them needs no host sync.
        self.n_bins = bins
        self.rational = rational
        self.use_identity_tails = bool(identity_tails)

    @property
    def n_raw_parameters(self) -> int:
        """Raw parameters per feature: ``3K+1`` (RQ) or ``2K+2``, less 1 with identity tails."""
        count = 2 * self.n_bins + (1 if self.use_identity_tails else 2)
        return count + (self.n_bins - 1 if self.rational else 0)

    def feature_major(self, raw: Tensor) -> Tensor:
        """View FrEIA's ``(B, F·P, *rest)`` net output as ``(B, *rest, F, P)``."""
        return raw.movedim(1, -1).unflatten(-1, (-1, self.n_raw_parameters))

    def _clamp_domain(self, size: Tensor) -> Tensor:
        if self.domain_clamping is None:
            return size
        return self.domain_clamping * torch.tanh(size / self.domain_clamping)

    def spline(self, x: Tensor, raw: Tensor, inverse: bool) -> tuple[Tensor, Tensor]:
        """Apply the spline that FrEIA's raw parameters describe to ``x`` (features last).

        Args:
            x: ``(..., F)``, the transformed features last.
            raw: ``(..., F, P)`` raw parameters (broadcastable), see :meth:`feature_major`.
            inverse: Compute the inverse.

        Returns:
            ``(y, log_det)`` with the elementwise log-derivative of the computed map.
        """
        sizes, left, bottom = self.bins_and_corner(raw)
        cumulative = sizes.cumsum(-1)
        position = x - (bottom if inverse else left)
        index, *bin_geometry = locate_bin(position, cumulative, int(inverse))
        total_width, total_height = cumulative[..., 0, -1], cumulative[..., 1, -1]
        if self.rational:
            d_lower, d_upper = self._bin_slopes(raw, index, total_height / total_width)
            offset, log_det = rational_quadratic_bin(position, *bin_geometry, d_lower, d_upper,
                                                     inverse=inverse)
        else:
            offset, log_det = linear_spline_bin(position, *bin_geometry, total_width,
                                                total_height, inverse=inverse)
        return offset + (left if inverse else bottom), log_det

    def bins_and_corner(self, raw: Tensor) -> tuple[Tensor, Tensor, Tensor]:
        """FrEIA's constraints: bin sizes ``(..., 2, K)`` (widths, heights), ``left``, ``bottom``.

        Default tails: ``left``/``bottom`` are offsets from the default domain, and bin sizes
        are ``min + softplus(raw + shift)`` with the shift giving default-size bins at zero;
        ``domain_clamping`` rescales them to a total of ``dc·tanh(total/dc)``. Identity tails:
        a total size ``(x_max - x_min)·softplus(raw + log(e-1))`` (clamped the same way)
        centred at zero, split by a softmax.
        """
        n_bins = self.n_bins
        raw_sizes = raw[..., :2 * n_bins].unflatten(-1, (2, n_bins))
        if self.use_identity_tails:
            total = self._clamp_domain(
                self.default_width * F.softplus(raw[..., 2 * n_bins] + LOG_E_MINUS_1))
            sizes = torch.softmax(raw_sizes, dim=-1) * total[..., None, None]
            return sizes, -0.5 * total, -0.5 * total
        return self._default_bins(raw_sizes, raw[..., 2 * n_bins + 1], raw[..., 2 * n_bins])

    def _bin_slopes(self, raw: Tensor, index: Tensor, tail_slope: Tensor) -> tuple[Tensor, ...]:
        """Slopes at both knots of each point's bin (the tail slope at the domain's ends).

        Inner slopes are ``softplus(raw + log(e-1))``; only the two raw values a point needs
        are gathered and activated, not all ``K-1``.
        """
        first = 2 * self.n_bins + (0 if self.use_identity_tails else 1)  # column of slope 0
        columns = torch.cat((index, index + 1), dim=-1) + first
        columns = columns.clamp(max=self.n_raw_parameters - 1)  # the ends use the tail slope
        raw = raw.expand(*index.shape[:-1], raw.shape[-1])
        slopes = F.softplus(raw.gather(-1, columns) + LOG_E_MINUS_1)
        index = index.squeeze(-1)
        d_lower = torch.where(index == 0, tail_slope, slopes[..., 0])
        d_upper = torch.where(index == self.n_bins - 1, tail_slope, slopes[..., 1])
        return d_lower, d_upper

    def _default_bins(self, raw_sizes: Tensor, raw_left: Tensor,
                      raw_bottom: Tensor) -> tuple[Tensor, Tensor, Tensor]:
        """Bin sizes ``(..., 2, K)`` and the lower-left corner without identity tails."""
        domain = self.default_domain
        # Per-bin (2, K) tables rather than (2, 1) columns: broadcasting along the short bins
        # axis is several times slower on CPU.
        min_sizes = self.min_bin_sizes.unsqueeze(-1).expand(2, self.n_bins).contiguous()
        default_sizes = ((domain[1::2] - domain[0::2]) / self.n_bins).unsqueeze(-1)
        shifts = torch.log(torch.expm1(default_sizes - min_sizes))
        sizes = min_sizes + F.softplus(raw_sizes + shifts)
        left, bottom = raw_left + domain[0], raw_bottom + domain[2]
        if self.domain_clamping is not None:
            totals = sizes.sum(-1)
            resize = self._clamp_domain(totals) / totals
            sizes = sizes * resize.unsqueeze(-1)
            left, bottom = left * resize[..., 0], bottom * resize[..., 1]
        return sizes, left, bottom


class BinnedSplineParameters(BinnedSplineSettings, nn.Module):
    """Holder of FrEIA's spline buffers for the couplings (FrEIA's ``spline_base``).

    Example:
        >>> base = BinnedSplineParameters("RationalQuadraticSpline", True, 4)
        >>> base.n_raw_parameters, sorted(base.state_dict())[:2]
        (13, ['bins', 'default_domain'])
    """

    def __init__(self, owner: str, rational: bool, bins: int = 10,
                 min_bin_sizes: tuple[float, float] = (0.1, 0.1),
                 default_domain: tuple[float, float, float, float] = (-3.0, 3.0, -3.0, 3.0),
                 identity_tails: bool = False, domain_clamping: float | None = None) -> None:
        super().__init__()
        self._init_settings(owner, rational, bins, min_bin_sizes, default_domain,
                            identity_tails, domain_clamping)
