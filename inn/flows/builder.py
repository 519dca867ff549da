"""The generic builder behind the vector presets: a ``SequenceINN`` of blocks under a base."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch

from ..errors import ModuleArgumentError
from ..flow import Flow
from ..framework import SequenceINN

__all__ = ["alternating_mask", "check_count", "check_features", "sequence_flow"]

# (block index) -> (module class, constructor keyword arguments)
BlockFactory = Callable[[int], tuple[type, dict[str, Any]]]


def check_count(value: Any, name: str, owner: str, minimum: int = 1) -> int:
    """Return ``value`` if it is an int ``>= minimum``.

    Raises:
        ModuleArgumentError: Otherwise, naming the preset, the argument and the value.
    """
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise ModuleArgumentError(f"{owner}: {name} must be an int >= {minimum}, got {value!r}.")
    return value


def check_features(features: Any, context: Any, owner: str, minimum: int = 1) -> None:
    """Check the ``features`` and ``context`` sizes of a vector preset."""
    check_count(features, "features", owner, minimum)
    check_count(context, "context", owner, 0)


def alternating_mask(features: int, index: int) -> torch.Tensor:
    """The passive-part mask of coupling ``index``: even features, then odd, alternately.

    Example:
        >>> alternating_mask(5, 0), alternating_mask(5, 1)
        (tensor([ True, False,  True, False,  True]), tensor([False,  True, False,  True, False]))
    """
    return torch.arange(features) % 2 == index % 2


def sequence_flow(features: int, context: int, transforms: int, block: BlockFactory,
                  base: Any = None, owner: str = "flow") -> Flow:
    """A :class:`~inn.Flow` over ``SequenceINN(features)`` of ``transforms`` blocks.

    Every block sees condition 0 (of shape ``(context,)``) when ``context > 0``.

    Args:
        features: Size of the data vectors.
        context: Size of the condition vectors (0: unconditional).
        transforms: Number of blocks.
        block: ``index -> (module class, keyword arguments)``.
        base: The base distribution (``None``: standard normal).
        owner: The preset's name, for error messages.
    """
    check_count(transforms, "transforms", owner)
    net = SequenceINN(features)
    for index in range(transforms):
        module_class, kwargs = block(index)
        if context:
            net.append(module_class, cond=0, cond_shape=(context,), **kwargs)
        else:
            net.append(module_class, **kwargs)
    return Flow(net, base=base)
