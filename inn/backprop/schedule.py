"""What a memory-efficient call runs, and which tensors its backward pass cannot rebuild.

A container call is flattened into *tasks* over integer *slots* (one slot per tensor that flows
between blocks, as in :mod:`inn.framework.plan`). Walking the tasks backwards, a task whose
block inverts exactly rebuilds the values of the slots it read from those of the slots it
wrote and from its conditions. Every other task (feed-forward nodes, approximate blocks) runs
with grad during the forward pass and keeps its graph, as in standard backprop; the graph's
leaves hold its inputs. A slot that some task needs before any inversion has rebuilt it (a
block's output read as a condition, a feed-forward node's output) is saved. :func:`layout`
works this out once per combination of exact blocks, by a dry run of the backward walk.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

__all__ = ["Layout", "Schedule", "Task", "graph_schedule", "layout", "sequence_schedule"]


@dataclass(frozen=True)
class Task:
    """One block (or feed-forward node) of the flattened call, in execution order."""

    #: Index of the module in the container's ``module_list``; ``None`` for a plain callable.
    block: int | None
    callable: Any
    reads: tuple[int, ...]
    conditions: tuple[int, ...]
    writes: tuple[int, ...]
    feed_forward: bool
    #: The graph node, for error messages (``None`` in a ``SequenceINN``).
    node: Any = None
    #: The position in a ``SequenceINN``, for error messages.
    position: int = 0


@dataclass(frozen=True)
class Layout:
    """Where each slot's value lives in a memory-efficient call, for one set of exact blocks."""

    #: Per task: whether backward rebuilds its inputs by inverting it.
    inverts: tuple[bool, ...]
    #: Slots whose forward values are saved for backward (besides the exits and conditions).
    saved: frozenset[int]
    #: Per task: slots whose value the forward pass drops once the task ran.
    forward_release: tuple[tuple[int, ...], ...]
    #: Per task: slots whose value the backward pass drops once the task was processed.
    backward_release: tuple[tuple[int, ...], ...]


@dataclass(frozen=True)
class Schedule:
    """The flattened call of a container in one direction."""

    owner: str
    n_slots: int
    tasks: tuple[Task, ...]
    entry_slots: tuple[int, ...]
    exit_slots: tuple[int, ...]
    condition_slots: tuple[int, ...]
    _layouts: dict = field(default_factory=dict, compare=False, repr=False)

    def context(self, task: Task, module: Any) -> str:
        """The prefix the container puts on errors raised inside ``task``."""
        if task.node is not None:
            return task.node._context()
        return f"{self.owner} block {task.position} ({type(module).__name__})"


def sequence_schedule(n_blocks: int, conditions: list, n_conditions: int, rev: bool) -> Schedule:
    """The tasks of a ``SequenceINN`` call: block ``k`` maps slot ``k`` to slot ``k + 1``.

    Args:
        n_blocks: The number of blocks.
        conditions: Per block, the condition index, a tuple of indices, or ``None``.
        n_conditions: The number of conditions passed to the call.
        rev: Run the chain backwards (block ``k`` then maps slot ``k + 1`` to slot ``k``).
    """
    first_condition = n_blocks + 1
    tasks = []
    order = range(n_blocks - 1, -1, -1) if rev else range(n_blocks)
    for position in order:
        cond = conditions[position]
        indices = () if cond is None else (cond,) if isinstance(cond, int) else tuple(cond)
        source, target = (position + 1, position) if rev else (position, position + 1)
        tasks.append(Task(
            block=position, callable=None, reads=(source,),
            conditions=tuple(first_condition + i for i in indices), writes=(target,),
            feed_forward=False, position=position))
    return Schedule(
        owner="SequenceINN", n_slots=first_condition + n_conditions, tasks=tuple(tasks),
        entry_slots=(n_blocks if rev else 0,), exit_slots=(0 if rev else n_blocks,),
        condition_slots=tuple(range(first_condition, first_condition + n_conditions)))


def graph_schedule(plan: Any, rev: bool) -> Schedule:
    """The tasks of a ``GraphINN`` call, taken from its precomputed plan."""
    steps = plan.reverse if rev else plan.forward
    tasks = tuple(
        Task(block=step.block, callable=step.callable, reads=step.reads,
             conditions=step.conditions, writes=step.writes, feed_forward=step.feed_forward,
             node=step.node)
        for step in steps)
    entry, exit_ = (plan.output_slots, plan.input_slots) if rev else \
        (plan.input_slots, plan.output_slots)
    return Schedule(owner="GraphINN", n_slots=plan.n_slots, tasks=tasks, entry_slots=entry,
                    exit_slots=exit_, condition_slots=plan.condition_slots)


def layout(schedule: Schedule, exact: tuple[bool, ...]) -> Layout:
    """Decide, for blocks flagged ``exact``, what forward keeps and when values are dropped.

    Args:
        schedule: The flattened call.
        exact: Per task, whether its module declares ``exact_inverse`` (ignored for
            feed-forward tasks, which never invert).

    Returns:
        The :class:`Layout`, cached on the schedule per ``exact``.
    """
    cached = schedule._layouts.get(exact)
    if cached is not None:
        return cached
    tasks = schedule.tasks
    inverts = tuple(e and not t.feed_forward for t, e in zip(tasks, exact, strict=True))
    # dry run of the backward walk: which slot values exist when each task is processed
    known = set(schedule.exit_slots) | set(schedule.condition_slots)
    saved: set[int] = set()
    for task, invert in zip(reversed(tasks), reversed(inverts), strict=True):
        # an inverted task needs its outputs and conditions; any other task keeps its graph,
        # whose leaves hold its inputs
        needed = task.conditions + task.writes if invert else ()
        for slot in needed:
            if slot not in known:
                saved.add(slot)
                known.add(slot)
        known.update(task.reads)
    kept = set(schedule.exit_slots) | saved
    last_forward: dict[int, int] = {}
    first_backward: dict[int, int] = {}
    for index, task in enumerate(tasks):
        for slot in task.reads + task.conditions:
            last_forward[slot] = index
        for slot in task.reads + task.conditions + task.writes:
            first_backward.setdefault(slot, index)  # the backward walk's last use
    forward_release: list[list[int]] = [[] for _ in tasks]
    for slot, index in last_forward.items():
        if slot not in kept:
            forward_release[index].append(slot)
    backward_release: list[list[int]] = [[] for _ in tasks]
    for slot, index in first_backward.items():
        backward_release[index].append(slot)
    result = Layout(
        inverts=inverts, saved=frozenset(saved),
        forward_release=tuple(tuple(r) for r in forward_release),
        backward_release=tuple(tuple(r) for r in backward_release))
    schedule._layouts[exact] = result
    return result
