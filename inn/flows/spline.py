"""Spline presets: ``NSF`` (coupling or autoregressive) and ``NCSF`` (circular, for angles)."""

from __future__ import annotations

import math
from collections.abc import Sequence
from functools import partial
from typing import Any

from ..flow import Flow
from ..flow_bases import BoxUniform
from ..transformers import RationalQuadratic
from .autoregressive import autoregressive_flow
from .builder import check_count
from .coupling import coupling_flow

__all__ = ["NCSF", "NSF"]


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


def NCSF(features: int, context: int = 0, transforms: int = 3,
         hidden_features: Sequence[int] = (64, 64), bins: int = 8, **kwargs: Any) -> Flow:
    r"""Neural circular spline flow on the torus :math:`[-\pi, \pi)^D` with a box-uniform base.

    Each layer is a circular rational-quadratic spline with a learned rotation
    (:math:`y = \mathrm{spline}((x + \pi + \phi) \bmod 2\pi - \pi)`), so the density is
    periodic in every angle. Couplings by default (``autoregressive=True`` for MADE layers,
    required for ``features == 1``).

    Args:
        features: Number of angles.
        context: Condition size (0: unconditional).
        transforms: Number of layers.
        hidden_features: Hidden widths of each layer's network.
        bins: Spline bins.
        **kwargs: ``autoregressive``, ``activation`` and options of the layer module.

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
    check_count(features, "features", "NCSF")
    autoregressive = kwargs.pop("autoregressive", features == 1)
    transformer = partial(RationalQuadratic, -math.pi, math.pi, n_bins=bins, circular=True)
    base = BoxUniform((features,), -math.pi, math.pi)
    return _spline_flow(features, context, transforms, hidden_features, autoregressive, "NCSF",
                        transformer, base=base, **kwargs)
