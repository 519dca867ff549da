"""Affine (soft-clamped scale and shift) and additive (NICE) transformers."""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import Tensor

from ..errors import ModuleArgumentError
from ..utils import sum_except_batch
from ..validation import check_clamp
from .base import Transformer
from .functional import (
    ATAN_CLAMP_SCALE,
    additive,
    affine,
    affine_inverse,
    atan_activation,
    resolve_clamp_activation,
    soft_clamp,
)

# Axes over which ``center_log_scale`` takes the mean of the log-scales (0 is the batch axis).
_CENTER_OPTIONS = ("channel", "all")

__all__ = ["Additive", "Affine"]


class Affine(Transformer):
    r"""Affine transformer :math:`y = x \cdot e^{c f(u)} + t` with FrEIA's soft clamp.

    Parameters per feature: ``[u, t]`` (``P = 2``). The log-scale :math:`s = c \cdot f(u)` is
    bounded by the clamp :math:`c`; ``clamp=None`` uses :math:`s = u` unclamped. With
    ``center_log_scale`` the mean of :math:`s` is subtracted (GIN, Sorrenson et al., 2020), which
    makes the map volume preserving. ``pre_scale`` :math:`p` multiplies both raw parameters
    first, :math:`s = c f(p u)` and shift :math:`p t` (``AllInOneBlock`` uses 0.1):

    .. math::

        \log\left|\frac{\partial y}{\partial x}\right| = \sum_i s_i
        \quad (\text{exactly } 0 \text{ when centred}).

    Args:
        clamp: The bound :math:`c` on the log-scale, or ``None``.
        clamp_activation: ``"ATAN"`` (:math:`0.636 \arctan`), ``"TANH"``, ``"SIGMOID"`` or a
            callable mapping :math:`\pm\infty` to :math:`\pm 1`.
        center_log_scale: ``None``; ``"channel"`` to subtract the mean over the feature axis
            (per position, as ``GINCouplingBlock``); ``"all"`` for the mean over all non-batch
            axes (as ``AllInOneBlock(gin_block=True)``).
        pre_scale: Factor applied to both raw parameters before use.

    Raises:
        ModuleArgumentError: For a negative clamp, an unknown activation or centring option.

    References:
        Sorrenson, Rother, Köthe. Disentanglement by Nonlinear ICA with General
        Incompressible-flow Networks (GIN). arXiv:2001.04872.

    Example:
        >>> t = Affine(clamp=2.0)
        >>> x = torch.randn(3, 4)
        >>> y, log_det = t(x, t.get_identity_parameters(4).expand(3, 8))
        >>> torch.equal(x, y), log_det
        (True, tensor([0., 0., 0.]))
    """

    def __init__(
        self,
        clamp: float | None = 2.0,
        clamp_activation: str | Callable[[Tensor], Tensor] = "ATAN",
        *,
        center_log_scale: str | None = None,
        pre_scale: float = 1.0,
    ) -> None:
        super().__init__()
        if clamp is not None:
            check_clamp("Affine", "clamp", clamp)  # inf would overflow, "2" fail late
        if center_log_scale is not None and center_log_scale not in _CENTER_OPTIONS:
            raise ModuleArgumentError(
                f"Affine: center_log_scale must be None or one of {_CENTER_OPTIONS}, "
                f"got {center_log_scale!r}."
            )
        self.clamp = clamp
        self.clamp_activation = clamp_activation
        self.f_clamp = resolve_clamp_activation(clamp_activation)
        self.center_log_scale = center_log_scale
        self.volume_preserving = center_log_scale is not None
        self.pre_scale = pre_scale
        # FrEIA's default clamp c·0.636·atan(u) with both constants folded into one factor: one
        # multiplication instead of two (equal up to float rounding).
        self._atan_factor = None
        if clamp is not None and self.f_clamp is atan_activation:
            self._atan_factor = clamp * ATAN_CLAMP_SCALE
        # Derived from the constructor arguments, so not state.
        self._factor_cache: dict[torch.dtype, tuple[Tensor, Tensor]] = {}

    @property
    def n_parameters_per_feature(self) -> int:
        """Two: the raw log-scale and the shift."""
        return 2

    def log_scale(self, raw: Tensor) -> Tensor:
        """The clamped (and, if configured, centred) log-scale :math:`s = c f(u)`."""
        return self._log_scale(raw, negate=False)

    def _log_scale(self, raw: Tensor, negate: bool) -> Tensor:
        """:math:`s`, or :math:`-s` with ``negate`` (computed directly, without a negation)."""
        if self._atan_factor is not None:
            s = self._atan_log_scale(raw, negate)
        else:
            s = soft_clamp(raw, self.clamp, self.f_clamp)
            if negate:
                s = -s
        if self.center_log_scale == "channel":
            s = s - s.mean(1, keepdim=True)
        elif self.center_log_scale == "all":
            s = s - s.mean(tuple(range(1, s.dim())), keepdim=True)
        return s

    def _atan_log_scale(self, raw: Tensor, negate: bool) -> Tensor:
        r"""FrEIA's default clamp :math:`\pm c \cdot 0.636 \arctan(u)` with one multiplication."""
        if torch.compiler.is_compiling():  # a constant in the graph; dynamo would guard the cache
            return torch.atan(raw) * (-self._atan_factor if negate else self._atan_factor)
        factors = self._factor_cache.get(raw.dtype) or self._atan_factors(raw)
        # atan runs about twice as fast on contiguous memory as on the strided view of the
        # parameters; the in-place scaling is safe, atan's backward reads its input only.
        return torch.atan(raw.contiguous()).mul_(factors[negate])

    def _atan_factors(self, like: Tensor) -> tuple[Tensor, Tensor]:
        """0-dim CPU ``(factor, -factor)`` in ``like``'s dtype, cached.

        Multiplying by a 0-dim tensor skips the wrapping of a Python scalar, which costs as much
        as the multiplication itself on small inputs; a 0-dim CPU tensor multiplies tensors on
        any device, so the cache needs no device key.
        """
        factor = torch.tensor(self._atan_factor, dtype=like.dtype)
        factors = self._factor_cache[like.dtype] = (factor, -factor)
        return factors

    def _run(self, x: Tensor, parameters: Tensor, inverse: bool) -> tuple[Tensor, Tensor]:
        # The couplings' hot path, where every tensor op counts: one chunk into [raw | shift]
        # instead of unflatten and two selects, and no flatten for vectors. Wrongly shaped
        # parameters go to the base class, which raises the ShapeError.
        shape, x_shape = parameters.shape, x.shape
        if shape[1] != 2 * x_shape[1] or shape[0] != x_shape[0] or len(shape) != len(x_shape) \
                or (len(shape) > 2 and shape[2:] != x_shape[2:]):
            return super()._run(x, parameters, inverse)
        if self.pre_scale != 1.0:
            parameters = parameters * self.pre_scale
        raw, shift = parameters.chunk(2, 1)
        s = self._log_scale(raw, negate=inverse)  # -s for the inverse, without a negation
        y, log_det = affine_inverse(x, s, shift) if inverse else affine(x, s, shift)
        if self.volume_preserving:
            return y, x.new_zeros(x.shape[0])
        return y, (log_det.sum(1) if log_det.dim() == 2 else sum_except_batch(log_det))

    def _transform(self, x: Tensor, parameters: Tensor, inverse: bool) -> tuple[Tensor, Tensor]:
        if self.pre_scale != 1.0:
            parameters = parameters * self.pre_scale
        s = self._log_scale(parameters[:, 0], negate=inverse)
        shift = parameters[:, 1]
        return affine_inverse(x, s, shift) if inverse else affine(x, s, shift)

    def get_identity_parameters(self, n_features: int) -> Tensor:
        """Zeros: no scaling and no shift."""
        return torch.zeros(2 * n_features)

    def extra_repr(self) -> str:
        """The clamp settings, shown in the module's repr."""
        text = f"clamp={self.clamp}, clamp_activation={self.clamp_activation!r}"
        if self.center_log_scale is not None:
            text += f", center_log_scale={self.center_log_scale!r}"
        if self.pre_scale != 1.0:
            text += f", pre_scale={self.pre_scale}"
        return text


class Additive(Transformer):
    r"""Additive (NICE) transformer :math:`y = x + t`, volume preserving (log-det exactly 0).

    Example:
        >>> t = Additive()
        >>> y, log_det = t(torch.zeros(2, 3), torch.ones(2, 3))
        >>> y[0], log_det
        (tensor([1., 1., 1.]), tensor([0., 0.]))
    """

    volume_preserving = True

    @property
    def n_parameters_per_feature(self) -> int:
        """One: the shift."""
        return 1

    def _transform(self, x: Tensor, parameters: Tensor, inverse: bool) -> tuple[Tensor, Tensor]:
        return additive(x, parameters[:, 0], inverse=inverse)

    def get_identity_parameters(self, n_features: int) -> Tensor:
        """Zeros: no shift."""
        return torch.zeros(n_features)
