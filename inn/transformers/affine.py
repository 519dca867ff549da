"""Affine (soft-clamped scale and shift) and additive (NICE) transformers."""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import Tensor

from ..errors import ModuleArgumentError
from .base import Transformer
from .functional import additive, affine, resolve_clamp_activation, soft_clamp

__all__ = ["Additive", "Affine"]


class Affine(Transformer):
    r"""Affine transformer :math:`y = x \cdot e^{c f(u)} + t` with FrEIA's soft clamp.

    Parameters per feature: ``[u, t]`` (``P = 2``). The log-scale :math:`s = c \cdot f(u)` is
    bounded by the clamp :math:`c`; ``clamp=None`` uses :math:`s = u` unclamped.

    .. math::

        \log\left|\frac{\partial y}{\partial x}\right| = \sum_i s_i

    Args:
        clamp: The bound :math:`c` on the log-scale, or ``None``.
        clamp_activation: ``"ATAN"`` (:math:`0.636 \arctan`), ``"TANH"``, ``"SIGMOID"`` or a
            callable mapping :math:`\pm\infty` to :math:`\pm 1`.

    Raises:
        ModuleArgumentError: For a negative clamp or an unknown activation.

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
    ) -> None:
        super().__init__()
        if clamp is not None and not clamp >= 0:
            raise ModuleArgumentError(
                f"Affine: clamp must be a non-negative number or None, got {clamp!r}."
            )
        self.clamp = clamp
        self.clamp_activation = clamp_activation
        self.f_clamp = resolve_clamp_activation(clamp_activation)

    @property
    def n_parameters_per_feature(self) -> int:
        """Two: the raw log-scale and the shift."""
        return 2

    def log_scale(self, raw: Tensor) -> Tensor:
        """The clamped log-scale :math:`s = c f(u)`."""
        return soft_clamp(raw, self.clamp, self.f_clamp)

    def _transform(self, x: Tensor, parameters: Tensor, inverse: bool) -> tuple[Tensor, Tensor]:
        return affine(x, self.log_scale(parameters[:, 0]), parameters[:, 1], inverse=inverse)

    def get_identity_parameters(self, n_features: int) -> Tensor:
        """Zeros: no scaling and no shift."""
        return torch.zeros(2 * n_features)

    def extra_repr(self) -> str:
        """The clamp settings, shown in the module's repr."""
        return f"clamp={self.clamp}, clamp_activation={self.clamp_activation!r}"


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
