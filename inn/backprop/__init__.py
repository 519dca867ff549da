r"""Invertible backprop: train INNs with activation memory that does not grow with depth.

``SequenceINN(..., memory_efficient=True)`` and ``GraphINN(..., memory_efficient=True)`` (or
setting ``net.memory_efficient = True``) route every call made while autograd records through
:func:`run_sequence` / :func:`run_graph`. The forward pass keeps only the outputs, the
conditions and what cannot be rebuilt; backward rebuilds each block's inputs by inverting it
and re-runs the block to get its gradients (see :mod:`inn.backprop.function`). Blocks whose
``exact_inverse`` is false keep their inputs instead. :class:`check_recomputation` compares
the rebuilt inputs with the true ones. On CPU under glibc, :func:`retain_freed_memory` keeps
the allocator from returning the memory each block frees to the system (memory-efficient
backward calls it once per process).
"""

from __future__ import annotations

import weakref
from typing import Any

from torch import Tensor

from .allocator import retain_freed_memory
from .check import RecomputationReport, RecomputedBlock, check_recomputation
from .function import run
from .schedule import Schedule, graph_schedule, sequence_schedule

# run_sequence / run_graph are the containers' entry points, not user API
__all__ = ["RecomputationReport", "RecomputedBlock", "check_recomputation", "retain_freed_memory"]

#: Per container: its schedules, keyed by what they depend on.
_SCHEDULES: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def run_sequence(net: Any, x_or_z: tuple, c: tuple, rev: bool, jac: bool) -> tuple:
    """A ``SequenceINN`` call in memory-efficient mode: ``((out,), log_jac_det)``."""
    blocks = list(net.module_list._modules.values())
    cache = _SCHEDULES.setdefault(net, {})
    key = (len(blocks), len(c), rev, tuple(net.conditions))
    schedule = cache.get(key)
    if schedule is None:
        schedule = cache[key] = sequence_schedule(len(blocks), net.conditions, len(c), rev)
    return run(schedule, blocks, x_or_z, c, rev, jac, _trainable(net))


def run_graph(net: Any, x_or_z: tuple, c: tuple, rev: bool, jac: bool) -> tuple[list, Tensor]:
    """A ``GraphINN`` call in memory-efficient mode: ``(slot values, log_jac_det)``.

    Only the slots the call returns are filled in.
    """
    plan = net._plan
    cache = _SCHEDULES.setdefault(net, {})
    schedule: Schedule | None = cache.get(rev)
    if schedule is None:
        schedule = cache[rev] = graph_schedule(plan, rev)
    blocks = list(net.module_list._modules.values())
    exits, log_jac_det = run(schedule, blocks, x_or_z, c, rev, jac, _trainable(net))
    values: list[Any] = [None] * plan.n_slots
    for slot, value in zip(schedule.exit_slots, exits, strict=True):
        values[slot] = value
    return values, log_jac_det


def _trainable(net: Any) -> list:
    return [p for p in net.parameters() if p.requires_grad]
