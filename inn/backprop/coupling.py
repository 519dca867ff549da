r"""Backward through a coupling block with one subnet evaluation per step instead of two.

A coupling step computes :math:`\theta = \mathrm{net}([x_b, c])` from its passive part, which
it leaves unchanged, and maps the active part elementwise, :math:`y_a = \tau(x_a; \theta)`. The
inverse needs the same :math:`\theta` (the passive part is the same before and after), so the
backward pass evaluates the subnet once, with grad, and uses it twice: to rebuild
:math:`x_a = \tau^{-1}(y_a; \theta)` without grad, and to re-run :math:`\tau(x_a; \theta)` with
grad for the vector-Jacobian product. The steps are processed last to first, as the inverse
runs them. Compared with inverting the whole block and then re-running it, this saves one
subnet evaluation per step: a training step costs one extra forward pass, not two.

Used for blocks that keep :class:`~inn.modules.CouplingBase`'s sweep (``_forward``,
``_inverse`` and ``_step`` not overridden, or ``CouplingBlock``'s step without an element
mask) and run directly (no hooks); its hooks
(``_split``, ``_merge``, ``_steps``, ``_predict_parameters``, ``_transformer_for``) are used
as the block defines them. The registry's gradient tests pin this path against standard
backprop for every coupling configuration.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import Tensor

from ..framework.execution import accumulate_log_det, runs_directly
from ..modules.coupling.base import CouplingBase
from ..modules.coupling.general import CouplingBlock
from .transformer_step import rerun_step

__all__ = ["add_gradient", "backward_coupling", "fusable", "vjp_roots"]


def fusable(module: Any) -> bool:
    """Whether ``module`` is a coupling whose sweep is ``CouplingBase``'s own.

    ``CouplingBlock`` (and its subclasses that keep its step) count too unless they use an
    element mask: its step adds only the mask and otherwise defers to the base step.
    """
    cls = type(module)
    if not (isinstance(module, CouplingBase) and runs_directly(module)
            and cls._forward is CouplingBase._forward
            and cls._inverse is CouplingBase._inverse):
        return False
    if cls._step is CouplingBase._step:
        return True
    return cls._step is CouplingBlock._step and not module.element_mask


def backward_coupling(
    module: CouplingBase, output: Tensor, conditions: tuple, rev: bool, out_grad: Tensor | None,
    log_det_grad: Tensor | None, condition_leaves: tuple, params: list,
) -> tuple[Tensor, Tensor | None, list, list]:
    """Rebuild a coupling's input from its output and backpropagate through it.

    Args:
        module: The coupling.
        output: What the block returned in the executed direction (``rev`` flips it).
        conditions: The block's conditions (values).
        rev: Whether the block ran in reverse.
        out_grad: The gradient of the block's output, or ``None``.
        log_det_grad: The gradient of the container's total log-det, or ``None``.
        condition_leaves: Leaves standing for ``conditions`` (requiring grad where wanted).
        params: The block's parameters that require grad.

    Returns:
        ``(input, input_grad, condition_grads, param_grads)``; gradients are ``None`` where
        nothing flows.
    """
    c = condition_leaves
    if c and module._unit_conditions:
        c = tuple(t.unsqueeze(1) if t.dim() == 1 else t for t in c)
    with torch.no_grad():
        parts = module._split(output)
    grads: list[Tensor | None] = (list(module._split(out_grad)) if out_grad is not None
                                  else [None] * len(parts))
    condition_grads: list[Tensor | None] = [None] * len(condition_leaves)
    param_grads: list[Tensor | None] = [None] * len(params)
    executed = list(reversed(module._steps)) if rev else list(module._steps)
    for active, predictor in reversed(executed):
        passive = parts[1 - active].detach().requires_grad_()
        conditioner_input = torch.cat([passive, *c], dim=1) if c else passive
        parameters = module._predict_parameters(predictor, conditioner_input)
        transformer = module._transformer_for(passive, c)
        leaf, after, log_jac_det = rerun_step(transformer, parts[active], parameters, rev)
        before = leaf.detach()
        roots, root_grads = vjp_roots([(after, grads[active])], log_jac_det, log_det_grad)
        parts[active] = before
        if not roots:
            continue
        leaves = [t for t in condition_leaves if t.requires_grad]
        found = torch.autograd.grad(roots, [leaf, passive, *leaves, *params], root_grads,
                                    allow_unused=True)
        grads[active] = found[0]
        grads[1 - active] = add_gradient(grads[1 - active], found[1])
        found_conditions = iter(found[2:2 + len(leaves)])
        for i, t in enumerate(condition_leaves):
            if t.requires_grad:
                condition_grads[i] = add_gradient(condition_grads[i], next(found_conditions))
        for i, grad in enumerate(found[2 + len(leaves):]):
            param_grads[i] = add_gradient(param_grads[i], grad)
    with torch.no_grad():
        rebuilt = module._merge(parts)
        input_grad = None
        if any(g is not None for g in grads):
            input_grad = module._merge([g if g is not None else torch.zeros_like(p)
                                        for g, p in zip(grads, parts, strict=True)])
    return rebuilt, input_grad, condition_grads, param_grads


def vjp_roots(
    outputs: list[tuple[Any, Tensor | None]], log_jac_det: Any, log_det_grad: Tensor | None,
) -> tuple[list[Tensor], list[Tensor]]:
    """The roots of a re-run's vector-Jacobian product and their gradients.

    Args:
        outputs: ``(value, gradient)`` pairs; pairs without a gradient, or whose value autograd
            did not record, are left out.
        log_jac_det: The re-run's log-det, or ``None``.
        log_det_grad: The gradient of the container's total log-det, or ``None``.

    Returns:
        ``(roots, root_grads)`` for ``torch.autograd.grad``; the log-det enters as its
        contribution to the ``(B,)`` total unless it is a constant (volume-preserving maps).
    """
    roots, root_grads = [], []
    for value, grad in outputs:
        if grad is not None and isinstance(value, Tensor) and value.requires_grad:
            roots.append(value)
            root_grads.append(grad)
    if log_det_grad is not None and log_jac_det is not None:
        contribution = accumulate_log_det(torch.zeros_like(log_det_grad), log_jac_det,
                                          log_det_grad)
        if contribution.requires_grad:
            roots.append(contribution)
            root_grads.append(log_det_grad)
    return roots, root_grads


def add_gradient(total: Tensor | None, grad: Tensor | None) -> Tensor | None:
    """``total + grad``, where ``None`` stands for a gradient that did not flow."""
    if grad is None:
        return total
    return grad if total is None else total + grad
