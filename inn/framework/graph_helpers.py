r"""GraphINN helpers: intermediate outputs by ``(node, index)`` and a finite-difference log-det."""

from __future__ import annotations

from collections.abc import Callable, Sequence

import torch
from torch import Tensor

from .io_nodes import InputNode
from .nodes import AbstractNode
from .plan import Plan

__all__ = ["intermediate_outputs", "numerical_log_jacobian"]


def intermediate_outputs(
    plan: Plan, nodes_forward: Sequence[AbstractNode], out_nodes: Sequence[AbstractNode],
    values: list, rev: bool,
) -> dict[tuple[AbstractNode, int], Tensor]:
    """Map ``(node, index)`` to every computed value, as FrEIA's ``intermediate_outputs``.

    Args:
        plan: The graph's execution plan (which slot holds which node output).
        nodes_forward: The graph's nodes in forward order.
        out_nodes: The graph's output nodes.
        values: The slot values of one call.
        rev: Whether the call ran in reverse; then ``(node, i)`` means the node's reconstructed
            input ``i``.
    """
    outs: dict[tuple[AbstractNode, int], Tensor] = {}
    for (node, index), slot in plan.slot_of.items():
        if rev and node.consumable and not isinstance(node, InputNode):
            continue  # in reverse, (node, i) means the node's reconstructed input i
        outs[(node, index)] = values[slot]
    if rev:
        for node in nodes_forward:
            if node.consumable and not isinstance(node, InputNode):
                for index, edge in enumerate(node.inputs):
                    outs[(node, index)] = values[plan.slot_of[edge]]
    for node in out_nodes:
        outs[(node, 0)] = values[plan.slot_of[node.inputs[0]]]
    return outs


def numerical_log_jacobian(
    function: Callable[[tuple], Sequence[Tensor]], x: tuple, h: float = 1e-4
) -> Tensor:
    r"""Finite-difference :math:`\log|\det J|` of ``function`` at ``x``, shape ``(B,)``.

    Central differences with step ``h`` over every input coordinate of every sample.

    Args:
        function: Maps a tuple of ``(B, ...)`` tensors to a sequence of ``(B, ...)`` tensors.
        x: The inputs.
        h: The step.

    Example:
        >>> x = (torch.randn(3, 2, dtype=torch.float64),)
        >>> numerical_log_jacobian(lambda t: (2 * t[0],), x)
        tensor([1.3863, 1.3863, 1.3863], dtype=torch.float64)
    """
    batch = x[0].shape[0]
    sizes = [t[0].numel() for t in x]
    flat = torch.cat([t.reshape(batch, -1) for t in x], dim=1)

    def evaluate(points: Tensor) -> Tensor:
        parts = torch.split(points, sizes, dim=1)
        inputs = [p.reshape(t.shape) for p, t in zip(parts, x, strict=True)]
        out = function(tuple(inputs))
        return torch.cat([o.reshape(batch, -1) for o in out], dim=1)

    columns = []
    for i in range(flat.shape[1]):
        offset = torch.zeros_like(flat)
        offset[:, i] = h
        columns.append((evaluate(flat + offset) - evaluate(flat - offset)) / (2 * h))
    jacobian = torch.stack(columns, dim=2)
    return torch.linalg.slogdet(jacobian)[1]
