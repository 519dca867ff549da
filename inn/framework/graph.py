"""``GraphINN``: an invertible network defined by a graph of nodes."""

from __future__ import annotations

import warnings
from typing import Any

import torch
import torch.nn as nn
from torch import Tensor

from .. import backprop
from ..errors import NodeTypeError, with_context
from ..modules.base import InvertibleModule
from ..plotting import plot_graph
from ..utils import ShapeList, as_tuple, describe_kind
from ..validation import (
    check_conditions,
    check_finite,
    check_inputs,
    full_validation_enabled,
    reference_tensor,
    validation_enabled,
)
from .compilation import RegionalCompilation
from .execution import accumulate_log_det, call_block, finish_log_det
from .graph_helpers import intermediate_outputs, numerical_log_jacobian
from .io_nodes import ConditionNode, FeedForwardNode, InputNode, OutputNode, run_feed_forward
from .nodes import AbstractNode
from .plan import Plan, Step, build_plan
from .summary import graph_summary

__all__ = ["GraphINN"]


class GraphINN(InvertibleModule, RegionalCompilation):
    r"""An invertible network built from a list of nodes.

    The graph is checked and compiled once, at construction, into flat forward and reverse
    plans. A call then runs each node's module in topological order, forward (``x -> z``) or in
    reverse (``rev=True``), and sums the nodes' log-Jacobian determinants.

    Inputs, conditions and outputs are ordered as their ``InputNode``, ``ConditionNode`` and
    ``OutputNode`` appear in ``node_list``. In reverse, a condition read from a node's output is
    the value that flows along that edge, reconstructed before the conditioned node runs.

    Args:
        node_list: Every node of the graph (see :func:`collect_nodes`).
        force_tuple_output: Return a tuple even for a single output.
        verbose: Print the network after construction.
        memory_efficient: Train with activation memory that does not grow with depth: blocks
            with ``exact_inverse`` rebuild their inputs during backward (see
            :mod:`inn.backprop`). Also a settable attribute.

    Raises:
        NodeTypeError, GraphError, DanglingError, CycleError: For malformed graphs (see
            :mod:`inn.errors`).

    Example:
        >>> import torch, torch.nn as nn
        >>> from inn.framework import InputNode, ConditionNode, Node, OutputNode
        >>> from inn.modules import GLOWCouplingBlock
        >>> x, c = InputNode(4, name="x"), ConditionNode(2, name="c")
        >>> glow = Node(x, GLOWCouplingBlock, {"subnet_constructor": nn.Linear}, conditions=c)
        >>> net = GraphINN([x, c, glow, OutputNode(glow, name="z")])
        >>> z, log_jac_det = net(torch.randn(8, 4), c=[torch.randn(8, 2)])
        >>> z.shape, log_jac_det.shape
        (torch.Size([8, 4]), torch.Size([8]))
    """

    multi_dim_log_det = True  # nested containers have checked their own blocks' log-dets

    def __init__(
        self, node_list: Any, force_tuple_output: bool = False, verbose: bool = False,
        memory_efficient: bool = False,
    ) -> None:
        if isinstance(node_list, (AbstractNode, str)) or not hasattr(node_list, "__iter__"):
            raise NodeTypeError(
                f"GraphINN takes a list of nodes, got {describe_kind(node_list)}; pass every "
                f"node, e.g. GraphINN([x, ..., z]) or GraphINN(collect_nodes(x))."
            )
        node_list = list(node_list)
        plan = build_plan(node_list)
        in_nodes = [n for n in node_list if isinstance(n, InputNode)]
        condition_nodes = [n for n in node_list if isinstance(n, ConditionNode)]
        super().__init__([n.dims for n in in_nodes], [n.dims for n in condition_nodes])
        self._plan: Plan = plan
        self.in_nodes = in_nodes
        self.condition_nodes = condition_nodes
        self.out_nodes = [n for n in node_list if isinstance(n, OutputNode)]
        self.ff_nodes = [n for n in node_list if isinstance(n, FeedForwardNode)]
        self.node_list_fwd = plan.order_fwd
        self.node_list_rev = plan.order_rev
        self.global_out_shapes: ShapeList = [n.input_dims[0] for n in self.out_nodes]
        self.force_tuple_output = force_tuple_output
        self.memory_efficient = memory_efficient
        self.module_list = nn.ModuleList(plan.modules)
        self._block_of_node = {step.node: step.block for step in plan.forward}
        self._relaxed_inputs = [_checks_own_shapes(n.outputs[0][0].module) for n in self.in_nodes]
        self._relaxed_outputs = [_checks_own_shapes(n.inputs[0][0].module) for n in self.out_nodes]
        self._input_names = [f"InputNode {n.name!r}" for n in self.in_nodes]
        self._output_names = [f"OutputNode {n.name!r}" for n in self.out_nodes]
        self._condition_names = [f"ConditionNode {n.name!r}" for n in self.condition_nodes]
        readers: dict[int, list] = {id(n): [] for n in condition_nodes}
        for node in plan.order_fwd:
            for source, _ in node.conditions:
                readers.get(id(source), []).append(node)
        # non-tensor conditions (GaussianMixtureModel's index) pass only to modules that check them
        self._lenient_conditions = [
            bool(readers[id(n)]) and all(_checks_own_shapes(r.module) for r in readers[id(n)])
            for n in condition_nodes]
        if verbose:
            print(self)

    @property
    def node_list(self) -> list[AbstractNode]:
        """All nodes in forward topological order."""
        return self.node_list_fwd

    def extra_repr(self) -> str:
        """Node names and wiring (see :func:`~inn.framework.summary.graph_summary`)."""
        return graph_summary(self.node_list)

    @property
    def exact_inverse(self) -> bool:  # type: ignore[override]
        """Whether every invertible node's module declares ``exact_inverse``."""
        blocks = list(self.module_list)
        return all(getattr(blocks[step.block], "exact_inverse", False)
                   for step in self._plan.forward if not step.feed_forward)

    def output_dims(self, input_dims: ShapeList | None = None) -> ShapeList:
        """The network's output shapes (``input_dims`` is accepted for compatibility)."""
        return list(self.global_out_shapes)

    # -- calling -------------------------------------------------------------------------------

    def forward(
        self,
        x_or_z: Any = None,
        c: Any = None,
        rev: bool = False,
        jac: bool = True,
        intermediate_outputs: bool = False,
        x: Any = None,
    ) -> tuple[Any, Any]:
        """Run the network forward or in reverse.

        Args:
            x_or_z: A tensor or a list/tuple of tensors: the inputs, or the outputs when ``rev``,
                in node-list order.
            c: ``None``, a tensor (meaning ``[c]``) or a list/tuple of conditions.
            rev: Run in reverse.
            jac: Compute the log-Jacobian determinant (zeros otherwise).
            intermediate_outputs: Return ``(values, log_dets)`` dicts instead (see API docs).
            x: Deprecated alias of ``x_or_z``.

        Returns:
            ``(out, log_jac_det)``: ``out`` is a tensor for a single output (unless
            ``force_tuple_output``), else a tuple; ``log_jac_det`` has shape ``(B,)``.

        Raises:
            InputCountError, ConditionError, ShapeError: For wrong inputs or conditions.
            InputTypeError: For non-tensors, integer or complex tensors, or a dtype or device
                other than the network's.
            NonFiniteError: Under ``set_validation("full")``, naming the first node that
                produced NaN or Inf.
        """
        if x is not None:
            warnings.warn("GraphINN(x=...) is deprecated: pass the input as x_or_z.",
                          DeprecationWarning, stacklevel=2)
            x_or_z = x
        x_or_z, c = as_tuple(x_or_z, "input", self), as_tuple(c, "condition", self)
        if validation_enabled():
            self._check_call(x_or_z, c, rev)
        values, log_jac_det, node_log_dets = self._execute(x_or_z, c, rev, jac,
                                                           intermediate_outputs)
        if intermediate_outputs:
            return self._intermediate(values, rev), node_log_dets
        outs = tuple(values[s] for s in (self._plan.input_slots if rev else
                                         self._plan.output_slots))
        if len(outs) == 1 and not self.force_tuple_output:
            return outs[0], log_jac_det
        return outs, log_jac_det

    def _call_as_block(self, x_or_z: tuple, c: tuple, rev: bool, jac: bool) -> tuple:
        if validation_enabled():
            self._check_call(x_or_z, c, rev)
        values, log_jac_det, _ = self._execute(x_or_z, c, rev, jac, False)
        slots = self._plan.input_slots if rev else self._plan.output_slots
        return tuple(values[s] for s in slots), log_jac_det

    def _check_call(self, x_or_z: tuple, c: tuple, rev: bool) -> None:
        shapes, names, relaxed = (
            (self.global_out_shapes, self._output_names, self._relaxed_outputs) if rev
            else (self.dims_in, self._input_names, self._relaxed_inputs))
        reference = reference_tensor(self)
        batch = check_inputs("GraphINN", x_or_z, shapes, rev=rev, names=names, relaxed=relaxed,
                             reference=reference)
        check_conditions("GraphINN", c, self.dims_c, batch, names=self._condition_names,
                         vector_ok=True, tensors_only=self._lenient_conditions,
                         reference=reference)
        if full_validation_enabled():
            check_finite("GraphINN", x_or_z, "output to invert" if rev else "input")
            check_finite("GraphINN", c, "condition")

    def _execute(
        self, x_or_z: tuple, c: tuple, rev: bool, jac: bool, keep_node_log_dets: bool
    ) -> tuple[list, Tensor, dict | None]:
        if self.memory_efficient and not keep_node_log_dets and torch.is_grad_enabled():
            values, log_jac_det = backprop.run_graph(self, x_or_z, c, rev, jac)
            return values, log_jac_det, None
        plan = self._plan
        values: list[Any] = [None] * plan.n_slots
        # Whether each slot holds a checked tensor: the graph's inputs and conditions (checked
        # above, or checks are off) and outputs of directly run built-in blocks.
        checked = [False] * plan.n_slots
        for slot, value in zip(plan.output_slots if rev else plan.input_slots, x_or_z,
                               strict=True):
            values[slot] = value
            checked[slot] = True
        for slot, value in zip(plan.condition_slots, c, strict=True):
            values[slot] = value
            checked[slot] = isinstance(value, Tensor)  # other values are the reader's to check
        reference = x_or_z[0]
        total = None
        node_log_dets: dict | None = {} if (keep_node_log_dets and jac) else None
        step: Step | None = None
        # the registered children, looked up at call time (a plain list: ModuleList indexing
        # costs microseconds per block)
        blocks = list(self.module_list._modules.values())
        try:
            for step in plan.reverse if rev else plan.forward:
                conditions = tuple([values[i] for i in step.conditions])
                module = step.callable if step.block is None else blocks[step.block]
                if step.feed_forward:
                    values[step.writes[0]] = run_feed_forward(module, conditions)
                    continue
                inputs_checked = all([checked[i] for i in step.reads]) \
                    and all([checked[i] for i in step.conditions])
                out, log_jac_det, out_checked = call_block(
                    module, tuple([values[i] for i in step.reads]), conditions, rev, jac,
                    len(step.writes), inputs_checked)
                for slot, value in zip(step.writes, out, strict=True):
                    values[slot] = value
                    checked[slot] = out_checked
                if jac:
                    total = accumulate_log_det(total, log_jac_det, reference)
                    if node_log_dets is not None:
                        node_log_dets[step.node] = accumulate_log_det(None, log_jac_det, reference)
        except Exception as error:
            if step is None:
                raise
            raise with_context(error, step.node._context()) from error
        return values, finish_log_det(total, reference), node_log_dets

    def _intermediate(self, values: list, rev: bool) -> dict:
        """Map ``(node, index)`` to every computed value, as FrEIA's ``intermediate_outputs``."""
        return intermediate_outputs(self._plan, self.node_list_fwd, self.out_nodes, values, rev)

    # -- helpers -------------------------------------------------------------------------------

    def log_jacobian_numerical(
        self, x: Any, c: Any = None, rev: bool = False, h: float = 1e-4
    ) -> Tensor:
        """Finite-difference log-determinant at ``x`` (for tests), shape ``(B,)``."""
        return numerical_log_jacobian(
            lambda inputs: self._call_as_block(inputs, as_tuple(c), rev, False)[0],
            as_tuple(x), h)

    def get_node_by_name(self, name: str) -> AbstractNode | None:
        """The first node with this name, or ``None``."""
        return next((node for node in self.node_list if node.name == name), None)

    def get_module_by_name(self, name: str) -> nn.Module | None:
        """The module of the first node with this name, or ``None``."""
        node = self.get_node_by_name(name)
        if node is None:
            return None
        block = self._block_of_node.get(node)
        return node.module if block is None else self.module_list[block]

    def plot(self, path: str, filename: str) -> None:
        """Draw the graph with graphviz into ``path/filename`` and ``path/filename.pdf``."""
        plot_graph(self.node_list, path, filename)


def _checks_own_shapes(module: Any) -> bool:
    """Whether a module checks the shapes of the tensors it reads itself (see InvertibleModule)."""
    return getattr(module, "checks_own_shapes", False)
