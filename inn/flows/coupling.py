"""Coupling presets with affine and additive transformers: ``RealNVP`` and ``NICE``."""

from __future__ import annotations

from collections.abc import Sequence
from functools import partial
from typing import Any

import torch.nn as nn

from ..flow import Flow
from ..modules import CouplingBlock, ElementwiseAffine
from ..nn.subnets import mlp_subnet
from ..transformers import Additive, Affine
from .builder import alternating_mask, check_features, sequence_flow

__all__ = ["NICE", "RealNVP", "coupling_flow"]


def coupling_flow(features: int, context: int, transforms: int, hidden_features: Sequence[int],
                  transformer: Any, *, activation: type[nn.Module] = nn.ReLU, base: Any = None,
                  subnet: Any = None, owner: str = "coupling_flow", **kwargs: Any) -> Flow:
    """One-sided couplings over ``transformer`` with alternating masks, starting as the identity.

    ``subnet`` (a subnet constructor) replaces the MLP of ``hidden_features``; ``kwargs`` go to
    :class:`~inn.modules.CouplingBlock` (e.g. ``two_sided=True``).
    """
    check_features(features, context, owner, minimum=2)
    subnet = subnet or mlp_subnet(hidden_features, activation=activation, zero_init=False)

    def block(index: int) -> tuple[type, dict[str, Any]]:
        return CouplingBlock, {"transformer": transformer, "subnet_constructor": subnet,
                               "mask": alternating_mask(features, index),
                               "init_identity": True, **kwargs}

    return sequence_flow(features, context, transforms, block, base, owner)


def RealNVP(features: int, context: int = 0, transforms: int = 4,
            hidden_features: Sequence[int] = (64, 64), **kwargs: Any) -> Flow:
    r"""Real NVP: affine couplings :math:`y_b = x_b \exp(s(x_a, c)) + t(x_a, c)`.

    Masks alternate between the even and the odd features; every coupling starts as the identity.

    Args:
        features: Data size :math:`D \ge 2`.
        context: Condition size (0: unconditional).
        transforms: Number of couplings.
        hidden_features: Hidden widths of each coupling's MLP.
        **kwargs: ``activation`` (default ``nn.ReLU``), ``base``, ``clamp`` of the soft scale
            clamp (default 2.0), and options of :class:`~inn.modules.CouplingBlock`.

    Raises:
        ModuleArgumentError: For ``features < 2`` or bad counts.

    References:
        Dinh, Sohl-Dickstein, Bengio. Density estimation using Real NVP. arXiv:1605.08803.

    Example:
        >>> flow = RealNVP(3, context=2, transforms=2, hidden_features=(16,))
        >>> flow.log_prob(torch.randn(5, 3), torch.randn(5, 2)).shape
        torch.Size([5])
    """
    clamp = kwargs.pop("clamp", 2.0)
    return coupling_flow(features, context, transforms, hidden_features,
                         partial(Affine, clamp=clamp), owner="RealNVP", **kwargs)


def NICE(features: int, context: int = 0, transforms: int = 4,
         hidden_features: Sequence[int] = (64, 64), **kwargs: Any) -> Flow:
    r"""NICE: additive couplings :math:`y_b = x_b + t(x_a, c)`, then a learned diagonal scaling.

    Args:
        features: Data size :math:`D \ge 2`.
        context: Condition size (0: unconditional).
        transforms: Number of couplings (the final scaling comes on top).
        hidden_features: Hidden widths of each coupling's MLP.
        **kwargs: ``activation``, ``base`` and options of :class:`~inn.modules.CouplingBlock`.

    Raises:
        ModuleArgumentError: For ``features < 2`` or bad counts.

    References:
        Dinh, Krueger, Bengio. NICE: Non-linear Independent Components Estimation.
        arXiv:1410.8516.

    Example:
        >>> flow = NICE(4, transforms=2)
        >>> type(flow.transform[-1]).__name__, flow.sample(3).shape
        ('ElementwiseAffine', torch.Size([3, 4]))
    """
    flow = coupling_flow(features, context, transforms, hidden_features, Additive,
                         owner="NICE", **kwargs)
    flow.transform.append(ElementwiseAffine)
    return flow
