"""Graph checks and the flat execution plan of a ``GraphINN``, computed once with networkx.

Every edge ``(producer, output_index)`` gets one integer *slot*. Forward, a node reads its input
slots and writes its output slots; in reverse it reads its output slots and writes its input
slots, and a condition read from slot ``s`` is, in reverse, the value that flows along that edge
once the reverse pass has reconstructed it. Running the graph is then a loop over precomputed
steps with a list of slot values: no graph walking or dict building at call time.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass
from typing import Any

import networkx as nx
import torch.nn as nn

from ..errors import CycleError, DanglingError, GraphError, NodeTypeError
from .io_nodes import ConditionNode, FeedForwardNode, InputNode, OutputNode
from .nodes import AbstractNode, Node

__all__ = ["Plan", "Step", "build_plan"]


@dataclass(frozen=True)
class Step:
    """One node's work in one direction."""

    node: AbstractNode
    #: Index of the node's module in ``Plan.modules`` (the container's ``module_list``); ``None``
    #: for a feed-forward callable that is not an ``nn.Module`` (then ``callable`` holds it).
    block: int | None
    callable: Any
    reads: tuple[int, ...]
    conditions: tuple[int, ...]
    writes: tuple[int, ...]
    feed_forward: bool


@dataclass(frozen=True)
class Plan:
    """Everything a ``GraphINN`` needs at call time."""

    n_slots: int
    slot_of: dict[tuple[AbstractNode, int], int]
    input_slots: tuple[int, ...]
    condition_slots: tuple[int, ...]
    output_slots: tuple[int, ...]
    forward: tuple[Step, ...]
    reverse: tuple[Step, ...]
    order_fwd: list[AbstractNode]
    order_rev: list[AbstractNode]
    #: The modules to register, in ``module_list`` order (FrEIA's, so its state dicts load);
    #: steps refer to them by index, so a container runs whatever its registered children are
    #: at call time (replicas, wrappers, ``functional_call``, reassigned modules).
    modules: list[nn.Module]


def build_plan(node_list: list[Any]) -> Plan:
    """Check a node list and compile it into forward and reverse plans.

    Raises:
        NodeTypeError: If an entry is not a node.
        GraphError: For duplicate nodes, nodes missing from the list, or a graph without
            input or output nodes.
        DanglingError: For unconsumed outputs and nodes that reach no ``OutputNode``.
        CycleError: For a cycle in the forward or the reverse direction.
    """
    _check_membership(node_list)
    _check_consumed(node_list)
    position = {node: i for i, node in enumerate(node_list)}
    forward_graph = _dependency_graph(node_list, _forward_sources)
    reverse_graph = _dependency_graph(node_list, _reverse_sources)
    order_fwd = _order(forward_graph, position, "forward")
    order_rev = _order(reverse_graph, position, "reverse")
    _check_reaches_output(node_list, forward_graph)

    slot_of: dict[tuple[AbstractNode, int], int] = {}
    for node in node_list:
        for index in range(len(node.output_dims)):
            slot_of[(node, index)] = len(slot_of)
    modules = [n.module for n in _freia_order(node_list, order_fwd)
               if isinstance(n.module, nn.Module)]
    block_of = {id(module): index for index, module in enumerate(modules)}
    forward = tuple(_step(node, slot_of, block_of, rev=False) for node in order_fwd if _runs(node))
    reverse = tuple(_step(node, slot_of, block_of, rev=True) for node in order_rev if _runs(node))
    return Plan(
        n_slots=len(slot_of),
        slot_of=slot_of,
        input_slots=tuple(slot_of[(n, 0)] for n in node_list if isinstance(n, InputNode)),
        condition_slots=tuple(
            slot_of[(n, 0)] for n in node_list if isinstance(n, ConditionNode)
        ),
        output_slots=tuple(
            slot_of[n.inputs[0]] for n in node_list if isinstance(n, OutputNode)
        ),
        forward=forward,
        reverse=reverse,
        order_fwd=order_fwd,
        order_rev=order_rev,
        modules=modules,
    )


def _freia_order(node_list: list[AbstractNode], order_fwd: list[AbstractNode]) -> list:
    """Nodes in FrEIA's ``module_list`` order, so that FrEIA state dicts load with strict=True.

    FrEIA runs Kahn's algorithm backwards from the output nodes over input edges (conditions do
    not count) and reverses the result. A node freed by the same step as another one comes
    first here if it is the earlier input of the node that freed them; FrEIA takes them in set
    order, which varies between runs (see ``load_freia_state_dict`` for those graphs). Nodes
    that only feed conditions (feed-forward nodes, unknown to FrEIA) go in as early as forward
    order allows.
    """
    consumers: dict[AbstractNode, set] = {node: set() for node in node_list}
    for node in node_list:
        for source, _ in node.inputs:
            consumers[source].add(node)
    pending = {node: len(users) for node, users in consumers.items()}
    queue = deque(node for node in node_list if isinstance(node, OutputNode))
    backwards: list[AbstractNode] = []
    while queue:
        node = queue.popleft()
        backwards.append(node)
        for source in dict.fromkeys(source for source, _ in node.inputs):
            pending[source] -= 1
            if pending[source] == 0:
                queue.append(source)
    reached = set(backwards)
    position = {node: i for i, node in enumerate(order_fwd)}
    extra = deque(node for node in order_fwd if node not in reached)
    order: list[AbstractNode] = []
    for node in reversed(backwards):
        while extra and position[extra[0]] < position[node]:
            order.append(extra.popleft())
        order.append(node)
    return order + list(extra)


