"""``Glow``: a multiscale image flow (squeeze, ActNorm, 1x1 conv, affine coupling, split)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import partial
from typing import Any

import torch.nn as nn
from torch import Tensor

from ..errors import ModuleArgumentError
from ..flow import Flow
from ..framework import ConditionNode, FeedForwardNode, GraphINN, InputNode, Node, OutputNode
from ..modules import (
    ActNorm,
    CouplingBlock,
    HaarDownsampling,
    InvertibleLinear,
    IRevNetDownsampling,
    Split,
)
from ..transformers import Affine
from .builder import check_count

__all__ = ["BroadcastContext", "Glow", "GlowSubnet"]

SQUEEZES = {"haar": HaarDownsampling, "irevnet": IRevNetDownsampling}


@dataclass(frozen=True)
class GlowSubnet:
    """Glow's coupling network: 3x3 conv, 1x1 conv, 3x3 conv (the last one zeroed by the block).

    A picklable ``subnet_constructor`` (a class, not a closure), so whole Glow models survive
    ``torch.save`` / ``torch.load``.

    Example:
        >>> GlowSubnet(16)(2, 4)(torch.randn(1, 2, 8, 8)).shape
        torch.Size([1, 4, 8, 8])
    """

    hidden_channels: int
    activation: type[nn.Module] = nn.ReLU

    def __call__(self, c_in: int, c_out: int) -> nn.Sequential:
        """Build the network from ``c_in`` to ``c_out`` channels."""
        hidden, activation = self.hidden_channels, self.activation
        return nn.Sequential(nn.Conv2d(c_in, hidden, 3, padding=1), activation(),
                             nn.Conv2d(hidden, hidden, 1), activation(),
                             nn.Conv2d(hidden, c_out, 3, padding=1))


class BroadcastContext(nn.Module):
    """Repeat a context vector ``(B, k)`` over an ``H x W`` grid: ``(B, k, H, W)``.

    Example:
        >>> BroadcastContext(2, 3)(torch.randn(5, 4)).shape
        torch.Size([5, 4, 2, 3])
    """

    def __init__(self, height: int, width: int) -> None:
        super().__init__()
        self.height, self.width = height, width

    def forward(self, c: Tensor) -> Tensor:
        """The broadcast context (a view, no copy)."""
        return c.reshape(c.shape[0], -1, 1, 1).expand(-1, -1, self.height, self.width)


def _add(nodes: list, node: Any) -> Any:
    nodes.append(node)
    return node


def _check_glow(shape: Sequence[int], context: int, levels: int, steps: int,
                hidden_channels: int, squeeze: str) -> tuple[int, int, int]:
    check_count(levels, "levels", "Glow")
    check_count(steps, "steps", "Glow")
    check_count(hidden_channels, "hidden_channels", "Glow")
    check_count(context, "context", "Glow", 0)
    if squeeze not in SQUEEZES:
        raise ModuleArgumentError(f"Glow: squeeze must be one of {sorted(SQUEEZES)}, "
                                  f"got {squeeze!r}.")
    if len(shape) != 3 or not all(isinstance(s, int) and s > 0 for s in shape):
        raise ModuleArgumentError(f"Glow: shape must be (C, H, W) of positive ints, got {shape}.")
    channels, height, width = shape
    factor = 2**levels
    if height % factor or width % factor:
        raise ModuleArgumentError(
            f"Glow: {levels} levels halve the image {levels} times, so H and W must be "
            f"multiples of {factor}, got (H, W) = ({height}, {width}).")
    return channels, height, width


def Glow(shape: Sequence[int], context: int = 0, levels: int = 3,
         steps: int = 8, hidden_channels: int = 128, **kwargs: Any) -> Flow:
    r"""Glow: a multiscale flow for images :math:`(C, H, W)`.

    Each level squeezes :math:`(C, H, W) \to (4C, H/2, W/2)` (Haar wavelet by default, or
    i-RevNet's pixel shuffle with ``squeeze="irevnet"``), then runs ``steps`` steps of
    ActNorm, an invertible 1x1 convolution (LU) and an affine coupling with a conv subnet
    (3x3, 1x1, 3x3; starts as the identity). Every level but the last then splits off half of
    the channels to its own output, which gets its own standard normal base term in the
    returned :class:`~inn.Flow`. A ``context`` vector is broadcast over the grid of each level
    and fed to every coupling.

    Args:
        shape: Image shape ``(C, H, W)``; ``H`` and ``W`` multiples of ``2**levels``.
        context: Size of a condition vector (0: unconditional).
        levels: Number of scales.
        steps: Flow steps per level.
        hidden_channels: Width of the coupling subnets.
        **kwargs: ``squeeze`` (``"haar"`` or ``"irevnet"``), ``clamp`` of the affine scale
            (default 2.0), ``activation``, ``base`` (a list, one per output).

    Raises:
        ModuleArgumentError: For a bad shape, counts, or a size not divisible by ``2**levels``.

    References:
        Kingma, Dhariwal. Glow: Generative Flow with Invertible 1x1 Convolutions.
        arXiv:1807.03039.

    Example:
        >>> flow = Glow((1, 8, 8), levels=2, steps=1, hidden_channels=8)
        >>> [tuple(s) for s in flow.event_shapes]
        [(2, 4, 4), (8, 2, 2)]
        >>> flow.log_prob(torch.rand(3, 1, 8, 8)).shape
        torch.Size([3])
    """
    squeeze = kwargs.pop("squeeze", "haar")
    clamp = kwargs.pop("clamp", 2.0)
    subnet = GlowSubnet(hidden_channels, kwargs.pop("activation", nn.ReLU))
    base = kwargs.pop("base", None)
    if kwargs:
        raise ModuleArgumentError(f"Glow: unknown options {sorted(kwargs)}.")
    channels, height, width = _check_glow(shape, context, levels, steps, hidden_channels,
                                          squeeze)
    nodes: list = [InputNode(channels, height, width, name="x")]
    condition = ConditionNode(context, name="context") if context else None
    nodes += [condition] if condition else []
    outputs, h = [], nodes[0]
    for level in range(levels):
        h = _add(nodes, Node(h, SQUEEZES[squeeze], name=f"squeeze{level}"))
        height, width = height // 2, width // 2
        conds = None
        if condition is not None:
            conds = _add(nodes, FeedForwardNode(condition, (context, height, width),
                                                BroadcastContext(height, width),
                                                name=f"context{level}"))
        for step in range(steps):
            name = f"{level}.{step}"
            h = _add(nodes, Node(h, ActNorm, name=f"actnorm{name}"))
            h = _add(nodes, Node(h, InvertibleLinear, name=f"conv1x1_{name}"))
            h = _add(nodes, Node(h, CouplingBlock, {
                "transformer": partial(Affine, clamp=clamp), "subnet_constructor": subnet,
                "init_identity": True}, conditions=conds, name=f"coupling{name}"))
        if level < levels - 1:
            split = _add(nodes, Node(h, Split, name=f"split{level}"))
            outputs.append(OutputNode(split.out1, name=f"z{level}"))
            h = split.out0
    outputs.append(OutputNode(h, name=f"z{levels - 1}"))
    return Flow(GraphINN(nodes + outputs), base=base)
