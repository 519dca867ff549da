"""Base distributions of ``Flow`` (standard normal, box uniform) and how ``Flow`` draws."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import torch
import torch.nn as nn
from torch import Tensor
from torch.distributions import Distribution

from .errors import ModuleArgumentError, ShapeError

__all__ = ["BoxUniform", "StandardNormal", "check_sample_shape", "draw", "make_bases"]


def _event_axes(z: Tensor, event_shape: torch.Size) -> tuple[int, ...]:
    return tuple(range(z.dim() - len(event_shape), z.dim()))


class StandardNormal(nn.Module):
    """A standard normal over ``event_shape`` with buffers, so ``.to()`` moves it.

    Example:
        >>> base = StandardNormal((2,)).double()
        >>> base.sample((3,)).dtype, base.log_prob(torch.zeros(1, 2, dtype=torch.float64))
        (torch.float64, tensor([-1.8379], dtype=torch.float64))
    """

    def __init__(self, event_shape: Sequence[int]) -> None:
        super().__init__()
        self.event_shape = torch.Size(event_shape)
        self.register_buffer("loc", torch.zeros(()))
        self.register_buffer("scale", torch.ones(()))

    def log_prob(self, z: Tensor) -> Tensor:
        """Log-density summed over the event axes."""
        n = self.event_shape.numel()
        square = (z**2).sum(_event_axes(z, self.event_shape))
        return -0.5 * square - 0.5 * n * math.log(2 * math.pi)

    def sample(self, sample_shape: Any = ()) -> Tensor:
        """Draw standard normal samples of shape ``(*sample_shape, *event_shape)``."""
        shape = (*torch.Size(sample_shape), *self.event_shape)
        return torch.randn(shape, dtype=self.loc.dtype, device=self.loc.device)


class BoxUniform(nn.Module):
    r"""The uniform distribution on the box :math:`[\text{low}, \text{high})^{d}`, with buffers.

    The log-density is :math:`-d \log(\text{high} - \text{low})` inside the box and
    :math:`-\infty` outside.

    Args:
        event_shape: The shape of one sample.
        low: Lower bound of every coordinate.
        high: Upper bound of every coordinate (``> low``).

    Raises:
        ModuleArgumentError: If ``high <= low``.

    Example:
        >>> base = BoxUniform((2,), -math.pi, math.pi)
        >>> base.log_prob(torch.tensor([[0.0, 0.0], [4.0, 0.0]]))
        tensor([-3.6758,    -inf])
    """

    def __init__(self, event_shape: Sequence[int], low: float, high: float) -> None:
        super().__init__()
        if not high > low:
            raise ModuleArgumentError(f"BoxUniform: need low < high, got low={low}, high={high}.")
        self.event_shape = torch.Size(event_shape)
        self.register_buffer("low", torch.tensor(float(low)))
        self.register_buffer("high", torch.tensor(float(high)))

    def log_prob(self, z: Tensor) -> Tensor:
        """``-d·log(high - low)`` inside the box, ``-inf`` outside; summed over the event axes."""
        axes = _event_axes(z, self.event_shape)
        inside = ((z >= self.low) & (z < self.high)).flatten(axes[0]).all(-1) if axes else (
            (z >= self.low) & (z < self.high))
        density = -self.event_shape.numel() * torch.log(self.high - self.low).to(z.dtype)
        return torch.where(inside, density, torch.full_like(density, -math.inf))

    def sample(self, sample_shape: Any = ()) -> Tensor:
        """Uniform samples of shape ``(*sample_shape, *event_shape)``."""
        shape = (*torch.Size(sample_shape), *self.event_shape)
        u = torch.rand(shape, dtype=self.low.dtype, device=self.low.device)
        return self.low + (self.high - self.low) * u


def _check_base(base: Any, event_shape: torch.Size, index: int | None) -> Any:
    if not (hasattr(base, "log_prob") and hasattr(base, "sample")):
        raise ModuleArgumentError(
            f"Flow: a base needs log_prob and sample, got {type(base).__name__}.")
    event = getattr(base, "event_shape", event_shape)
    if torch.Size(event) != event_shape:
        where = "" if index is None else f" for output {index}"
        raise ModuleArgumentError(
            f"Flow: the base distribution's event_shape{where} {tuple(event)} differs from the "
            f"transform's output shape {tuple(event_shape)}."
        )
    return base


def make_bases(base: Any, event_shapes: list[torch.Size]) -> Any:
    """One base per output: ``base`` itself for one output, else a ``ModuleList``.

    ``None`` gives standard normals; several outputs take a list or tuple of bases (entries
    ``None`` are standard normals).

    Raises:
        ModuleArgumentError: For a wrong event shape, or a base list of the wrong length.
    """
    if len(event_shapes) == 1:
        if base is None:
            return StandardNormal(event_shapes[0])
        return _check_base(base, event_shapes[0], None)
    if base is None:
        base = [None] * len(event_shapes)
    if not isinstance(base, (list, tuple, nn.ModuleList)) or len(base) != len(event_shapes):
        raise ModuleArgumentError(
            f"Flow: a transform with {len(event_shapes)} outputs needs None or a list of "
            f"{len(event_shapes)} bases, got {type(base).__name__}."
        )
    bases = [StandardNormal(shape) if b is None else _check_base(b, shape, i)
             for i, (b, shape) in enumerate(zip(base, event_shapes, strict=True))]
    return nn.ModuleList(b if isinstance(b, nn.Module) else HeldDistribution(b) for b in bases)


class HeldDistribution(nn.Module):
    """Holds a ``torch.distributions.Distribution`` in a ``ModuleList`` (it is not moved)."""

    def __init__(self, distribution: Distribution) -> None:
        super().__init__()
        self.distribution = distribution
        self.event_shape = distribution.event_shape

    def log_prob(self, z: Tensor) -> Tensor:
        """The held distribution's log-density."""
        return self.distribution.log_prob(z)

    def sample(self, sample_shape: Any = ()) -> Tensor:
        """Samples of the held distribution (``rsample`` where it has one)."""
        return draw(self.distribution, sample_shape)


def draw(base: Any, count: int | tuple) -> Tensor:
    """``count`` samples of ``base``, with gradients where the base supports ``rsample``."""
    shape = (count,) if isinstance(count, int) else tuple(count)
    if isinstance(base, Distribution) and base.has_rsample:
        return base.rsample(shape)
    return base.sample(shape)


def check_sample_shape(n: Any) -> tuple[int, ...]:
    """Return ``n`` as a sample-shape tuple of non-negative ints.

    Raises:
        ShapeError: For anything else (``2.5``, ``-1``, ``True``, ``"3"``).

    Example:
        >>> check_sample_shape(3), check_sample_shape((2, 5))
        ((3,), (2, 5))
    """
    shape = (n,) if not isinstance(n, (tuple, list, torch.Size)) else tuple(n)
    for size in shape:
        ok = isinstance(size, int) and not isinstance(size, bool) and size >= 0
        if not ok:
            raise ShapeError(
                f"Flow.sample: the number of samples must be a non-negative int or a tuple of "
                f"them, got {n!r}."
            )
    return shape