def _runs(node: AbstractNode) -> bool:
    return isinstance(node, (Node, FeedForwardNode))


def _step(node: AbstractNode, slot_of: dict, block_of: dict, rev: bool) -> Step:
    inputs = tuple(slot_of[edge] for edge in node.inputs)
    outputs = tuple(slot_of[(node, i)] for i in range(len(node.output_dims)))
    block = block_of.get(id(node.module))
    return Step(
        node=node,
        block=block,
        callable=node.module if block is None else None,
        reads=outputs if rev and isinstance(node, Node) else inputs,
        conditions=tuple(slot_of[edge] for edge in node.conditions),
        writes=inputs if rev and isinstance(node, Node) else outputs,
        feed_forward=isinstance(node, FeedForwardNode),
    )


def _check_membership(node_list: list[Any]) -> None:
    members: set[int] = set()
    for node in node_list:
        if not isinstance(node, AbstractNode):
            raise NodeTypeError(
                f"GraphINN node_list may only contain nodes, got a {type(node).__name__}."
            )
        if id(node) in members:
            raise GraphError(f"{node!r} appears more than once in the node_list of GraphINN.")
        members.add(id(node))
    for node in node_list:
        linked = [(src, "takes an input from") for src, _ in node.inputs]
        linked += [(src, "is conditioned on") for src, _ in node.conditions]
        linked += [(out[0], "feeds") for out in node.outputs if out is not None]
        for other, relation in linked:
            if id(other) not in members:
                raise GraphError(
                    f"{node!r} {relation} {other!r}, which is missing from the node_list "
                    f"passed to GraphINN."
                )
    for kind in (InputNode, OutputNode):
        if not any(isinstance(node, kind) for node in node_list):
            raise GraphError(
                f"GraphINN needs at least one {kind.__name__}; the node_list has none."
            )


def _check_consumed(node_list: list[AbstractNode]) -> None:
    for node in node_list:
        if not node.consumable:
            continue
        for index, consumer in enumerate(node.outputs):
            if consumer is None:
                raise DanglingError(
                    f"Output {index} of {node!r} is never consumed: every output of an "
                    f"invertible node must feed another node or an OutputNode."
                )


def _forward_sources(node: AbstractNode) -> list[AbstractNode]:
    """Nodes that must run before ``node`` in the forward direction."""
    return [src for src, _ in node.inputs + node.conditions]


def _reverse_writer(source: AbstractNode, index: int) -> AbstractNode:
    """The node that produces edge ``(source, index)`` in the reverse direction."""
    if source.consumable:
        return source.outputs[index][0]
    return source


def _reverse_sources(node: AbstractNode) -> list[AbstractNode]:
    """Nodes that must run before ``node`` in the reverse direction."""
    if isinstance(node, OutputNode):
        return []
    if isinstance(node, (Node, InputNode)):
        sources = [out[0] for out in node.outputs if out is not None]
    else:
        sources = []
    sources += [_reverse_writer(src, i) for src, i in node.conditions]
    return sources


def _dependency_graph(node_list: list[AbstractNode], sources: Any) -> nx.DiGraph:
    graph = nx.DiGraph()
    graph.add_nodes_from(node_list)
    for node in node_list:
        graph.add_edges_from((source, node) for source in sources(node))
    return graph


def _order(graph: nx.DiGraph, position: dict, direction: str) -> list[AbstractNode]:
    try:
        return list(nx.lexicographical_topological_sort(graph, key=position.__getitem__))
    except nx.NetworkXUnfeasible as unfeasible:
        cycle = [edge[0] for edge in nx.find_cycle(graph)]
        path = " -> ".join(repr(node) for node in [*cycle, cycle[0]])
        hint = ""
        if direction == "reverse":
            hint = (" (in reverse, a node conditioned on a value must wait until that value is "
                    "reconstructed, e.g. a block conditioned on its own input cannot be inverted)")
        raise CycleError(
            f"The graph has a cycle in the {direction} direction: {path}{hint}."
        ) from unfeasible


def _check_reaches_output(node_list: list[AbstractNode], graph: nx.DiGraph) -> None:
    useful: set[AbstractNode] = set()
    for node in node_list:
        if isinstance(node, OutputNode):
            useful.add(node)
            useful.update(nx.ancestors(graph, node))
    useless = [node for node in node_list if node not in useful]
    if useless:
        # Name a dead end: a useless node none of whose successors is useless too.
        node = min(useless, key=lambda n: any(s not in useful for s in graph.successors(n)))
        what = "is used by no node" if not node.consumable else "reaches no OutputNode"
        raise DanglingError(f"{node!r} {what}; remove it or connect it to an output.")
