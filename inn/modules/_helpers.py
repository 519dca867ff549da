"""Private helpers of the fixed, orthogonal and activation modules: checks, derived state."""

from __future__ import annotations

import math
from collections.abc import Callable
from numbers import Integral, Real
from typing import Any

import torch
import torch.nn as nn

from ..errors import ModuleArgumentError
from ..utils import Shape

__all__ = [
    "DerivedBuffers",
    "check_condition_spatial_dims",
    "check_seed",
    "log_of_positive",
    "require_subnet_constructor",
    "single_input_shape",
]


def log_of_positive(owner: str, name: str, value: Any) -> float:
    """``log(value)`` for an initial scale or slope, which must be a positive number.

    Raises:
        ModuleArgumentError: For a non-number, zero, a negative value or NaN.

    Example:
        >>> log_of_positive("ActNorm", "init_scale", 1.0)
        0.0
    """
    if isinstance(value, bool) or not isinstance(value, Real) or not value > 0:
        raise ModuleArgumentError(f"{owner}: {name} must be > 0, got {value!r}.")
    return math.log(value)


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


def check_condition_spatial_dims(module: Any, shape: Shape) -> None:
    """Check that every condition of ``module`` has the spatial dims of its input ``shape``.

    Raises:
        ModuleArgumentError: Naming the first condition whose spatial dims differ.
    """
    for i, cond_shape in enumerate(module.dims_c):
        if cond_shape[1:] != shape[1:]:
            raise ModuleArgumentError(
                f"{type(module).__name__}: condition {i} has shape {cond_shape}, but its spatial "
                f"dims must equal the input's {shape[1:]} (input shape {shape}); broadcast "
                f"vector conditions with a FeedForwardNode."
            )


def require_subnet_constructor(constructor: Any, owner: str) -> Callable[[int, int], nn.Module]:
    """Return ``constructor`` if it is callable, wrapped to check that it builds an ``nn.Module``.

    Raises:
        ModuleArgumentError: Naming ``owner`` if it is missing or not callable; when called, if
            it returns something else than an ``nn.Module`` (e.g. ``None``, a forgotten
            ``return``).
    """
    if constructor is None or not callable(constructor):
        raise ModuleArgumentError(
            f"{owner} needs a subnet_constructor: a callable (c_in, c_out) -> nn.Module, "
            f"got {constructor!r}."
        )

    def build(c_in: int, c_out: int) -> nn.Module:
        subnet = constructor(c_in, c_out)
        if not isinstance(subnet, nn.Module):
            raise ModuleArgumentError(
                f"{owner}: subnet_constructor({c_in}, {c_out}) returned "
                f"{type(subnet).__name__}, expected an nn.Module (a missing return?)."
            )
        return subnet

    return build


def check_seed(owner: str, seed: Any) -> int | None:
    """Return ``seed`` if it is ``None`` or an int in ``[0, 2**32 - 1]`` (numpy's range).

    Raises:
        ModuleArgumentError: For other values, e.g. ``seed=-1``.

    Example:
        >>> check_seed("PermuteRandom", 3)
        3
    """
    if seed is None:
        return None
    if isinstance(seed, bool) or not isinstance(seed, Integral) or not 0 <= seed < 2**32:
        raise ModuleArgumentError(
            f"{owner}: seed must be None or an int in [0, 2**32 - 1], got {seed!r}."
        )
    return seed


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
