"""Graph nodes: ``AbstractNode``, ``Node`` (runs an invertible module), ``collect_nodes``.

A node wraps one module and records where its inputs come from (``(node, output_index)``
pairs), where its outputs go, and the shapes flowing along every edge, so that shapes are known
and modules are built while the graph is written down.
"""

from __future__ import annotations

from collections import deque
from typing import Any

import torch.nn as nn

from ..errors import GraphError, InnError, ModuleArgumentError, NodeTypeError, with_context
from ..keywords import CheckedNew
from ..utils import ShapeList, normalize_dims

__all__ = ["AbstractNode", "Connection", "Node", "collect_nodes"]

Connection = tuple["AbstractNode", int]


class AbstractNode:
    """Common base of all nodes.

    Attributes:
        name: The node's name (default: the last 6 hex digits of ``id(node)``).
        inputs: ``(node, output_index)`` pairs feeding this node.
        conditions: ``(node, output_index)`` pairs read as conditions.
        outputs: Per output, ``(consumer, consumer_input_index)`` or ``None`` while unconsumed.
        input_dims, condition_dims, output_dims: Shapes along the edges.
        module: The built module (``None`` for input, condition and output nodes).
    """

    #: Whether this node's outputs may be consumed as inputs of invertible nodes.
    consumable = True

    def __init__(
        self,
        inputs: Any,
        module_type: Any,
        module_args: dict | None = None,
        conditions: Any = None,
        name: str | None = None,
    ) -> None:
        self.name = name if name else hex(id(self))[-6:]
        self.module_type = module_type
        self.module_args = module_args
        self.inputs: list[Connection] = self._parse_connections(inputs, "inputs")
        self.conditions: list[Connection] = self._parse_connections(conditions, "conditions")
        for source, index in self.inputs:
            source._check_consumable(index, self)
        self.input_dims: ShapeList = [src.output_dims[i] for src, i in self.inputs]
        self.condition_dims: ShapeList = [src.output_dims[i] for src, i in self.conditions]
        self.module, output_dims = self.build_module(self.condition_dims, self.input_dims)
        self.output_dims: ShapeList = normalize_dims(output_dims)
        self.outputs: list[Connection | None] = [None] * len(self.output_dims)
        for in_index, (source, index) in enumerate(self.inputs):
            source.outputs[index] = (self, in_index)

    # -- construction helpers ----------------------------------------------------------------

    def _parse_connections(self, spec: Any, what: str) -> list[Connection]:
        """Turn a node, ``node.outN``, ``(node, i)`` or a list of those into connections."""
        if spec is None:
            return []
        if self._is_connection(spec) or isinstance(spec, AbstractNode):
            spec = [spec]
        if not isinstance(spec, (list, tuple)):
            raise NodeTypeError(
                f"{self!r}: {what} must be nodes, node.outN or (node, index) pairs, "
                f"got a {type(spec).__name__}."
            )
        connections = []
        for item in spec:
            if isinstance(item, AbstractNode):
                item = (item, 0)
            elif not self._is_connection(item):
                raise NodeTypeError(
                    f"{self!r}: {what} must be nodes, node.outN or (node, index) pairs, "
                    f"got a {type(item).__name__}."
                )
            source, index = item
            if not source.output_dims:
                raise NodeTypeError(
                    f"{self!r}: {what} refer to {source!r}, which has no outputs (an OutputNode "
                    f"ends the graph)."
                )
            if not 0 <= index < len(source.output_dims):
                raise GraphError(
                    f"{self!r}: {what} refer to output {index} of {source!r}, which has "
                    f"{len(source.output_dims)} output(s)."
                )
            connections.append((source, int(index)))
        return connections

    @staticmethod
    def _is_connection(item: Any) -> bool:
        return (
            isinstance(item, (tuple, list))
            and len(item) == 2
            and isinstance(item[0], AbstractNode)
            and isinstance(item[1], int)
            and not isinstance(item[1], bool)
        )

    def _check_consumable(self, index: int, consumer: AbstractNode) -> None:
        """Raise unless output ``index`` may become an input of ``consumer``."""
        if not self.consumable:
            raise NodeTypeError(
                f"{consumer!r} takes output {index} of {type(self).__name__} {self.name!r} as "
                f"an input, but {type(self).__name__} outputs can only be used as conditions."
            )
        taken = self.outputs[index]
        if taken is not None:
            raise GraphError(
                f"Output {index} of {self!r} is consumed twice as an input: by {taken[0]!r} and "
                f"by {consumer!r}; an output feeds one input only, but may be read as a condition."
            )

    def build_module(self, condition_shapes: ShapeList, input_shapes: ShapeList) -> tuple:
        """Build the module; return ``(module, output_dims)``."""
        raise NotImplementedError

    def _context(self) -> str:
        kind = getattr(self.module_type, "__name__", type(self.module_type).__name__)
        return f"Node {self.name!r} ({kind})"

    # -- reading ---------------------------------------------------------------------------

    def __getattr__(self, name: str) -> Connection:
        # ``node.outN`` is the pair (node, N) for every existing output N.
        if name.startswith("out") and name[3:].isdigit():
            index = int(name[3:])
            dims = self.__dict__.get("output_dims")
            if dims is not None and index < len(dims):
                return (self, index)
            count = "unknown" if dims is None else len(dims)
            raise AttributeError(f"{self!r} has no output {index} (it has {count}).")
        raise AttributeError(f"{type(self).__name__!r} object has no attribute {name!r}")

    def __str__(self) -> str:
        module = self.module_type
        kind = "" if module is None else getattr(module, "__name__", type(module).__name__)
        middle = f" -> {kind} -> " if kind else " -> "
        return (f"{type(self).__name__} {self.name!r}: {self.input_dims}{middle}"
                f"{self.output_dims}")

    def __repr__(self) -> str:
        return f"{type(self).__name__} {self.name!r}"

    # unknown keywords, missing or surplus arguments name the public class (inn.keywords)
    __new__ = staticmethod(CheckedNew())


