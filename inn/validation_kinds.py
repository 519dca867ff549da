"""Kind, dtype, device and finite-value checks of call inputs, and bound checks at construction."""

from __future__ import annotations

import math
from collections.abc import Sequence
from numbers import Real
from typing import Any

import torch
from torch import Tensor

from .errors import InputTypeError, ModuleArgumentError, NonFiniteError
from .utils import describe_kind

__all__ = ["check_clamp", "check_finite", "reference_tensor"]


def reference_tensor(module: Any) -> Tensor | None:
    """The module's first floating parameter or buffer, whose dtype and device inputs must have.

    Cached on the module (``InvertibleModule._apply`` drops the cache on ``.to()``); the tensor
    object itself is cached, so moving a submodule alone is seen too. ``None`` for modules
    without floating state, which accept any floating dtype. Buffers of modules that set
    ``any_float_dtype`` (constant kernels cast to the input's dtype at each call) do not count.
    """
    if torch.compiler.is_compiling():
        # Traced, the walk over all parameters and the cache write would become guards on
        # every parameter, checked at each call; compiled graphs guard the inputs' dtypes.
        return None
    cached = module.__dict__.get("_reference_tensor")
    if cached is None:  # a 1-tuple or (), never a bare tensor attribute (torch.export warns)
        first = next((t for t in _states(module) if t.is_floating_point()), None)
        cached = () if first is None else (first,)
        module.__dict__["_reference_tensor"] = cached
    return cached[0] if cached else None


def _states(module: Any) -> Any:
    yield from module.parameters()
    for sub in module.modules():
        if not getattr(sub, "any_float_dtype", False):
            yield from sub.buffers(recurse=False)


def _kind_error(owner: str, what: str, index: int, label: str, tensor: Any,
                reference: Tensor | None) -> InputTypeError:
    where = f"{owner} {what} {index}{label}"
    if not isinstance(tensor, Tensor):
        return InputTypeError(f"{where}: expected a tensor, got {describe_kind(tensor)}.")
    if tensor.is_complex() or not tensor.is_floating_point():
        target = "torch.float32" if reference is None else str(reference.dtype)
        return InputTypeError(
            f"{where}: expected a floating-point tensor, got dtype {tensor.dtype} (integer and "
            f"complex tensors would be truncated or mixed silently); convert it with "
            f".to({target})."
        )
    if tensor.dtype != reference.dtype:
        fix = ".float()" if reference.dtype == torch.float32 else f".to({reference.dtype})"
        return InputTypeError(
            f"{where}: got dtype {tensor.dtype}, but {owner} computes in {reference.dtype}; "
            f"convert the input with x{fix}, or the network with net.to({tensor.dtype})."
        )
    return InputTypeError(
        f"{where}: the tensor is on device {tensor.device}, but {owner} is on "
        f"{reference.device}; move it with x.to({str(reference.device)!r}) or the network "
        f"with net.to({str(tensor.device)!r})."
    )


def check_finite(owner: str, tensors: Sequence[Any], what: str, log_jac_det: Any = None) -> None:
    """Raise if a tensor (or the log-det) holds NaN or Inf; used by ``set_validation("full")``.

    Args:
        owner: Who produced or receives the tensors, as messages name it.
        tensors: The tensors to check (non-tensors and integer tensors are skipped).
        what: ``"input"``, ``"output"``, ... for the message.
        log_jac_det: A log-det to check too, or ``None``.

    Raises:
        NonFiniteError: Naming the owner, the tensor and how many values are not finite.

    Example:
        >>> check_finite("ActNorm", [torch.tensor([[1.0, float("nan")]])], "output")
        Traceback (most recent call last):
        ...
        inn.errors.NonFiniteError: ActNorm output 0 contains NaN or Inf (1 of 2 values).
    """
    items = [(f"{what} {i}", t) for i, t in enumerate(tensors)]
    if isinstance(log_jac_det, Tensor):
        items.append(("log-det", log_jac_det))
    for name, tensor in items:
        if isinstance(tensor, Tensor) and tensor.is_floating_point():
            finite = torch.isfinite(tensor)
            if not bool(finite.all()):
                bad = finite.numel() - int(finite.sum())
                raise NonFiniteError(
                    f"{owner} {name} contains NaN or Inf ({bad} of {finite.numel()} values)."
                )


def check_clamp(owner: str, name: str, value: Any, *, positive: bool = False) -> None:
    """Check a soft-clamp bound at construction: a finite real number, ``>= 0`` (or ``> 0``).

    ``inf`` would make the clamped log-scales unbounded (outputs overflow to inf/NaN) and a
    string would fail only at the first comparison; both are rejected here.

    Raises:
        ModuleArgumentError: Naming the owner, the argument and the value.

    Example:
        >>> check_clamp("Affine", "clamp", float("inf"))
        Traceback (most recent call last):
        ...
        inn.errors.ModuleArgumentError: Affine: clamp must be non-negative, got inf; it must be a finite real number.
    """  # noqa: E501
    bound = "positive" if positive else "non-negative"
    if (isinstance(value, bool) or not isinstance(value, Real) or not math.isfinite(value)
            or value < 0 or (positive and value == 0)):
        raise ModuleArgumentError(
            f"{owner}: {name} must be {bound}, got {value!r}; it must be a finite real number.")
