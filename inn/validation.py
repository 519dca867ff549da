"""Call-time checks of tensor kinds, counts and shapes, in one message format, with a switch.

Every module and container checks its inputs and conditions here before any tensor flows, so
a wrong shape raises a :class:`~inn.errors.ShapeError` naming the owner, the expected and the
actual shape, and a numpy array, an integer tensor or a float64 tensor into a float32 network
raises an :class:`~inn.errors.InputTypeError` saying how to convert it, instead of failing deep
inside a module, truncating or silently broadcasting. ``set_validation(False)`` turns the
call-time checks off for hot loops; ``set_validation("full")`` adds finite-value checks of
inputs, outputs and log-dets (one host sync per block). Construction-time checks always run.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from torch import Tensor

from .errors import ConditionError, InputCountError, ShapeError
from .utils import Shape, format_shape
from .validation_kinds import _kind_error, check_clamp, check_finite, reference_tensor

__all__ = [
    "check_clamp",
    "check_conditions",
    "check_finite",
    "check_inputs",
    "full_validation_enabled",
    "reference_tensor",
    "set_validation",
    "validation_enabled",
]

_ENABLED = True
_FULL = False


def validation_enabled() -> bool:
    """Whether call-time shape checks run (they do unless switched off)."""
    return _ENABLED


def full_validation_enabled() -> bool:
    """Whether finite-value checks run too (``set_validation("full")``)."""
    return _FULL


def _parse_mode(enabled: bool | str) -> tuple[bool, bool]:
    if enabled == "full":
        return True, True
    if isinstance(enabled, str):
        raise ValueError(
            f"set_validation takes True, False or 'full', got {enabled!r}."
        )
    return bool(enabled), False


class set_validation:
    """Switch call-time checks on or off, globally or for a ``with`` block.

    Args:
        enabled: ``True`` (the default state: kinds, dtypes, counts and shapes), ``False`` (no
            call-time checks) or ``"full"`` (also NaN/Inf in inputs, and in each block's outputs
            and log-det, naming the first block that produced one).

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
        >>> with set_validation("full"):
        ...     full_validation_enabled()
        True
        >>> _ = set_validation(True)
    """

    def __init__(self, enabled: bool | str) -> None:
        global _ENABLED, _FULL
        self.previous = (_ENABLED, _FULL)
        _ENABLED, _FULL = _parse_mode(enabled)
        self.enabled: bool | str = "full" if _FULL else _ENABLED

    def __enter__(self) -> set_validation:
        return self

    def __exit__(self, *exc_info: object) -> None:
        global _ENABLED, _FULL
        _ENABLED, _FULL = self.previous

    def __repr__(self) -> str:
        return f"set_validation({self.enabled!r})"


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
    reference: Tensor | None = None,
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
        reference: A tensor of the owner's state (:func:`reference_tensor`) whose dtype and
            device the inputs must have; ``None``: any floating dtype.

    Returns:
        The batch size shared by all inputs.

    Raises:
        InputCountError: If the number of tensors is wrong.
        InputTypeError: For a non-tensor, an integer or complex tensor, or a dtype or device
            that differs from ``reference``.
        ShapeError: If a tensor has the wrong shape, the batch sizes differ, or the batch is
            empty.
    """
    what = "output to invert" if rev else "input"
    for i, tensor in enumerate(tensors):  # before the count: [1.0, 2.0] is no list of 2 inputs
        if not isinstance(tensor, Tensor):
            raise _kind_error(owner, what, i, f" ({names[i]})" if names and i < len(names)
                              else "", tensor, reference)
    if len(tensors) != len(shapes):
        expected = _plural(len(shapes), "output" if rev else "input")
        raise InputCountError(
            f"{owner}: expected {expected}{' to invert' if rev else ''}, got {len(tensors)}."
        )
    if not tensors:
        return 0
    batch = None
    for i, (tensor, shape) in enumerate(zip(tensors, shapes, strict=True)):
        if (tensor.dtype != reference.dtype or tensor.device != reference.device
                if reference is not None else not tensor.is_floating_point()):
            label = f" ({names[i]})" if names else ""
            raise _kind_error(owner, what, i, label, tensor, reference)
        actual = tensor.shape
        if relaxed is not None and relaxed[i] and len(actual) >= 1:
            pass
        elif len(actual) != len(shape) + 1 or actual[1:] != shape:
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
    if batch == 0:
        raise ShapeError(f"{owner} {what} 0: the batch is empty (batch size 0).")
    return batch


def check_conditions(
    owner: str,
    conditions: Sequence[Any],
    shapes: Sequence[Shape],
    batch: int | None,
    *,
    names: Sequence[str] | None = None,
    vector_ok: bool = False,
    tensors_only: bool | Sequence[bool] = False,
    reference: Tensor | None = None,
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
        tensors_only: Check only tensor conditions (one flag for all, or one per condition);
            other values (``GaussianMixtureModel``'s int seed or ``None`` index) are left to
            the module that reads them, which checks them. Containers set it only for
            conditions that only such modules read.
        reference: As for :func:`check_inputs`; only floating conditions must match its dtype
            (integer conditions may be labels or indices), and all must match its device.

    Raises:
        ConditionError: If conditions are missing or superfluous.
        InputTypeError: For a non-tensor (unless ``tensors_only``), a complex tensor, or a
            floating dtype or device that differs from ``reference``.
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
        if not isinstance(cond, Tensor):
            if tensors_only is True or (tensors_only is not False and tensors_only[i]):
                continue
            raise _kind_error(owner, "condition", i, f" ({names[i]})" if names else "", cond,
                              reference)
        if cond.is_complex() or (reference is not None and (
                cond.device != reference.device
                or (cond.is_floating_point() and cond.dtype != reference.dtype))):
            raise _kind_error(owner, "condition", i, f" ({names[i]})" if names else "", cond,
                              reference)
        label = f" ({names[i]})" if names else ""
        actual = cond.shape
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
