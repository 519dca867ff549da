"""Soft clamps that bound the log-scale of affine maps: atan (FrEIA's scale), tanh, sigmoid."""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import Tensor

from ...errors import ModuleArgumentError

__all__ = [
    "ATAN_CLAMP_SCALE",
    "CLAMP_ACTIVATIONS",
    "atan_activation",
    "resolve_clamp_activation",
    "sigmoid_activation",
    "soft_clamp",
    "soft_clamp_atan",
]

# FrEIA's rounding of 2/pi; kept so that outputs match FrEIA checkpoints exactly.
ATAN_CLAMP_SCALE = 0.636


def atan_activation(u: Tensor) -> Tensor:
    r"""FrEIA's default clamp activation :math:`0.636 \arctan(u)`, mapping :math:`\pm\infty` to about :math:`\pm 1`.

    Example:
        >>> atan_activation(torch.tensor([0.0, 1.0]))
        tensor([0.0000, 0.4995])
    """  # noqa: E501
    return ATAN_CLAMP_SCALE * torch.atan(u)


def sigmoid_activation(u: Tensor) -> Tensor:
    r"""Clamp activation :math:`2(\sigma(u) - \tfrac12)`, from :math:`\pm\infty` to :math:`\pm 1`.

    Example:
        >>> sigmoid_activation(torch.tensor([0.0]))
        tensor([0.])
    """
    return 2.0 * (torch.sigmoid(u) - 0.5)


CLAMP_ACTIVATIONS: dict[str, Callable[[Tensor], Tensor]] = {
    "ATAN": atan_activation,
    "TANH": torch.tanh,
    "SIGMOID": sigmoid_activation,
}


def resolve_clamp_activation(
    activation: str | Callable[[Tensor], Tensor],
) -> Callable[[Tensor], Tensor]:
    r"""Turn FrEIA's ``clamp_activation`` argument into a function.

    Args:
        activation: ``"ATAN"``, ``"TANH"``, ``"SIGMOID"``, or a callable mapping
            :math:`-\infty` to -1 and :math:`+\infty` to +1.

    Returns:
        The activation function.

    Raises:
        ModuleArgumentError: For an unknown name or a non-callable.

    Example:
        >>> resolve_clamp_activation("TANH") is torch.tanh
        True
    """
    if isinstance(activation, str):
        try:
            return CLAMP_ACTIVATIONS[activation]
        except KeyError:
            raise ModuleArgumentError(
                f"Unknown clamp_activation {activation!r}; expected one of "
                f"{sorted(CLAMP_ACTIVATIONS)} or a callable."
            ) from None
    if not callable(activation):
        raise ModuleArgumentError(
            f"clamp_activation must be a string or a callable, got {type(activation).__name__}."
        )
    return activation


def soft_clamp(
    raw: Tensor, clamp: float | None, activation: Callable[[Tensor], Tensor] = atan_activation
) -> Tensor:
    r"""FrEIA's soft clamp :math:`s = c \cdot f(u)`, bounding the scale :math:`e^s` to :math:`e^{\pm c}`.

    Args:
        raw: Unconstrained log-scales :math:`u`.
        clamp: The bound :math:`c`; ``None`` returns ``raw`` unchanged.
        activation: :math:`f`, mapping :math:`\pm\infty` to :math:`\pm 1`.

    Example:
        >>> soft_clamp(torch.tensor([0.0, 1e6]), 2.0)
        tensor([0.0000, 1.9981])
    """  # noqa: E501
    if clamp is None:
        return raw
    return clamp * activation(raw)


def soft_clamp_atan(raw: Tensor, clamp: float) -> Tensor:
    r"""Limit values smoothly to :math:`(-c, c)` via :math:`c \cdot 0.636 \arctan(u / c)`.

    This variant divides by the bound first, so it has slope 0.636 at zero whatever the bound;
    ``OrthogonalTransform`` uses it.

    Example:
        >>> soft_clamp_atan(torch.tensor([0.0, 100.0]), clamp=2.0)
        tensor([0.0000, 1.9726])
    """
    return clamp * ATAN_CLAMP_SCALE * torch.atan(raw / clamp)
