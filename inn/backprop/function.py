r"""The autograd function behind ``memory_efficient=True``: invert, then differentiate.

Forward runs every block without recording a graph and saves only the network's outputs, its
conditions and the few tensors the :class:`~inn.backprop.schedule.Layout` cannot rebuild. Backward
walks the blocks in reverse. For block :math:`f_k` with outputs :math:`y_k` it

1. rebuilds the inputs :math:`x_k = f_k^{-1}(y_k; c_k)` without grad (blocks that draw random
   numbers, such as dropout in a subnet, keep their inputs and replay the generators' state),
2. re-runs :math:`y_k, J_k = f_k(x_k; c_k)` with grad and asks autograd for the vector-Jacobian
   products of :math:`(\bar y_k, \bar J)` with respect to :math:`x_k`, :math:`c_k` and the
   block's parameters, where :math:`\bar J` is the gradient of the total log-det.

Blocks without ``exact_inverse`` and feed-forward nodes run with grad already in the forward
pass and keep their graph, exactly as in standard backprop; backward only differentiates it.

Parameters and conditions are inputs of the function, so their gradients leave ``backward``
like any other: ``loss.backward()``, ``torch.autograd.grad``, gradient accumulation and the
hooks of DistributedDataParallel work unchanged. Only one block's graph exists at a time.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import torch
from torch import Tensor

from ..errors import with_context
from ..framework.execution import accumulate_log_det, call_block, finish_log_det
from ..framework.io_nodes import run_feed_forward
from .allocator import retain_freed_memory
from .check import active_check, check_recomputation
from .rebuild import backward_task, detach_value, grad_leaf
from .schedule import Layout, Schedule, layout
from .side_effects import RngState, capture_rng, rng_advanced

__all__ = ["run"]


@dataclass
class _Call:
    """What the forward pass hands to the backward pass besides saved tensors."""

    schedule: Schedule
    layout: Layout
    blocks: list
    rev: bool
    jac: bool
    conditions: tuple
    tensor_conditions: tuple[int, ...]
    params: list
    check: check_recomputation | None
    #: Per slot: whether its gradient is wanted (false for inputs that do not require grad).
    needs: list = field(default_factory=list)
    #: Per task that drew random numbers: the generators' state before it ran.
    rng: dict[int, RngState] = field(default_factory=dict)
    #: Per task that is not inverted: ``(input leaves, condition leaves, outputs, log-det)``.
    graphs: dict[int, tuple] = field(default_factory=dict)
    #: Slots whose values are saved, in ``save_for_backward`` order after exits and conditions.
    kept_slots: list[int] = field(default_factory=list)
    #: With ``check``: the true inputs of each inverted task.
    true_inputs: dict[int, tuple] = field(default_factory=dict)
    backward_done: bool = False

    def module(self, task: Any) -> Any:
        return task.callable if task.block is None else self.blocks[task.block]


def run(
    schedule: Schedule, blocks: list, inputs: tuple, conditions: tuple, rev: bool, jac: bool,
    params: list,
) -> tuple[tuple, Tensor]:
    """Run a container call memory-efficiently.

    Args:
        schedule: The flattened call.
        blocks: The container's registered blocks (resolved at call time).
        inputs: The call's input tensors, one per entry slot.
        conditions: The call's conditions, one per condition slot (non-tensors allowed).
        rev: The direction the blocks run in.
        jac: Compute the log-det.
        params: The parameters that may receive gradients (each once).

    Returns:
        ``(exits, log_jac_det)``: one tensor per exit slot and the ``(B,)`` total.
    """
    if inputs and inputs[0].device.type == "cpu":
        retain_freed_memory()
    exact = tuple(
        not task.feed_forward and bool(getattr(
            task.callable if task.block is None else blocks[task.block], "exact_inverse", False))
        for task in schedule.tasks)
    tensor_conditions = tuple(i for i, c in enumerate(conditions) if isinstance(c, Tensor))
    call = _Call(schedule, layout(schedule, exact), blocks, rev, jac, conditions,
                 tensor_conditions, params, active_check())
    outputs = _InvertibleBackprop.apply(
        call, *inputs, *(conditions[i] for i in tensor_conditions), *params)
    return tuple(outputs[:-1]), outputs[-1]


class _InvertibleBackprop(torch.autograd.Function):
    @staticmethod
    def forward(ctx: Any, call: _Call, *tensors: Tensor) -> tuple[Tensor, ...]:
        schedule, plan = call.schedule, call.layout
        n_inputs = len(schedule.entry_slots)
        inputs = tensors[:n_inputs]
        conditions = list(call.conditions)
        for i, value in zip(call.tensor_conditions, tensors[n_inputs:], strict=False):
            conditions[i] = value
        values: list[Any] = [None] * schedule.n_slots
        checked = [False] * schedule.n_slots
        call.needs = [True] * schedule.n_slots
        for slot, value in zip(schedule.entry_slots, inputs, strict=True):
            values[slot], checked[slot] = value, True
            call.needs[slot] = value.requires_grad
        for slot, value in zip(schedule.condition_slots, conditions, strict=True):
            values[slot], checked[slot] = value, isinstance(value, Tensor)
            call.needs[slot] = isinstance(value, Tensor) and value.requires_grad
        reference = inputs[0]
        total = None
        kept: dict[int, Tensor] = {}
        for index, task in enumerate(schedule.tasks):
            module = call.module(task)
            try:
                total = _forward_task(call, index, task, module, values, checked, kept, total,
                                      reference)
            except Exception as error:
                raise with_context(error, schedule.context(task, module)) from error
            for slot in plan.forward_release[index]:
                values[slot] = None
        for slot in plan.saved:
            kept.setdefault(slot, values[slot])
        call.kept_slots = list(kept)
        exits = tuple(values[slot] for slot in schedule.exit_slots)
        log_jac_det = finish_log_det(total, reference)
        ctx.call = call
        ctx.save_for_backward(*exits, *(conditions[i] for i in call.tensor_conditions),
                              *kept.values())
        ctx.set_materialize_grads(False)
        if not call.jac:
            ctx.mark_non_differentiable(log_jac_det)
        return (*exits, log_jac_det)

    @staticmethod
    @torch.autograd.function.once_differentiable
    def backward(ctx: Any, *grads: Tensor | None) -> tuple:
        call: _Call = ctx.call
        schedule = call.schedule
        saved = ctx.saved_tensors  # raises torch's own error after a backward without retain
        if call.backward_done and not all(call.layout.inverts):
            raise RuntimeError(
                f"{schedule.owner} (memory_efficient=True): a second backward pass through one "
                f"forward call is not supported when the network has blocks without "
                f"exact_inverse or feed-forward nodes (their graphs are freed after the first); "
                f"run the forward pass again."
            )
        call.backward_done = True
        n_exits, n_conditions = len(schedule.exit_slots), len(call.tensor_conditions)
        values: list[Any] = [None] * schedule.n_slots
        slot_grads: list[Tensor | None] = [None] * schedule.n_slots
        for slot, value, grad in zip(schedule.exit_slots, saved, grads, strict=False):
            values[slot], slot_grads[slot] = value, grad
        conditions = list(call.conditions)
        for i, value in zip(call.tensor_conditions, saved[n_exits:], strict=False):
            conditions[i] = value
        for slot, value in zip(schedule.condition_slots, conditions, strict=True):
            values[slot] = value
        kept = dict(zip(call.kept_slots, saved[n_exits + n_conditions:], strict=True))
        for slot, value in kept.items():
            values[slot] = value
        log_det_grad = grads[-1] if call.jac else None
        param_grads: dict[int, Tensor] = {}
        devices = sorted({t.device.index or 0 for t in saved if t.device.type == "cuda"})
        with torch.random.fork_rng(devices=devices, enabled=bool(call.rng)), \
                torch.enable_grad():
            for index in range(len(schedule.tasks) - 1, -1, -1):
                task = schedule.tasks[index]
                module = call.module(task)
                try:
                    backward_task(call, index, task, module, values, slot_grads, kept,
                                   log_det_grad, param_grads)
                except Exception as error:
                    raise with_context(error, schedule.context(task, module)) from error
                for slot in call.layout.backward_release[index]:
                    values[slot] = None
        call.graphs.clear()
        input_grads = [slot_grads[s] for s in schedule.entry_slots]
        condition_grads = [slot_grads[schedule.condition_slots[i]]
                           for i in call.tensor_conditions]
        return (None, *input_grads, *condition_grads,
                *(param_grads.get(id(p)) for p in call.params))


def _forward_task(
    call: _Call, index: int, task: Any, module: Any, values: list, checked: list,
    kept: dict, total: Tensor | None, reference: Tensor,
) -> Tensor | None:
    """Run one task; keep what backward will need; return the new log-det total."""
    conditions = tuple([values[s] for s in task.conditions])
    inputs = tuple([values[s] for s in task.reads])
    if not call.layout.inverts[index]:
        out, log_jac_det = _run_keeping_graph(call, index, task, module, inputs, conditions)
        out_checked = False
    else:
        rng = capture_rng(inputs + conditions)
        inputs_checked = all([checked[s] for s in task.reads + task.conditions])
        out, log_jac_det, out_checked = call_block(module, inputs, conditions, call.rev,
                                                   call.jac, len(task.writes), inputs_checked)
        if rng_advanced(rng):
            # the block is random: backward replays it from its true inputs and this state
            call.rng[index] = rng
            for slot, value in zip(task.reads, inputs, strict=True):
                kept.setdefault(slot, value)
        elif call.check is not None:
            call.true_inputs[index] = inputs
    for slot, value in zip(task.writes, out, strict=True):
        values[slot], checked[slot] = value, out_checked
    if call.jac and not task.feed_forward:
        total = accumulate_log_det(total, log_jac_det, reference)
    return total


def _run_keeping_graph(
    call: _Call, index: int, task: Any, module: Any, inputs: tuple, conditions: tuple,
) -> tuple[tuple, Any]:
    """Run a task that is not inverted with grad, as standard backprop would, and keep its graph.

    Returns its outputs and log-det detached, for the rest of the forward pass.
    """
    with torch.enable_grad():
        input_leaves = tuple(grad_leaf(v, call.needs[s]) for s, v in zip(task.reads, inputs,
                                                                     strict=True))
        condition_leaves = tuple(grad_leaf(v, call.needs[s]) for s, v in zip(task.conditions,
                                                                         conditions, strict=True))
        if task.feed_forward:
            out: tuple = (run_feed_forward(module, list(condition_leaves)),)
            log_jac_det = None
        else:
            out, log_jac_det, _ = call_block(module, input_leaves, condition_leaves, call.rev,
                                             call.jac, len(task.writes))
    call.graphs[index] = (input_leaves, condition_leaves, tuple(out), log_jac_det)
    return tuple(detach_value(t) for t in out), detach_value(log_jac_det)
