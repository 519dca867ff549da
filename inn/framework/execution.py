"""What both containers do per block: call it in tuple mode and accumulate its log-det."""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.modules.module as module_hooks
from torch import Tensor

from .. import validation
from ..errors import InputCountError, ShapeError
from ..modules.base import InvertibleModule

__all__ = ["accumulate_log_det", "call_block", "check_log_det_shape", "finish_log_det"]


# Classes whose instances may be run through their hooks directly, by class (see _plain_builtin).
_PLAIN_BUILTIN: dict[type, bool] = {}


def _plain_builtin(cls: type) -> bool:
    """Whether ``cls`` is one of inn's own modules that uses the template ``forward`` unchanged.

    Their outputs have the shapes of ``output_dims`` (the registry's contract tests check every
    one), so a container that checked its own inputs need not re-check theirs. User classes,
    subclasses defined outside ``inn``, modules that check their own shapes, containers and
    wrappers that override ``forward`` or ``_call_as_block`` are not plain.
    """
    plain = _PLAIN_BUILTIN.get(cls)
    if plain is None:
        plain = _PLAIN_BUILTIN[cls] = (
            issubclass(cls, InvertibleModule)
            and cls.__module__.startswith("inn.")
            and cls.forward is InvertibleModule.forward
            and cls._call_as_block is InvertibleModule._call_as_block
            and not cls.checks_own_shapes
        )
    return plain


# torch's registries of hooks for all modules, filled in place by register_module_*_hook (private
# names, pinned by tests/framework/test_direct_calls.py; read in eager mode only)
_GLOBAL_HOOK_NAMES = (
    "_global_forward_hooks", "_global_forward_pre_hooks", "_global_backward_hooks",
    "_global_backward_pre_hooks", "_global_forward_hooks_always_called",
)
_GLOBAL_HOOKS = tuple(
    getattr(module_hooks, name) for name in _GLOBAL_HOOK_NAMES if hasattr(module_hooks, name)
)


def _global_hooks_active() -> bool:
    """Whether module hooks registered for all modules exist (they must see every call)."""
    return any(_GLOBAL_HOOKS)


def runs_directly(module: Any) -> bool:
    """Whether a container may call ``module._dispatch`` instead of ``module(...)``.

    True for plain built-in modules (see :func:`_plain_builtin`) without hooks, without an
    instance-level ``forward`` and not compiled with ``Module.compile``: for them
    ``nn.Module.__call__`` and the public ``forward`` add nothing but their overhead.
    """
    return (_plain_builtin(type(module))
            and not (module._forward_hooks or module._forward_pre_hooks
                     or module._backward_hooks or module._backward_pre_hooks)
            and "forward" not in module.__dict__
            and getattr(module, "_compiled_call_impl", None) is None
            and not _global_hooks_active())


def call_block(
    module: Any, inputs: tuple, conditions: tuple, rev: bool, jac: bool, n_outputs: int,
    inputs_checked: bool = False,
) -> tuple[tuple, Any, bool]:
    """Call a block as containers do and check that it returned ``n_outputs`` tensors.

    Blocks without conditions are called without the ``c`` keyword (FrEIA-style user modules may
    not accept it); nested containers run in tuple mode. With ``inputs_checked`` (the inputs
    are the container's checked inputs or outputs of directly run built-in blocks) a block that
    :func:`runs_directly` skips ``nn.Module.__call__`` and the checks it would repeat.

    Returns:
        ``(outputs, log_jac_det, checked)``: ``checked`` says whether the outputs are known to
        have the declared shapes (a built-in block without hooks produced them), for the next
        block's call.

    Raises:
        InputCountError: If the block returned a bare tensor or the wrong number of outputs.
    """
    # Under torch.compile the full call is traced instead: dynamo inlines nn.Module.__call__ and
    # the checks for free at run time, and reading the class cache here would guard on it.
    direct = not torch.compiler.is_compiling() and runs_directly(module)
    if direct and inputs_checked:
        out, log_jac_det = module._dispatch(inputs, conditions, rev, jac)
        if validation._FULL:
            _check_block_finite(module, out, log_jac_det, rev, jac)
        return out, log_jac_det, True
    if isinstance(module, InvertibleModule):
        out, log_jac_det = module._call_as_block(inputs, conditions, rev, jac)
    elif conditions:
        out, log_jac_det = module(inputs, c=conditions, rev=rev, jac=jac)
    else:
        out, log_jac_det = module(inputs, rev=rev, jac=jac)
    if isinstance(out, Tensor) or len(out) != n_outputs:
        raise _wrong_outputs(module, out, log_jac_det, n_outputs)
    if jac:
        check_log_det_shape(module, log_jac_det, inputs[0].shape[0])
    if validation._FULL:
        _check_block_finite(module, out, log_jac_det, rev, jac)
    return out, log_jac_det, direct  # a built-in block's own forward checked its inputs


