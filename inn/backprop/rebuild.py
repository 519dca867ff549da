"""Backward pass per task: rebuild a block's inputs by inverting it, then push its gradients."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import torch
import torch.nn as nn
from torch import Tensor

from ..framework.execution import call_block
from .coupling import add_gradient, vjp_roots
from .rules import Rule, backward_rule, runs_module_code
from .side_effects import preserved_buffers, restore_rng

if TYPE_CHECKING:
    from .function import _Call

__all__ = ["backward_task", "detach_value", "grad_leaf"]


def backward_task(
    call: _Call, index: int, task: Any, module: Any, values: list, slot_grads: list,
    kept: dict, log_det_grad: Tensor | None, param_grads: dict,
) -> None:
    """Rebuild one task's inputs, then push the gradients of its outputs to its inputs."""
    out_grads = [slot_grads[s] for s in task.writes]
    for slot in task.writes:
        slot_grads[slot] = None
    if index in call.graphs:
        input_leaves, condition_leaves, outputs, log_jac_det = call.graphs.pop(index)
        for slot, leaf in zip(task.reads, input_leaves, strict=True):
            values[slot] = detach_value(leaf)
        _accumulate(task, module, input_leaves, condition_leaves, outputs, log_jac_det,
                    out_grads, log_det_grad, slot_grads, param_grads)
        return
    conditions = tuple([values[s] for s in task.conditions])
    rule = None if index in call.rng else backward_rule(module, values[task.writes[0]])
    if rule is not None and not runs_module_code(rule):  # closed forms touch no buffers
        _backward_by_rule(rule, call, index, task, module, values, slot_grads, kept,
                          conditions, out_grads[0], log_det_grad, param_grads)
        return
    # buffers are restored once this block's graph is consumed (restoring them earlier would
    # invalidate tensors it saved, such as a permutation index)
    with preserved_buffers(module):
        if rule is not None:
            _backward_by_rule(rule, call, index, task, module, values, slot_grads, kept,
                              conditions, out_grads[0], log_det_grad, param_grads)
            return
        inputs = _rebuild_inputs(call, index, task, module, values, kept, conditions)
        for slot, value in zip(task.reads, inputs, strict=True):
            values[slot] = value
        if all(g is None for g in out_grads) and log_det_grad is None:
            return
        input_leaves = tuple(grad_leaf(v, call.needs[s])
                             for s, v in zip(task.reads, inputs, strict=True))
        condition_leaves = tuple(grad_leaf(v, call.needs[s])
                                 for s, v in zip(task.conditions, conditions, strict=True))
        if index in call.rng:
            restore_rng(call.rng[index])
        outputs, log_jac_det, _ = call_block(
            module, input_leaves, condition_leaves, call.rev,
            call.jac and log_det_grad is not None, len(task.writes))
        _accumulate(task, module, input_leaves, condition_leaves, outputs, log_jac_det,
                    out_grads, log_det_grad, slot_grads, param_grads)


def _backward_by_rule(
    rule: Rule, call: _Call, index: int, task: Any, module: Any, values: list,
    slot_grads: list, kept: dict, conditions: tuple, out_grad: Tensor | None,
    log_det_grad: Tensor | None, param_grads: dict,
) -> None:
    """:func:`backward_task` for a block with a rule of its own (see rules.py)."""
    condition_leaves = tuple(grad_leaf(v, call.needs[s])
                             for s, v in zip(task.conditions, conditions, strict=True))
    params = [p for p in _parameters(module) if p.requires_grad]
    rebuilt, input_grad, condition_grads, found = rule(
        module, values[task.writes[0]], conditions, call.rev, out_grad, log_det_grad,
        condition_leaves, params)
    slot = task.reads[0]
    rebuilt = kept.get(slot, rebuilt)
    if index in call.true_inputs:
        call.check.compare(call.schedule.context(task, module), (rebuilt,),
                           call.true_inputs.pop(index))
    values[slot] = rebuilt
    if call.needs[slot]:
        slot_grads[slot] = add_gradient(slot_grads[slot], input_grad)
    for condition_slot, grad in zip(task.conditions, condition_grads, strict=True):
        slot_grads[condition_slot] = add_gradient(slot_grads[condition_slot], grad)
    for p, grad in zip(params, found, strict=True):
        if grad is not None:
            param_grads[id(p)] = add_gradient(param_grads.get(id(p)), grad)


def _rebuild_inputs(
    call: _Call, index: int, task: Any, module: Any, values: list, kept: dict,
    conditions: tuple,
) -> tuple:
    """The inputs of an inverted task: rebuilt by inverting it, or kept if it was random."""
    if index in call.rng:
        return tuple([values[s] for s in task.reads])
    with torch.no_grad():
        inputs, _, _ = call_block(module, tuple([values[s] for s in task.writes]), conditions,
                                  not call.rev, False, len(task.reads))
    inputs = tuple(kept.get(s, v) for s, v in zip(task.reads, inputs, strict=True))
    if index in call.true_inputs:
        call.check.compare(call.schedule.context(task, module), inputs,
                           call.true_inputs.pop(index))
    return inputs


def _accumulate(
    task: Any, module: Any, input_leaves: tuple, condition_leaves: tuple, outputs: tuple,
    log_jac_det: Any, out_grads: list, log_det_grad: Tensor | None, slot_grads: list,
    param_grads: dict,
) -> None:
    """Add the task's vector-Jacobian products to the slots' and parameters' gradients."""
    roots, root_grads = vjp_roots(list(zip(outputs, out_grads, strict=True)),
                                  None if task.feed_forward else log_jac_det, log_det_grad)
    params = [p for p in _parameters(module) if p.requires_grad]
    leaves = input_leaves + condition_leaves
    targets = [t for t in leaves if isinstance(t, Tensor) and t.requires_grad]
    if not roots or not (targets or params):
        return
    found = torch.autograd.grad(roots, targets + params, root_grads, allow_unused=True)
    found_inputs = iter(found[:len(targets)])
    for slot, leaf in zip(task.reads + task.conditions, leaves, strict=True):
        if isinstance(leaf, Tensor) and leaf.requires_grad:
            slot_grads[slot] = add_gradient(slot_grads[slot], next(found_inputs))
    for p, grad in zip(params, found[len(targets):], strict=True):
        if grad is not None:
            param_grads[id(p)] = add_gradient(param_grads.get(id(p)), grad)


def grad_leaf(value: Any, needs_grad: bool) -> Any:
    """A tensor value detached into a new leaf, requiring grad if ``needs_grad``; others as is."""
    if isinstance(value, Tensor):
        value = value.detach()
        if needs_grad and (value.is_floating_point() or value.is_complex()):
            value.requires_grad_()
    return value


def detach_value(value: Any) -> Any:
    """``value.detach()`` for tensors; any other value unchanged."""
    return value.detach() if isinstance(value, Tensor) else value


def _parameters(module: Any) -> list:
    return list(module.parameters()) if isinstance(module, nn.Module) else []
