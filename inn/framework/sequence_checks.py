"""Checks and construction steps of ``SequenceINN.append``, each raising a named error."""

from __future__ import annotations

from typing import Any

import torch.nn as nn

from ..errors import InnError, ModuleArgumentError, with_context
from ..utils import Shape, ShapeList, normalize_dims

__all__ = [
    "check_condition_shapes",
    "check_instance",
    "construct",
    "parse_cond",
    "parse_cond_shape",
]


def parse_cond(cond: Any, position: int) -> tuple[int, ...] | None:
    """Turn ``cond`` (``None``, an int or a list of ints) into a tuple of indices or ``None``."""
    if cond is None:
        return None
    indices = (cond,) if isinstance(cond, int) else tuple(cond)
    if not indices or any(isinstance(i, bool) or not isinstance(i, int) or i < 0 for i in indices):
        raise ModuleArgumentError(
            f"SequenceINN block {position}: cond must be a non-negative int or a list of "
            f"them, got {cond!r}."
        )
    return indices


def parse_cond_shape(
    indices: tuple[int, ...] | None, cond_shape: Any, position: int, module_class: Any
) -> ShapeList:
    """The condition shapes of a block appended with ``cond`` and ``cond_shape``."""
    name = getattr(module_class, "__name__", str(module_class))
    if indices is None:
        if cond_shape is not None:
            raise ModuleArgumentError(
                f"SequenceINN block {position} ({name}): cond_shape={cond_shape!r} was given "
                f"without cond."
            )
        return []
    if cond_shape is None:
        raise ModuleArgumentError(
            f"SequenceINN block {position} ({name}): cond={indices if len(indices) > 1 else indices[0]} "  # noqa: E501
            f"needs cond_shape, the shape of that condition."
        )
    if len(indices) == 1:
        return normalize_dims([cond_shape])
    shapes = normalize_dims(cond_shape)
    if len(shapes) != len(indices):
        raise ModuleArgumentError(
            f"SequenceINN block {position} ({name}): {len(indices)} condition indices need "
            f"{len(indices)} shapes, got {shapes}."
        )
    return shapes


def check_instance(
    module: nn.Module,
    dims_in: list,
    indices: tuple | None,
    cond_shape: Any,
    kwargs: dict,
    position: int,
) -> nn.Module:
    """Check a pre-built block against the chain and its ``cond`` / ``cond_shape``."""
    context = f"SequenceINN block {position} ({type(module).__name__})"
    if kwargs:
        raise ModuleArgumentError(
            f"{context}: a pre-built module takes no constructor kwargs, got {sorted(kwargs)}."
        )
    actual, expected = getattr(module, "dims_in", None), dims_in
    if actual != expected:
        raise ModuleArgumentError(
            f"{context}: the module expects input shapes {actual}, but the previous block "
            f"outputs {expected}."
        )
    dims_c = list(getattr(module, "dims_c", []))
    if indices is None and dims_c:
        raise ModuleArgumentError(
            f"{context}: the module takes conditions {dims_c}, but no cond index was given."
        )
    if indices is not None and len(indices) != len(dims_c):
        raise ModuleArgumentError(
            f"{context}: cond gives {len(indices)} condition(s), but the module takes "
            f"{len(dims_c)} ({dims_c})."
        )
    if cond_shape is not None and indices is not None:
        given = parse_cond_shape(indices, cond_shape, position, type(module))
        if given != dims_c:
            raise ModuleArgumentError(
                f"{context}: cond_shape {given} differs from the module's dims_c {dims_c}."
            )
    return module


def construct(
    module_class: Any,
    dims_in: ShapeList,
    cond_shapes: ShapeList,
    kwargs: dict,
    position: int,
) -> nn.Module:
    """Build a block from its class; constructor errors name the block."""
    if not callable(module_class):
        raise ModuleArgumentError(
            f"SequenceINN block {position}: expected an InvertibleModule class or instance, "
            f"got a {type(module_class).__name__}."
        )
    if cond_shapes:
        kwargs = {**kwargs, "dims_c": cond_shapes}
    try:
        return module_class(dims_in, **kwargs)
    except InnError as error:
        name = getattr(module_class, "__name__", str(module_class))
        raise with_context(error, f"SequenceINN block {position} ({name})") from error


def check_condition_shapes(
    known_shapes: dict[int, Shape],
    indices: tuple | None,
    shapes: ShapeList,
    position: int,
    module: nn.Module,
) -> None:
    """Check that the block's condition shapes agree with earlier blocks using the indices."""
    for index, shape in zip(indices or (), shapes, strict=True):
        known = known_shapes.get(index)
        if known is not None and known != shape:
            raise ModuleArgumentError(
                f"SequenceINN block {position} ({type(module).__name__}): condition {index} "
                f"has shape {known} for earlier blocks, but this block gives {shape}."
            )
