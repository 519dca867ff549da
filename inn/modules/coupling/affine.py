"""FrEIA's two-sided affine and additive couplings: NICE, RealNVP, GLOW and GIN."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch
from torch import Tensor

from ...transformers import Additive, Affine
from .base import CouplingBase, SubnetConstructor

__all__ = ["GINCouplingBlock", "GLOWCouplingBlock", "NICECouplingBlock", "RNVPCouplingBlock"]


class NICECouplingBlock(CouplingBase):
    r"""Additive coupling of NICE (Dinh et al., 2015), volume preserving.

    .. math::

        y_1 = x_1 + F([x_2, c]), \qquad y_2 = x_2 + G([y_1, c]), \qquad \log|\det J| = 0.

    Args:
        dims_in: One input shape ``(C, *spatial)``; the split is along ``C``.
        dims_c: Condition shapes ``(c_i, *spatial)``, concatenated to the subnet inputs.
        subnet_constructor: ``(c_in, c_out) -> nn.Module``, called for ``F`` (``l2+cc -> l1``) and
            ``G`` (``l1+cc -> l2``).
        split_len: Length ``l1`` of the first part (fraction or int, see FrEIA).

    Raises:
        ModuleArgumentError: Without ``subnet_constructor``, or for a bad ``split_len`` or
            condition shape.

    References:
        Dinh, Krueger, Bengio. NICE: Non-linear Independent Components Estimation.
        arXiv:1410.8516.

    Example:
        >>> import torch.nn as nn
        >>> block = NICECouplingBlock([(4,)], subnet_constructor=nn.Linear)
        >>> (z,), log_jac_det = block([torch.randn(3, 4)])
        >>> z.shape, log_jac_det
        (torch.Size([3, 4]), tensor([0., 0., 0.]))
    """

    _steps = ((0, "F"), (1, "G"))

    def __init__(
        self,
        dims_in: Any,
        dims_c: Any = None,
        subnet_constructor: SubnetConstructor | None = None,
        split_len: float | int = 0.5,
    ) -> None:
        super().__init__(dims_in, dims_c, transformer=Additive(), split_len=split_len)
        constructor = self._require_subnet_constructor(subnet_constructor, type(self).__name__)
        self.F = constructor(*self.subnet_dims(0))
        self.G = constructor(*self.subnet_dims(1))


class RNVPCouplingBlock(CouplingBase):
    r"""Two-sided affine coupling of RealNVP (Dinh et al., 2017), with separate scale and shift nets.

    .. math::

        y_1 = x_1 \odot e^{s_2([x_2, c])} + t_2([x_2, c]), \qquad
        y_2 = x_2 \odot e^{s_1([y_1, c])} + t_1([y_1, c]),

    where each scale is soft-clamped, :math:`s = \mathrm{clamp} \cdot f(\mathrm{raw})`, and
    :math:`\log|\det J| = \sum s_2 + \sum s_1`.

    Args:
        dims_in: One input shape ``(C, *spatial)``.
        dims_c: Condition shapes ``(c_i, *spatial)``.
        subnet_constructor: ``(c_in, c_out) -> nn.Module``, called four times: ``subnet_s1`` and
            ``subnet_t1`` (``l1+cc -> l2``), ``subnet_s2`` and ``subnet_t2`` (``l2+cc -> l1``).
        clamp: Bound on the log-scales: each scale lies in :math:`e^{\pm \mathrm{clamp}}`.
        clamp_activation: ``"ATAN"``, ``"TANH"``, ``"SIGMOID"`` or a callable.
        split_len: Length ``l1`` of the first part.

    Raises:
        ModuleArgumentError: Without ``subnet_constructor``, for an unknown clamp activation, a
            bad ``split_len`` or condition shape.

    References:
        Dinh, Sohl-Dickstein, Bengio. Density estimation using Real NVP. arXiv:1605.08803.

    Example:
        >>> import torch.nn as nn
        >>> block = RNVPCouplingBlock([(4,)], subnet_constructor=nn.Linear)
        >>> x = torch.randn(3, 4)
        >>> (z,), log_jac_det = block([x])
        >>> (x_rec,), _ = block([z], rev=True)
        >>> torch.allclose(x, x_rec, atol=1e-6)
        True
    """  # noqa: E501

    _steps = ((0, "2"), (1, "1"))

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
                         split_len=split_len)
        constructor = self._require_subnet_constructor(subnet_constructor, type(self).__name__)
        in1, out1 = self.subnet_dims(1)
        in2, out2 = self.subnet_dims(0)
        self.subnet_s1 = constructor(in1, out1 // 2)
        self.subnet_t1 = constructor(in1, out1 // 2)
        self.subnet_s2 = constructor(in2, out2 // 2)
        self.subnet_t2 = constructor(in2, out2 // 2)
        self.clamp = clamp

    def _predict_parameters(self, predictor: str, passive: Tensor) -> Tensor:
        scale_net = getattr(self, "subnet_s" + predictor)
        shift_net = getattr(self, "subnet_t" + predictor)
        return torch.cat([scale_net(passive), shift_net(passive)], dim=1)


class _OneNetPerHalf(CouplingBase):
    """GLOW's layout: ``subnet2`` predicts ``[s | t]`` for the first half, then ``subnet1``."""

    _steps = ((0, "subnet2"), (1, "subnet1"))
    _center_log_scale: str | None = None

    def __init__(
        self,
        dims_in: Any,
        dims_c: Any = None,
        subnet_constructor: SubnetConstructor | None = None,
        clamp: float = 2.0,
        clamp_activation: str | Callable[[Tensor], Tensor] = "ATAN",
        split_len: float | int = 0.5,
    ) -> None:
        transformer = Affine(clamp, clamp_activation, center_log_scale=self._center_log_scale)
        super().__init__(dims_in, dims_c, transformer=transformer, split_len=split_len)
        constructor = self._require_subnet_constructor(subnet_constructor, type(self).__name__)
        self.subnet1 = constructor(*self.subnet_dims(1))
        self.subnet2 = constructor(*self.subnet_dims(0))
        self.clamp = clamp


