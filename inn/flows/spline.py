"""Spline presets: ``NSF`` (coupling or autoregressive) and ``NCSF`` (circular, for angles)."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from functools import partial
from typing import Any

import torch
import torch.nn as nn
from torch import Tensor

from ..flow import Flow
from ..flow_bases import BoxUniform
from ..nn.subnets import mlp_subnet
from ..transformers import RationalQuadratic
from .autoregressive import autoregressive_flow
from .builder import check_count, check_features
from .coupling import coupling_flow

__all__ = ["NCSF", "NSF", "AngleEmbedding", "CircularSubnet"]


def _spline_flow(features: int, context: int, transforms: int, hidden_features: Sequence[int],
                 autoregressive: bool, owner: str, transformer: Any, **kwargs: Any) -> Flow:
    if autoregressive:
        return autoregressive_flow(features, context, transforms, hidden_features,
                                   transformer=transformer, owner=owner, **kwargs)
    return coupling_flow(features, context, transforms, hidden_features, transformer,
                         owner=owner, **kwargs)


def NSF(features: int, context: int = 0, transforms: int = 3,
        hidden_features: Sequence[int] = (64, 64), bins: int = 8, bound: float = 5.0,
        autoregressive: bool = False, **kwargs: Any) -> Flow:
    r"""Neural spline flow: monotone rational-quadratic splines on :math:`[-B, B]`, linear tails.

    Coupling layers (alternating masks) by default; ``autoregressive=True`` gives MADE-based
    layers with alternating orders (density in one pass, sampling in :math:`D` passes).

    Args:
        features: Data size (:math:`\ge 2` for couplings).
        context: Condition size (0: unconditional).
        transforms: Number of layers.
        hidden_features: Hidden widths of each layer's network.
        bins: Spline bins :math:`K`.
        bound: Half-width :math:`B` of the spline domain; identity-slope tails outside.
        autoregressive: MADE layers instead of couplings.
        **kwargs: ``activation``, ``base`` and options of the layer module.

    Raises:
        ModuleArgumentError: For bad sizes, counts or bounds.

    References:
        Durkan, Bekasov, Murray, Papamakarios. Neural Spline Flows. arXiv:1906.04032.

    Example:
        >>> flow = NSF(2, transforms=2, hidden_features=(16,))
        >>> flow.sample_and_log_prob(4)[1].shape
        torch.Size([4])
    """
    check_count(bins, "bins", "NSF", 2)
    transformer = partial(RationalQuadratic, -bound, bound, n_bins=bins)
    return _spline_flow(features, context, transforms, hidden_features, autoregressive, "NSF",
                        transformer, **kwargs)


class AngleEmbedding(nn.Module):
    r"""Replace the first ``angles`` features by :math:`(\cos, \sin)`, keep the rest (context).

    A coupling network that sees angles this way is periodic in them, so the flow's density
    is continuous across :math:`\pm\pi`.

    Example:
        >>> AngleEmbedding(1)(torch.tensor([[0.0, 5.0]]))
        tensor([[1., 0., 5.]])
    """

    def __init__(self, angles: int) -> None:
        super().__init__()
        self.angles = angles

    def forward(self, x: Tensor) -> Tensor:
        """``[cos(a), sin(a), rest]``."""
        angles, rest = x[:, :self.angles], x[:, self.angles:]
        return torch.cat([torch.cos(angles), torch.sin(angles), rest], dim=1)


@dataclass(frozen=True)
class CircularSubnet:
    """A subnet constructor: :class:`AngleEmbedding` of the passive angles, then an MLP.

    A class, not a closure, so NCSF models survive ``torch.save`` / ``torch.load``.

    Example:
        >>> CircularSubnet((8,), context=1)(3, 4)(torch.randn(5, 3)).shape
        torch.Size([5, 4])
    """

    hidden_features: tuple[int, ...]
    context: int
    activation: type[nn.Module] = nn.ReLU

    def __call__(self, c_in: int, c_out: int) -> nn.Sequential:
        """Embed the ``c_in - context`` passive angles, then the MLP."""
        angles = c_in - self.context
        mlp = mlp_subnet(self.hidden_features, activation=self.activation, zero_init=False)
        return nn.Sequential(AngleEmbedding(angles), *mlp(c_in + angles, c_out))


def NCSF(features: int, context: int = 0, transforms: int = 3,
         hidden_features: Sequence[int] = (64, 64), bins: int = 8, **kwargs: Any) -> Flow:
    r"""Neural circular spline flow on the torus :math:`[-\pi, \pi)^D` with a box-uniform base.

    Each layer is a circular rational-quadratic spline with a learned rotation
    (:math:`y = \mathrm{spline}((x + \pi + \phi) \bmod 2\pi - \pi)`). Couplings with
    alternating masks whose networks see the passive angles as :math:`(\cos, \sin)`, so the
    density is periodic and continuous in every angle. A single angle (``features == 1``) gets
    layers whose parameters depend on the context alone.

    Args:
        features: Number of angles.
        context: Condition size (0: unconditional).
        transforms: Number of layers.
        hidden_features: Hidden widths of each layer's network.
        bins: Spline bins.
        **kwargs: ``activation`` and options of :class:`~inn.modules.CouplingBlock`.

    Raises:
        ModuleArgumentError: For bad sizes or counts.

    References:
        Rezende et al. Normalizing Flows on Tori and Spheres. arXiv:2002.02428.

    Example:
        >>> flow = NCSF(2, transforms=2, hidden_features=(16,))
        >>> x = flow.sample(100)
        >>> bool(((x >= -math.pi) & (x < math.pi)).all())
        True
    """
    check_count(bins, "bins", "NCSF", 2)
    check_features(features, context, "NCSF")
    transformer = partial(RationalQuadratic, -math.pi, math.pi, n_bins=bins, circular=True)
    base = BoxUniform((features,), -math.pi, math.pi)
    if features == 1:
        return autoregressive_flow(features, context, transforms, hidden_features,
                                   transformer=transformer, base=base, owner="NCSF", **kwargs)
    subnet = CircularSubnet(tuple(hidden_features), context, kwargs.pop("activation", nn.ReLU))
    return coupling_flow(features, context, transforms, hidden_features, transformer,
                         subnet=subnet, base=base, owner="NCSF", **kwargs)
