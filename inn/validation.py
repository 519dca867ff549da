"""Call-time checks of tensor counts and shapes, in one message format, with a global switch.

Every module and container checks its inputs and conditions here before any tensor flows, so
a wrong shape raises a :class:`~inn.errors.ShapeError` naming the owner, the expected and the
actual shape, instead of failing deep inside a module or silently broadcasting.
``set_validation(False)`` turns the call-time checks off for hot loops; construction-time
checks always run.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from torch import Tensor

from .errors import ConditionError, InputCountError, ShapeError
from .utils import Shape, format_shape

__all__ = ["check_conditions", "check_inputs", "set_validation", "validation_enabled"]

_ENABLED = True


def validation_enabled() -> bool:
    """Whether call-time shape checks run (they do unless switched off)."""
    return _ENABLED


class set_validation:
    """Switch call-time checks on or off, globally or for a ``with`` block.

    Example:
        >>> set_validation(False)  # off from here on
        set_validation(False)
        >>> validation_enabled()
        False
        >>> with set_validation(True):
        ...     validation_enabled()
        True
        >>> validation_enabled()
        False
        >>> _ = set_validation(True)
    """

    def __init__(self, enabled: bool) -> None:
        global _ENABLED
        self.previous = _ENABLED
        self.enabled = bool(enabled)
        _ENABLED = self.enabled

    def __enter__(self) -> set_validation:
        return self

    def __exit__(self, *exc_info: object) -> None:
        global _ENABLED
        _ENABLED = self.previous

    def __repr__(self) -> str:
        return f"set_validation({self.enabled})"


def _plural(n: int, word: str) -> str:
    return f"{n} {word}" if n == 1 else f"{n} {word}s"


def _describe(tensor: Any) -> str:
    if isinstance(tensor, Tensor):
        return format_shape(tuple(tensor.shape), batch=None)
    return f"a {type(tensor).__name__}"


def check_inputs(
    owner: str,
    tensors: Sequence[Any],
    shapes: Sequence[Shape],
    *,
    rev: bool = False,
    names: Sequence[str] | None = None,
    relaxed: Sequence[bool] | None = None,
) -> int:
    """Check the inputs of a call against their declared shapes and return the batch size.

    Args:
        owner: Who is called, as messages name it (``"GLOWCouplingBlock"``, ``"GraphINN"``).
        tensors: The inputs (the outputs to invert, when ``rev``).
        shapes: The declared shapes without batch axis.
        rev: Whether the call runs in reverse (only changes the wording).
        names: Optional per-input descriptions, e.g. ``"InputNode 'x'"``.
        relaxed: Per input, whether only the batch size is checked here because the module that
            reads the tensor checks its shape itself (see ``InvertibleModule.checks_own_shapes``).

    Returns:
        The batch size shared by all inputs.

    Raises:
        InputCountError: If the number of tensors is wrong.
        ShapeError: If a tensor has the wrong shape, or the batch sizes differ.
    """
    what = "output to invert" if rev else "input"
    if len(tensors) != len(shapes):
        expected = _plural(len(shapes), "output" if rev else "input")
        raise InputCountError(
            f"{owner}: expected {expected}{' to invert' if rev else ''}, got {len(tensors)}."
        )
    if not tensors:
        return 0
    batch = None
    for i, (tensor, shape) in enumerate(zip(tensors, shapes, strict=True)):
        actual = getattr(tensor, "shape", None)
        if relaxed is not None and relaxed[i] and actual is not None and len(actual) >= 1:
            pass
        elif actual is None or len(actual) != len(shape) + 1 or actual[1:] != shape:
            label = f" ({names[i]})" if names else ""
            raise ShapeError(
                f"{owner} {what} {i}{label}: expected shape {format_shape(shape)}, "
                f"got {_describe(tensor)}."
            )
        if batch is None:
            batch = actual[0]
        elif actual[0] != batch:
            raise ShapeError(
                f"{owner} {what} {i}: batch size {actual[0]} differs from the batch size "
                f"{batch} of {what} 0."
            )
    return batch


def check_conditions(
    owner: str,
    conditions: Sequence[Any],
    shapes: Sequence[Shape],
    batch: int | None,
    *,
    names: Sequence[str] | None = None,
    vector_ok: bool = False,
    tensors_only: bool = False,
) -> None:
    """Check conditions against their declared shapes and the inputs' batch size.

    Args:
        owner: Who is called.
        conditions: The condition tensors.
        shapes: The declared condition shapes without batch axis.
        batch: The inputs' batch size; a condition must have exactly this batch (never 1 for
            broadcasting), unless ``batch`` is ``None``.
        names: Optional per-condition descriptions.
        vector_ok: Accept a ``(B,)`` tensor for a declared ``(1,)`` condition (FrEIA's
            documentation passes conditions this way). A ``(B,)`` tensor is always accepted for
            an empty ``(0,)`` condition: it carries per-sample indices (``GaussianMixtureModel``).
        tensors_only: Check only tensor conditions; other values (``GaussianMixtureModel``'s int
            seed or ``None`` index) are left to the module that reads them, which checks them.

    Raises:
        ConditionError: If conditions are missing or superfluous.
        ShapeError: If a condition has the wrong shape or batch size.
    """
    if len(conditions) != len(shapes):
        if not shapes:
            raise ConditionError(
                f"{owner} takes no conditions, but got {len(conditions)}."
            )
        raise ConditionError(
            f"{owner}: expected {_plural(len(shapes), 'condition')}, got {len(conditions)}."
        )
    for i, (cond, shape) in enumerate(zip(conditions, shapes, strict=True)):
        if tensors_only and not isinstance(cond, Tensor):
            continue
        label = f" ({names[i]})" if names else ""
        actual = getattr(cond, "shape", None)
        fits = actual is not None and len(actual) == len(shape) + 1 and actual[1:] == shape
        if not fits and actual is not None and len(actual) == 1:
            fits = shape == (0,) or (vector_ok and shape == (1,))
        if not fits:
            raise ShapeError(
                f"{owner} condition {i}{label}: expected shape {format_shape(shape)}, "
                f"got {_describe(cond)}."
            )
        if batch is not None and actual[0] != batch:
            raise ShapeError(
                f"{owner} condition {i}{label}: batch size {actual[0]} does not match the "
                f"inputs' batch size {batch} (conditions are never broadcast)."
            )
