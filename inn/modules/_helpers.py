"""Private helpers of the fixed, orthogonal and activation modules: checks, derived state."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch
import torch.nn as nn

from ..errors import ModuleArgumentError
from ..utils import Shape

__all__ = ["DerivedBuffers", "single_input_shape"]


def single_input_shape(
    module: Any, *, rank: int | None = None, conditions: bool = False, what: str = ""
) -> Shape:
    """Check that ``module`` has one input (of ``rank`` axes) and no conditions; return its shape.

    Args:
        module: A freshly initialised ``InvertibleModule``.
        rank: The required number of non-batch axes, or ``None`` for any rank ``>= 1``.
        conditions: Whether conditions are allowed (the caller checks them).
        what: How to describe the required rank in messages, e.g. ``"vectors (D,)"``.

    Raises:
        ModuleArgumentError: For several inputs, conditions, or the wrong rank.
    """
    name = type(module).__name__
    if len(module.dims_in) != 1:
        raise ModuleArgumentError(
            f"{name} takes exactly one input, got dims_in={module.dims_in}."
        )
    if module.dims_c and not conditions:
        raise ModuleArgumentError(
            f"{name} takes no conditions, got dims_c={module.dims_c}."
        )
    shape = module.dims_in[0]
    if (rank is not None and len(shape) != rank) or not shape:
        raise ModuleArgumentError(
            f"{name} needs {what or 'inputs with a channel axis'}, got dims_in={module.dims_in}."
        )
    return shape


class DerivedBuffers(nn.Module):
    """Mixin for modules whose buffers are derived from other state (an inverse, a log-det).

    ``refresh_derived`` recomputes them after every dtype or device move (``.double()``,
    ``.to()``) and after ``load_state_dict``, so they are always exact in the module's dtype:
    never a float32 result cast to float64. The derived buffers keep FrEIA's names, so its
    ``state_dict`` keys match, but values loaded for them are recomputed from the source state.
    """

    def refresh_derived(self) -> None:
        """Recompute the derived buffers from the module's source state."""
        raise NotImplementedError

    def _apply(self, fn: Callable, recurse: bool = True) -> nn.Module:
        result = super()._apply(fn, recurse)
        with torch.no_grad():
            self.refresh_derived()
        return result

    def _load_from_state_dict(self, *args: Any, **kwargs: Any) -> None:
        super()._load_from_state_dict(*args, **kwargs)
        with torch.no_grad():
            self.refresh_derived()
