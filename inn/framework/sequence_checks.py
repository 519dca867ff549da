"""Checks of ``SequenceINN``: the construction steps of ``append``, replacements and calls."""

from __future__ import annotations

from typing import Any

import torch.nn as nn
from torch import Tensor

from ..errors import (
    ConditionError,
    InnError,
    InputCountError,
    ModuleArgumentError,
    with_context,
)
from ..utils import Shape, ShapeList, normalize_dims
from ..validation import (
    check_conditions,
    check_finite,
    check_inputs,
    full_validation_enabled,
    reference_tensor,
)

__all__ = [
    "check_call",
    "check_condition_shapes",
    "check_instance",
    "check_replacement",
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


def check_replacement(existing: Any, value: nn.Module, position: int) -> None:
    """Check that ``value`` can replace block ``position`` (``net[i] = value``): same shapes.

    Raises:
        ModuleArgumentError: Naming the block and the differing input, output or condition
            shapes.
    """
    context = f"SequenceINN block {position} ({type(value).__name__})"
    checks = [
        ("input shapes", existing.dims_in, getattr(value, "dims_in", None)),
        ("output shapes", existing.output_dims(existing.dims_in),
         value.output_dims(getattr(value, "dims_in", existing.dims_in))),
        ("condition shapes", list(existing.dims_c), list(getattr(value, "dims_c", []))),
    ]
    for what, expected, actual in checks:
        if normalize_dims(expected) != normalize_dims(actual):
            raise ModuleArgumentError(
                f"{context}: the replacement has {what} {actual}, expected {expected}."
            )


def check_call(net: Any, x_or_z: tuple, c: tuple, rev: bool) -> None:
    """Check one call of a ``SequenceINN``: one input tensor, and conditions without gaps.

    Raises:
        InputCountError: For more than one input tensor.
        ConditionError: For conditions no block uses.
        ShapeError: For wrongly shaped inputs or conditions.
        InputTypeError: For non-tensors, or a dtype or device other than the network's.
        NonFiniteError: Under ``set_validation("full")``, for NaN or Inf in inputs or conditions.
    """
    if x_or_z and not isinstance(x_or_z[0], Tensor):  # [1.0, 2.0] is no list of 2 inputs
        check_inputs("SequenceINN", x_or_z[:1], [net.shapes[0]], rev=rev)
    if len(x_or_z) != 1:
        raise InputCountError(
            f"SequenceINN takes exactly one input tensor, got {len(x_or_z)}."
        )
    reader = net.module_list[-1 if rev else 0] if len(net.module_list) else None
    reference = reference_tensor(net)
    batch = check_inputs("SequenceINN", x_or_z, [net.shapes[-1] if rev else net.shapes[0]],
                         rev=rev, relaxed=[getattr(reader, "checks_own_shapes", False)],
                         reference=reference)
    if net._unused_conditions:
        raise ConditionError(
            f"SequenceINN: conditions {net._unused_conditions} are not used by any block "
            f"(block conditions: {net.conditions}); use the indices 0, 1, ... without gaps."
        )
    if len(c) > net._n_conditions and net._n_conditions:
        unused = list(range(net._n_conditions, len(c)))
        raise ConditionError(
            f"SequenceINN: got {len(c)} conditions, but the blocks use only indices "
            f"0..{net._n_conditions - 1}; conditions {unused} would be unused."
        )
    check_conditions("SequenceINN", c, net.dims_c, batch, vector_ok=True,
                     tensors_only=net._lenient_conditions, reference=reference)
    if full_validation_enabled():
        check_finite("SequenceINN", x_or_z, "output to invert" if rev else "input")
        check_finite("SequenceINN", c, "condition")