class GLOWCouplingBlock(_OneNetPerHalf):
    r"""Two-sided affine coupling of GLOW (Kingma & Dhariwal, 2018): one net predicts scale and shift.

    .. math::

        [s_2 | t_2] = \mathrm{subnet2}([x_2, c]),\ y_1 = x_1 \odot e^{s_2} + t_2; \qquad
        [s_1 | t_1] = \mathrm{subnet1}([y_1, c]),\ y_2 = x_2 \odot e^{s_1} + t_1,

    with soft-clamped scales :math:`s = \mathrm{clamp} \cdot f(\mathrm{raw})` and
    :math:`\log|\det J| = \sum s_2 + \sum s_1`. This is the coupling alone; see ``AllInOneBlock``
    for the block with ActNorm and permutation.

    Args:
        dims_in: One input shape ``(C, *spatial)``.
        dims_c: Condition shapes ``(c_i, *spatial)``.
        subnet_constructor: ``(c_in, c_out) -> nn.Module``, called for ``subnet1``
            (``l1+cc -> 2·l2``) and ``subnet2`` (``l2+cc -> 2·l1``). The output's first half along
            axis 1 is the raw log-scale, the second the shift.
        clamp: Bound on the log-scales.
        clamp_activation: ``"ATAN"``, ``"TANH"``, ``"SIGMOID"`` or a callable.
        split_len: Length ``l1`` of the first part.

    Raises:
        ModuleArgumentError: Without ``subnet_constructor``, for an unknown clamp activation, a
            bad ``split_len`` or condition shape.

    References:
        Kingma, Dhariwal. Glow: Generative Flow with Invertible 1x1 Convolutions.
        arXiv:1807.03039.

    Example:
        >>> import torch.nn as nn
        >>> block = GLOWCouplingBlock([(6,)], [(2,)], subnet_constructor=nn.Linear)
        >>> (z,), log_jac_det = block([torch.randn(5, 6)], c=[torch.randn(5, 2)])
        >>> z.shape, log_jac_det.shape
        (torch.Size([5, 6]), torch.Size([5]))
    """  # noqa: E501

    _center_log_scale = None


class GINCouplingBlock(_OneNetPerHalf):
    r"""Volume-preserving GLOW coupling of GIN (Sorrenson et al., 2020): log-scales have zero mean.

    As :class:`GLOWCouplingBlock`, but after clamping each log-scale has its mean over the
    channel axis subtracted (per position), so every step preserves volume exactly:

    .. math::

        s \leftarrow s - \tfrac{1}{l}\textstyle\sum_{\text{channels}} s, \qquad
        y_1 = x_1 \odot e^{s_2} + t_2,\ y_2 = x_2 \odot e^{s_1} + t_1, \qquad
        \log|\det J| = 0.

    Args:
        dims_in: One input shape ``(C, *spatial)``.
        dims_c: Condition shapes ``(c_i, *spatial)``.
        subnet_constructor: ``(c_in, c_out) -> nn.Module``, called for ``subnet1``
            (``l1+cc -> 2·l2``) and ``subnet2`` (``l2+cc -> 2·l1``).
        clamp: Bound on the log-scales before centring.
        clamp_activation: ``"ATAN"``, ``"TANH"``, ``"SIGMOID"`` or a callable.
        split_len: Length ``l1`` of the first part.

    Raises:
        ModuleArgumentError: Without ``subnet_constructor``, for an unknown clamp activation, a
            bad ``split_len`` or condition shape.

    References:
        Sorrenson, Rother, Köthe. Disentanglement by Nonlinear ICA with General
        Incompressible-flow Networks (GIN). arXiv:2001.04872.

    Example:
        >>> import torch.nn as nn
        >>> block = GINCouplingBlock([(4,)], subnet_constructor=nn.Linear)
        >>> (z,), log_jac_det = block([torch.randn(3, 4)])
        >>> log_jac_det
        tensor([0., 0., 0.])
    """

    _center_log_scale = "channel"  # GIN: volume preserving
