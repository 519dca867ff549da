"""FrEIA's one-sided affine couplings: one half drives the other, or the conditions drive all."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from torch import Tensor

from ...errors import ModuleArgumentError
from ...transformers import Affine
from ...utils import normalize_dims
from .base import SubnetConstructor
from .general import CouplingBlock

__all__ = ["AffineCouplingOneSided", "ConditionalAffineTransform"]


class AffineCouplingOneSided(CouplingBlock):
    r"""Half a GLOW coupling: the first part passes unchanged and drives an affine map of the rest.

    .. math::

        y_1 = x_1, \qquad [s | t] = \mathrm{subnet}([x_1, c]), \qquad
        y_2 = x_2 \odot e^{s} + t, \qquad \log|\det J| = \sum s,

    with the soft-clamped log-scale :math:`s = \mathrm{clamp} \cdot f(\mathrm{raw})`. Alternate
    it with permutations so that every channel gets transformed.

    Args:
        dims_in: One input shape ``(C, *spatial)``.
        dims_c: Condition shapes ``(c_i, *spatial)``.
        subnet_constructor: ``(c_in, c_out) -> nn.Module``, called once for ``subnet``
            (``l1+cc -> 2·l2``).
        clamp: Bound on the log-scales.
        clamp_activation: ``"ATAN"``, ``"TANH"``, ``"SIGMOID"`` or a callable.
        split_len: Length ``l1`` of the unchanged first part.

    Raises:
        ModuleArgumentError: Without ``subnet_constructor``, for an unknown clamp activation, a
            bad ``split_len`` or condition shape.

    Example:
        >>> import torch.nn as nn
        >>> block = AffineCouplingOneSided([(4,)], subnet_constructor=nn.Linear)
        >>> x = torch.randn(3, 4)
        >>> (z,), log_jac_det = block([x])
        >>> torch.equal(z[:, :2], x[:, :2])
        True
    """

    def __init__(
        self,
        dims_in: Any,
        dims_c: Any = None,
        subnet_constructor: SubnetConstructor | None = None,
        clamp: float = 2.0,
        clamp_activation: str | Callable[[Tensor], Tensor] = "ATAN",
        split_len: float | int = 0.5,
    ) -> None:
        super().__init__(dims_in, dims_c, transformer=Affine(clamp, clamp_activation),
                         subnet_constructor=subnet_constructor, split_len=split_len)
        self.clamp = clamp


class ConditionalAffineTransform(CouplingBlock):
    r"""Affine map of the whole input with scale and shift predicted from the conditions alone.

    Similar to the conditioning layers of SPADE (Park et al., 2019):

    .. math::

        [s | t] = \mathrm{subnet}([c_1, c_2, \dots]), \qquad y = x \odot e^{s} + t, \qquad
        \log|\det J| = \sum s,

    with the soft-clamped log-scale :math:`s = \mathrm{clamp} \cdot f(\mathrm{raw})`.

    Args:
        dims_in: One input shape ``(C, *spatial)``.
        dims_c: At least one condition shape ``(c_i, *spatial)``.
        subnet_constructor: ``(c_in, c_out) -> nn.Module``, called once for ``subnet``
            (``cc -> 2·C``).
        clamp: Bound on the log-scales.
        clamp_activation: ``"ATAN"``, ``"TANH"``, ``"SIGMOID"`` or a callable.
        split_len: Accepted and range-checked for FrEIA compatibility, otherwise unused.

    Raises:
        ModuleArgumentError: Without conditions or ``subnet_constructor``, for an unknown clamp
            activation, a bad ``split_len`` or condition shape.

    References:
        Park, Liu, Wang, Zhu. Semantic Image Synthesis with Spatially-Adaptive Normalization.
        arXiv:1903.07291.

    Example:
        >>> import torch.nn as nn
        >>> block = ConditionalAffineTransform([(4,)], [(2,)], subnet_constructor=nn.Linear)
        >>> (z,), log_jac_det = block([torch.randn(3, 4)], c=[torch.randn(3, 2)])
        >>> z.shape, log_jac_det.shape
        (torch.Size([3, 4]), torch.Size([3]))
    """

    def __init__(
        self,
        dims_in: Any,
        dims_c: Any = None,
        subnet_constructor: SubnetConstructor | None = None,
        clamp: float = 2.0,
        clamp_activation: str | Callable[[Tensor], Tensor] = "ATAN",
        split_len: float | int = 0.5,
    ) -> None:
        if not normalize_dims(dims_c):
            raise ModuleArgumentError(
                f"{type(self).__name__} must have at least one condition, got dims_c={dims_c!r}."
            )
        # No passive channels: the parameters depend on the conditions only.
        super().__init__(dims_in, dims_c, transformer=Affine(clamp, clamp_activation),
                         subnet_constructor=subnet_constructor, split_len=split_len,
                         num_masked=0)
        self.clamp = clamp
