"""What both containers do per block: call it in tuple mode and accumulate its log-det."""

from __future__ import annotations

from typing import Any

import torch
from torch import Tensor

from ..errors import InputCountError
from ..modules.base import InvertibleModule

__all__ = ["accumulate_log_det", "call_block", "finish_log_det"]


def call_block(
    module: Any, inputs: tuple, conditions: tuple, rev: bool, jac: bool, n_outputs: int
) -> tuple[tuple, Any]:
    """Call a block as containers do and check that it returned ``n_outputs`` tensors.

    Blocks without conditions are called without the ``c`` keyword (FrEIA-style user modules may
    not accept it); nested containers run in tuple mode.

    Raises:
        InputCountError: If the block returned a bare tensor or the wrong number of outputs.
    """
    if isinstance(module, InvertibleModule):
        out, log_jac_det = module._call_as_block(inputs, conditions, rev, jac)
    elif conditions:
        out, log_jac_det = module(inputs, c=conditions, rev=rev, jac=jac)
    else:
        out, log_jac_det = module(inputs, rev=rev, jac=jac)
    if isinstance(out, Tensor) or len(out) != n_outputs:
        got = "a bare tensor" if isinstance(out, Tensor) else f"{len(out)} tensors"
        raise InputCountError(
            f"{type(module).__name__} returned {got}, but {n_outputs} output(s) were expected; "
            f"modules return ((out_0, ...), log_jac_det)."
        )
    return out, log_jac_det


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