class Node(AbstractNode):
    """A node running an invertible module on the outputs of other nodes.

    Args:
        inputs: A node (its output 0), ``node.outN``, ``(node, N)``, or a list of these.
        module_type: An ``InvertibleModule`` class, built as
            ``module_type(input_dims, dims_c=condition_dims, **module_args)`` (``dims_c`` only when
            there are conditions), or a pre-built instance (a ``GraphINN`` or ``SequenceINN`` too)
            whose ``dims_in`` equals the input shapes.
        module_args: Keyword arguments for the class.
        conditions: Outputs read as conditions, in the same forms as ``inputs``.
        name: The node's name.

    Raises:
        NodeTypeError: If inputs are no nodes, or a condition/feed-forward/output node's output is
            used as an input.
        GraphError: If an output is consumed twice or does not exist.
        ModuleArgumentError: For a pre-built instance with ``module_args`` or mismatching dims.

    Example:
        >>> import torch.nn as nn
        >>> from inn.framework import InputNode, OutputNode
        >>> from inn.modules import GLOWCouplingBlock
        >>> x = InputNode(4, name="x")
        >>> glow = Node(x, GLOWCouplingBlock, {"subnet_constructor": nn.Linear}, name="glow")
        >>> print(glow)
        Node 'glow': [(4,)] -> GLOWCouplingBlock -> [(4,)]
    """

    def build_module(self, condition_shapes: ShapeList, input_shapes: ShapeList) -> tuple:
        """Build or check the module and infer its output shapes."""
        if isinstance(self.module_type, nn.Module):
            module = self._check_instance(self.module_type, condition_shapes, input_shapes)
            self.module_type = type(module)
        elif isinstance(self.module_type, type):
            module = self._construct(condition_shapes, input_shapes)
        else:
            raise NodeTypeError(
                f"Node {self.name!r}: module_type must be an InvertibleModule class or instance, "
                f"got a {type(self.module_type).__name__}."
            )
        try:
            output_dims = module.output_dims(input_shapes)
        except InnError as error:
            raise with_context(error, self._context()) from error
        return module, output_dims

    def _construct(self, condition_shapes: ShapeList, input_shapes: ShapeList) -> Any:
        kwargs = dict(self.module_args or {})
        if self.conditions:
            kwargs["dims_c"] = condition_shapes
        try:
            return self.module_type(input_shapes, **kwargs)
        except InnError as error:
            raise with_context(error, self._context()) from error

    def _check_instance(
        self, module: nn.Module, condition_shapes: ShapeList, input_shapes: ShapeList
    ) -> nn.Module:
        context = f"Node {self.name!r} ({type(module).__name__})"
        if self.module_args:
            raise ModuleArgumentError(
                f"{context}: a pre-built module takes no module_args, got {self.module_args}."
            )
        dims_in = getattr(module, "dims_in", None)
        if dims_in != input_shapes:
            raise ModuleArgumentError(
                f"{context}: the pre-built module expects input shapes {dims_in}, but the node's "
                f"inputs have shapes {input_shapes}."
            )
        dims_c = list(getattr(module, "dims_c", []))
        if dims_c != condition_shapes:
            raise ModuleArgumentError(
                f"{context}: the pre-built module expects condition shapes {dims_c}, but the "
                f"node's conditions have shapes {condition_shapes}."
            )
        return module


def collect_nodes(*input_nodes: AbstractNode) -> list[AbstractNode]:
    """Gather every node reachable from ``input_nodes``, breadth-first.

    Follows consumers of outputs and the sources of conditions, so condition nodes and
    feed-forward nodes used by reachable nodes are included.

    Example:
        >>> import torch.nn as nn
        >>> from inn.framework import InputNode, OutputNode
        >>> from inn.modules import GLOWCouplingBlock
        >>> x = InputNode(4, name="x")
        >>> n = Node(x, GLOWCouplingBlock, {"subnet_constructor": nn.Linear}, name="n")
        >>> z = OutputNode(n, name="z")
        >>> [node.name for node in collect_nodes(x)]
        ['x', 'n', 'z']
    """
    nodes: list[AbstractNode] = []
    seen: set[int] = set()
    pending = deque(input_nodes)
    while pending:
        node = pending.popleft()
        if id(node) in seen:
            continue
        seen.add(id(node))
        nodes.append(node)
        neighbours = [out[0] for out in node.outputs if out is not None]
        neighbours += [source for source, _ in node.conditions]
        pending.extend(n for n in neighbours if id(n) not in seen)
    return nodes
