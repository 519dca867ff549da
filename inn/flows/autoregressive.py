"""Autoregressive presets: ``MAF`` (fast density) and ``IAF`` (fast sampling)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from ..flow import Flow
from ..modules import InverseAutoregressive, MaskedAutoregressive
from .builder import check_features, sequence_flow

__all__ = ["IAF", "MAF", "autoregressive_flow"]


def autoregressive_flow(features: int, context: int, transforms: int,
                        hidden_features: Sequence[int], *, inverse: bool = False,
                        base: Any = None, owner: str = "autoregressive_flow",
                        **kwargs: Any) -> Flow:
    """MADE layers (MAF, or IAF with ``inverse``) with alternating orders.

    ``kwargs`` go to :class:`~inn.modules.MaskedAutoregressive` (``transformer``,
    ``activation``, ``residual``, ...); an ``order`` there replaces the alternation.
    """
    check_features(features, context, owner)
    module_class = InverseAutoregressive if inverse else MaskedAutoregressive
    fixed_order = kwargs.pop("order", None)

    def block(index: int) -> tuple[type, dict[str, Any]]:
        order = fixed_order or ("forward" if index % 2 == 0 else "reverse")
        return module_class, {"hidden_features": tuple(hidden_features), "order": order,
                              **kwargs}

    return sequence_flow(features, context, transforms, block, base, owner)


def MAF(features: int, context: int = 0, transforms: int = 3,
        hidden_features: Sequence[int] = (64, 64), **kwargs: Any) -> Flow:
    r"""Masked autoregressive flow: :math:`z_i = \tau(x_i; \theta_i(x_{<i}, c))`.

    The density is one MADE pass per layer; sampling takes :math:`D` passes. Orders alternate.

    Args:
        features: Data size.
        context: Condition size (0: unconditional).
        transforms: Number of MADE layers.
        hidden_features: Hidden widths of each MADE.
        **kwargs: ``transformer`` (any :mod:`inn.transformers` transformer), ``activation``,
            ``residual``, ``order``, ``base``.

    Raises:
        ModuleArgumentError: For bad sizes or counts.

    References:
        Papamakarios, Pavlakou, Murray. Masked Autoregressive Flow for Density Estimation.
        arXiv:1705.07057.

    Example:
        >>> flow = MAF(3, context=1, transforms=2, hidden_features=(16,))
        >>> flow.sample(4, c=torch.randn(4, 1)).shape
        torch.Size([4, 3])
    """
    return autoregressive_flow(features, context, transforms, hidden_features, owner="MAF",
                               **kwargs)


def IAF(features: int, context: int = 0, transforms: int = 3,
        hidden_features: Sequence[int] = (64, 64), **kwargs: Any) -> Flow:
    r"""Inverse autoregressive flow: :math:`x_i = \tau(z_i; \theta_i(z_{<i}, c))`.

    Sampling is one MADE pass per layer; the density takes :math:`D` passes (use it for
    variational posteriors, MAF for density estimation). Arguments as :func:`MAF`.

    References:
        Kingma et al. Improved Variational Inference with Inverse Autoregressive Flow.
        arXiv:1606.04934.

    Example:
        >>> flow = IAF(3, transforms=2, hidden_features=(16,))
        >>> x, log_prob = flow.sample_and_log_prob(4)
        >>> torch.allclose(log_prob, flow.log_prob(x), atol=1e-4)
        True
    """
    return autoregressive_flow(features, context, transforms, hidden_features, inverse=True,
                               owner="IAF", **kwargs)
