"""Subnet constructors for couplings: MLPs and conv nets, optionally zero-initialised."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import torch.nn as nn

from ..errors import ModuleArgumentError
from .made import check_hidden_features

__all__ = ["ConvSubnet", "MLPSubnet", "conv_subnet", "mlp_subnet"]


def _zero_last_layer(net: nn.Sequential) -> nn.Sequential:
    nn.init.zeros_(net[-1].weight)
    nn.init.zeros_(net[-1].bias)
    return net


@dataclass(frozen=True)
class MLPSubnet:
    """A picklable ``subnet_constructor`` ``(c_in, c_out) -> MLP``; made by :func:`mlp_subnet`.

    A class rather than a closure, so whole models built with it survive ``torch.save`` and
    ``torch.load`` (and multiprocessing), which cannot pickle local functions.
    """

    hidden: tuple[int, ...]
    activation: Callable[[], nn.Module]
    zero_init: bool

    def __call__(self, c_in: int, c_out: int) -> nn.Sequential:
        """Build ``Linear(c_in, hidden[0]) -> activation -> ... -> Linear(hidden[-1], c_out)``."""
        layers: list[nn.Module] = []
        for width in self.hidden:
            layers += [nn.Linear(c_in, width), self.activation()]
            c_in = width
        net = nn.Sequential(*layers, nn.Linear(c_in, c_out))
        return _zero_last_layer(net) if self.zero_init else net


@dataclass(frozen=True)
class ConvSubnet:
    """A picklable ``subnet_constructor`` building same-padded conv nets (:func:`conv_subnet`)."""

    hidden: tuple[int, ...]
    kernel_size: int
    dims: int
    activation: Callable[[], nn.Module]
    zero_init: bool

    def __call__(self, c_in: int, c_out: int) -> nn.Sequential:
        """Build ``conv(c_in, hidden[0]) -> activation -> ... -> conv(hidden[-1], c_out)``."""
        conv = _CONVS[self.dims]
        padding = self.kernel_size // 2
        layers: list[nn.Module] = []
        for width in self.hidden:
            layers += [conv(c_in, width, self.kernel_size, padding=padding), self.activation()]
            c_in = width
        net = nn.Sequential(*layers, conv(c_in, c_out, self.kernel_size, padding=padding))
        return _zero_last_layer(net) if self.zero_init else net


_CONVS = {1: nn.Conv1d, 2: nn.Conv2d, 3: nn.Conv3d}


def mlp_subnet(
    hidden: int | Sequence[int] = (128, 128),
    *,
    activation: Callable[[], nn.Module] = nn.ReLU,
    zero_init: bool = True,
) -> MLPSubnet:
    """Return a ``subnet_constructor`` building MLPs ``c_in -> hidden... -> c_out``.

    With ``zero_init`` the last layer starts at zero, so affine and additive couplings start as
    the identity (a common, stable initialisation for deep flows).

    Args:
        hidden: Width of each hidden layer.
        activation: Factory of the activation module between layers.
        zero_init: Zero the last layer's weight and bias.

    Example:
        >>> from inn.modules import GLOWCouplingBlock
        >>> block = GLOWCouplingBlock([(6,)], subnet_constructor=mlp_subnet(32))
        >>> x = torch.randn(4, 6)
        >>> torch.equal(block([x])[0][0], x)
        True
    """
    widths = check_hidden_features(hidden, "mlp_subnet")
    return MLPSubnet(tuple(widths), activation, zero_init)


def conv_subnet(
    hidden: int | Sequence[int] = (64,),
    *,
    kernel_size: int = 3,
    dims: int = 2,
    activation: Callable[[], nn.Module] = nn.ReLU,
    zero_init: bool = True,
) -> ConvSubnet:
    """Return a ``subnet_constructor`` building same-padded conv nets for 1-, 2- or 3-d data.

    Args:
        hidden: Channels of each hidden layer.
        kernel_size: Odd kernel size of every layer.
        dims: Spatial dimensions (1, 2 or 3).
        activation: Factory of the activation module between layers.
        zero_init: Zero the last layer's weight and bias.

    Raises:
        ModuleArgumentError: For an even kernel size or unsupported ``dims``.

    Example:
        >>> net = conv_subnet(16)(3, 8)
        >>> net(torch.randn(2, 3, 5, 5)).shape
        torch.Size([2, 8, 5, 5])
    """
    widths = check_hidden_features(hidden, "conv_subnet")
    if kernel_size % 2 != 1:
        raise ModuleArgumentError(f"conv_subnet: kernel_size must be odd, got {kernel_size}.")
    if dims not in _CONVS:
        raise ModuleArgumentError(f"conv_subnet: dims must be 1, 2 or 3, got {dims}.")

    return ConvSubnet(tuple(widths), kernel_size, dims, activation, zero_init)
