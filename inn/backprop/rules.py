"""Blocks whose backward step has a rule of its own instead of invert, re-run, differentiate.

A rule takes a block's output in the executed direction and the gradients arriving there and
returns the rebuilt input with the gradients of the input, the conditions and the parameters,
as :func:`~inn.backprop.coupling.backward_coupling` does for couplings. Rules apply only to
inn's own classes run directly (no hooks, no parametrizations, no FSDP wrapping: those change
the class or the call), in a single dtype; every other block takes the general path.

Example:
    >>> from inn.modules import ActNorm
    >>> norm = ActNorm([(3,)])
    >>> backward_rule(norm, torch.zeros(2, 3)).__name__
    '_act_norm'
    >>> norm.register_forward_hook(lambda *args: None)  # doctest: +ELLIPSIS
    <torch.utils.hooks.RemovableHandle object at ...>
    >>> backward_rule(norm, torch.zeros(2, 3)) is None
    True
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch
from torch import Tensor

from ..framework.execution import runs_directly
from ..modules.coupling.all_in_one import AllInOneBlock
from ..modules.coupling.base import CouplingBase
from ..modules.elementary import InvertibleLinear
from ..modules.fixed import Fixed1x1Conv
from ..modules.linear_functional import lu_solve, qr_solve
from ..modules.normalization import ActNorm
from .all_in_one import backward_all_in_one
from .closed_form import act_norm_backward, conv1x1_backward, linear_backward
from .coupling import backward_coupling, fusable

__all__ = ["Rule", "backward_rule", "runs_module_code"]

#: ``(module, output, conditions, rev, out_grad, log_det_grad, condition_leaves, params)`` ->
#: ``(input, input_grad, condition_grads, param_grads)``, gradients aligned with the leaves and
#: ``params``, ``None`` where nothing flows.
Rule = Callable[..., tuple[Tensor, Tensor | None, list, list]]


def backward_rule(module: Any, output: Tensor) -> Rule | None:
    """The rule for ``module`` with ``output`` as its output, or ``None`` for the general path."""
    if fusable(module):
        return backward_coupling
    cls = type(module)
    if cls is AllInOneBlock and runs_directly(module) and cls._step is CouplingBase._step:
        return backward_all_in_one
    if cls is ActNorm and runs_directly(module) \
            and module.loc.dtype == module.log_scale.dtype == output.dtype:
        return _act_norm
    if cls is Fixed1x1Conv and runs_directly(module) and module.M.dtype == output.dtype:
        return _conv1x1
    if cls is InvertibleLinear and runs_directly(module) \
            and all(p.dtype == output.dtype for p in module.parameters()):
        return _invertible_linear
    return None


def runs_module_code(rule: Rule) -> bool:
    """Whether ``rule`` calls the block's own code (whose buffers may then need restoring)."""
    return rule not in (_act_norm, _conv1x1, _invertible_linear)


def _act_norm(
    module: ActNorm, output: Tensor, conditions: tuple, rev: bool, out_grad: Tensor | None,
    log_det_grad: Tensor | None, condition_leaves: tuple, params: list,
) -> tuple[Tensor, Tensor | None, list, list]:
    with torch.no_grad():
        rebuilt, input_grad, log_scale_grad, loc_grad = act_norm_backward(
            output, module.loc, module.log_scale, module._positions, out_grad, log_det_grad,
            rev)
    found = {id(module.log_scale): log_scale_grad, id(module.loc): loc_grad}
    return rebuilt, input_grad, [], [found.get(id(p)) for p in params]


def _conv1x1(
    module: Fixed1x1Conv, output: Tensor, conditions: tuple, rev: bool,
    out_grad: Tensor | None, log_det_grad: Tensor | None, condition_leaves: tuple, params: list,
) -> tuple[Tensor, Tensor | None, list, list]:
    with torch.no_grad():
        rebuilt, input_grad = conv1x1_backward(output, module.M, module.M_inv, out_grad, rev)
    return rebuilt, input_grad, [], [None] * len(params)


def _invertible_linear(
    module: InvertibleLinear, output: Tensor, conditions: tuple, rev: bool,
    out_grad: Tensor | None, log_det_grad: Tensor | None, condition_leaves: tuple, params: list,
) -> tuple[Tensor, Tensor | None, list, list]:
    lu = module.parameterization == "lu"
    weights = [p for p in params if p is not module.bias]
    with torch.set_grad_enabled(bool(weights)):  # recorded for the factors' gradients
        matrix = module.matrix()
    with torch.no_grad():
        # W^-1 from the block's own triangular solves, applied to the identity
        solve = lu_solve if lu else qr_solve
        inverse = solve(*module._factors(), torch.eye(matrix.shape[0], dtype=matrix.dtype,
                                                      device=matrix.device))
        rebuilt, input_grad, matrix_grad, bias_grad = linear_backward(
            output, matrix.detach(), inverse, module.bias, out_grad, rev)
    found: dict[int, Tensor | None] = {}
    if module.bias is not None:
        found[id(module.bias)] = bias_grad
    if matrix_grad is not None and weights:  # through the small (C, C) parameterisation
        grads = torch.autograd.grad(matrix, weights, matrix_grad, allow_unused=True)
        found.update(zip(map(id, weights), grads, strict=True))
    log_diag = module.log_abs_s if lu else module.log_diag
    if log_det_grad is not None and log_diag.requires_grad:
        term = (module._positions * log_det_grad.sum()).to(log_diag.dtype)
        term = (-term if rev else term).expand_as(log_diag)
        previous = found.get(id(log_diag))
        found[id(log_diag)] = term if previous is None else previous + term
    return rebuilt, input_grad, [], [found.get(id(p)) for p in params]