def _wrong_outputs(module: Any, out: Any, log_jac_det: Any, n_outputs: int) -> InputCountError:
    name = type(module).__name__
    if isinstance(out, Tensor) and isinstance(log_jac_det, (tuple, list)):
        return InputCountError(
            f"{name} returned (log_jac_det, outputs) in swapped order; modules return "
            f"((out_0, ...), log_jac_det)."
        )
    got = "a bare tensor" if isinstance(out, Tensor) else f"{len(out)} tensors"
    return InputCountError(
        f"{name} returned {got}, but {n_outputs} output(s) were expected; modules return "
        f"((out_0, ...), log_jac_det)."
    )


def _check_block_finite(module: Any, out: tuple, log_jac_det: Any, rev: bool, jac: bool) -> None:
    """``set_validation("full")``: the block's outputs and log-det must be finite."""
    validation.check_finite(
        f"{type(module).__name__} (the first block to produce a non-finite value)", out,
        "reconstructed input" if rev else "output", log_jac_det if jac else None)


def check_log_det_shape(module: Any, log_jac_det: Any, batch: int) -> None:
    """Reject a log-det that would broadcast silently against the ``(B,)`` total.

    Allowed: ``None``, a number, a 0-dim tensor or a ``(B,)`` tensor; ``(B, K, ...)`` only from
    modules that declare ``multi_dim_log_det`` (``GaussianMixtureModel``'s all-components mode,
    and nested containers, which checked their own blocks).

    Raises:
        ShapeError: For any other tensor, e.g. a ``(B, 1)`` log-det from ``sum(1, keepdim=True)``.
    """
    if not isinstance(log_jac_det, Tensor) or log_jac_det.dim() == 0:
        return
    shape = tuple(log_jac_det.shape)
    if shape == (batch,):
        return
    if (len(shape) > 1 and shape[0] == batch
            and getattr(module, "multi_dim_log_det", False)):
        return
    raise ShapeError(
        f"{type(module).__name__} returned a log-det of shape {shape}, expected ({batch},) "
        f"(one value per sample), a 0-dim tensor or a number; a (B, 1) log-det usually comes "
        f"from sum(..., keepdim=True)."
    )


def _as_batch_log_det(log_jac_det: Any, reference: Tensor) -> Tensor | None:
    """Broadcast user log-dets (``None``, a number, a 0-dim tensor) to ``(B,)``."""
    if log_jac_det is None:
        return None
    batch = reference.shape[0]
    if isinstance(log_jac_det, Tensor):
        if log_jac_det.dim() == 0:
            return log_jac_det.to(reference.dtype).expand(batch)
        return log_jac_det
    return torch.full((batch,), float(log_jac_det), dtype=reference.dtype,
                      device=reference.device)


_LOW_PRECISION = (torch.float16, torch.bfloat16)


def accumulate_log_det(total: Tensor | None, log_jac_det: Any, reference: Tensor) -> Tensor | None:
    """Add one block's log-det to the running total.

    ``(B,)`` tensors are added directly; ``None``, numbers and 0-dim tensors from user modules
    are broadcast to ``(B,)`` in the reference dtype. A ``(B, K)`` log-det (the all-components
    mode of ``GaussianMixtureModel``) broadcasts the total instead.
    """
    if not (isinstance(log_jac_det, Tensor) and log_jac_det.dim() == 1):
        log_jac_det = _as_batch_log_det(log_jac_det, reference)
        if log_jac_det is None:
            return total
    if log_jac_det.dtype in _LOW_PRECISION and reference.dtype not in _LOW_PRECISION:
        # under autocast a block may return a bf16/fp16 log-det: sum in the input's dtype
        log_jac_det = log_jac_det.to(reference.dtype)
    if total is None:
        return log_jac_det
    if log_jac_det.dim() == total.dim():
        return total + log_jac_det
    if log_jac_det.dim() > total.dim():
        total = total.reshape(total.shape + (1,) * (log_jac_det.dim() - total.dim()))
    else:
        log_jac_det = log_jac_det.reshape(
            log_jac_det.shape + (1,) * (total.dim() - log_jac_det.dim())
        )
    return total + log_jac_det


def finish_log_det(total: Tensor | None, reference: Tensor) -> Tensor:
    """The total log-det, or ``(B,)`` zeros in the reference dtype if nothing contributed."""
    if total is None:
        return reference.new_zeros(reference.shape[0])
    return total
