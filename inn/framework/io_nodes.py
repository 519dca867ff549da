"""Nodes without an invertible module: inputs, conditions, outputs, feed-forward functions."""

from __future__ import annotations

import weakref
from typing import Any

import torch.nn as nn
from torch import Tensor

from ..errors import GraphError, InnError, ModuleArgumentError, NodeTypeError, with_context
from ..keywords import check_keywords
from ..modules.base import InvertibleModule
from ..utils import Shape, ShapeList, normalize_dims
from .nodes import AbstractNode

__all__ = ["ConditionNode", "FeedForwardNode", "InputNode", "OutputNode", "run_feed_forward"]


class _SourceNode(AbstractNode):
    """A node without a module that provides one tensor of a fixed shape."""

    def __init__(self, *dims: int, name: str | None = None) -> None:
        kind = type(self).__name__
        if not dims:
            raise GraphError(f"{kind} needs a shape, e.g. {kind}(3, 32, 32); got none.")
        if any(isinstance(d, bool) or not isinstance(d, int) or d < 0 for d in dims):
            raise GraphError(
                f"{kind} shape must consist of non-negative ints, got {dims!r}; pass the "
                f"dimensions as separate arguments, e.g. {kind}(3, 32, 32)."
            )
        self.dims: Shape = tuple(dims)
        super().__init__([], None, {}, name=name)

    def build_module(self, condition_shapes: ShapeList, input_shapes: ShapeList) -> tuple:
        """No module; one output of the node's shape."""
        return None, [self.dims]


class InputNode(_SourceNode):
    """A network input of shape ``dims`` (the output when running in reverse).

    Example:
        >>> InputNode(3, 32, 32, name="x").output_dims
        [(3, 32, 32)]
    """


class ConditionNode(_SourceNode):
    """A network condition of shape ``dims``; its output can only be read as a condition.

    ``ConditionNode(0)`` is allowed (``GaussianMixtureModel`` reads its component index there).
    """

    consumable = False


class OutputNode(AbstractNode):
    """A network output (the input when running in reverse); exactly one input.

    Raises:
        GraphError: If given more or fewer than one input.
    """

    consumable = False

    def __init__(self, in_node: Any, name: str | None = None) -> None:
        super().__init__(in_node, None, {}, name=name)

    def build_module(self, condition_shapes: ShapeList, input_shapes: ShapeList) -> tuple:
        """No module and no outputs."""
        if len(input_shapes) != 1:
            raise GraphError(
                f"{self!r} takes exactly one input, got {len(input_shapes)}."
            )
        return None, []


class FeedForwardNode(AbstractNode):
    """A non-invertible function of conditions, whose output can only be used as a condition.

    The module is built as ``module_type(**module_args)`` or given as an ``nn.Module`` instance,
    and called as ``module(*conditions)``; an ``InvertibleModule`` is called as
    ``module(conditions)`` and its log-det is ignored. It runs on the same values in both
    directions and contributes no log-det.

    Args:
        conditions: Outputs to compute from: condition nodes, input nodes, other nodes' outputs or
            other feed-forward nodes.
        output_dims: The shape of the result, without batch axis.
        module_type: An ``nn.Module`` class or instance.
        module_args: Keyword arguments for the class.
        name: The node's name.

    Example:
        >>> import torch.nn as nn
        >>> c = ConditionNode(3)
        >>> ff = FeedForwardNode(c, (8,), nn.Linear, {"in_features": 3, "out_features": 8})
        >>> ff.output_dims
        [(8,)]
    """

    consumable = False

    def __init__(
        self,
        conditions: Any,
        output_dims: Any,
        module_type: Any,
        module_args: dict | None = None,
        name: str | None = None,
    ) -> None:
        self.module_output_dims = normalize_dims([output_dims])[0]
        super().__init__([], module_type, module_args, conditions=conditions, name=name)

    def build_module(self, condition_shapes: ShapeList, input_shapes: ShapeList) -> tuple:
        """Build or take the module; one output of ``output_dims``."""
        if isinstance(self.module_type, nn.Module):
            if self.module_args:
                raise ModuleArgumentError(
                    f"{self._context()}: a pre-built module takes no module_args."
                )
            module = self.module_type
            self.module_type = type(module)
        elif callable(self.module_type):
            if isinstance(self.module_type, type) and self.module_args:
                check_keywords(self.module_type, self.module_args, context=self._context())
            try:
                module = self.module_type(**(self.module_args or {}))
            except InnError as error:
                raise with_context(error, self._context()) from error
        else:
            raise NodeTypeError(
                f"FeedForwardNode {self.name!r}: module_type must be an nn.Module class or "
                f"instance, got a {type(self.module_type).__name__}."
            )
        # conditions declared (1,): a (B,) float tensor for them gets its feature axis back
        unit = tuple(i for i, s in enumerate(condition_shapes) if s == (1,))
        if unit:
            _UNIT_CONDITIONS[module] = unit
        return module, [self.module_output_dims]


# Feed-forward modules reading a ConditionNode(1), with those positions (set at build time).
_UNIT_CONDITIONS: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def run_feed_forward(module: nn.Module, conditions: Any) -> Tensor:
    """Evaluate a feed-forward node's module on its condition tensors.

    A ``ConditionNode(1)`` also accepts a ``(B,)`` tensor (FrEIA's documentation passes
    conditions this way); for the feed-forward module, which expects a feature axis
    (``nn.Linear(1, k)``), a floating ``(B,)`` tensor at a position declared ``(1,)`` becomes
    ``(B, 1)``. Integer ``(B,)`` tensors (labels for an ``nn.Embedding``) pass unchanged.
    """
    unit_conditions = _UNIT_CONDITIONS.get(module) if _UNIT_CONDITIONS else None
    if unit_conditions:
        conditions = tuple(
            c.unsqueeze(1) if i in unit_conditions and isinstance(c, Tensor) and c.dim() == 1
            and c.is_floating_point() else c for i, c in enumerate(conditions))
    if isinstance(module, InvertibleModule):
        out, _ = module._call_as_block(tuple(conditions), (), False, False)
        return out[0]
    return module(*conditions)
