"""Text summaries of containers for ``print(net)``: node names and wiring, block shapes."""

from __future__ import annotations

from typing import Any

__all__ = ["graph_summary", "sequence_summary"]


def _shape(shape: Any) -> str:
    return "(" + ", ".join(str(d) for d in shape) + ("," if len(shape) == 1 else "") + ")"


def _edges(connections: Any) -> str:
    return ", ".join(f"{source.name}.out{index}" for source, index in connections)


def graph_summary(nodes: Any) -> str:
    """One line per node: ``name (Kind) <- inputs | c: conditions -> output shapes``.

    Example:
        >>> import inn
        >>> x = inn.InputNode(2, name="x")
        >>> b = inn.Node(x, inn.PermuteRandom, {"seed": 0}, name="perm")
        >>> print(graph_summary([x, b, inn.OutputNode(b, name="z")]))
        x (InputNode) -> (2,)
        perm (PermuteRandom) <- x.out0 -> (2,)
        z (OutputNode) <- perm.out0
    """
    lines = []
    for node in nodes:
        module = getattr(node, "module", None)
        kind = type(node).__name__ if module is None or type(node).__name__ in (
            "InputNode", "ConditionNode", "OutputNode") else type(module).__name__
        line = f"{node.name} ({kind})"
        if node.inputs:
            line += f" <- {_edges(node.inputs)}"
        if getattr(node, "conditions", None):
            line += f" | c: {_edges(node.conditions)}"
        if type(node).__name__ != "OutputNode":
            line += " -> " + ", ".join(_shape(s) for s in node.output_dims)
        lines.append(line)
    return "\n".join(lines)


def sequence_summary(blocks: Any, shapes: Any, conditions: Any) -> str:
    """One line per block: ``index: Class (in) -> (out)`` and its condition indices.

    Example:
        >>> import inn
        >>> seq = inn.SequenceINN(3)
        >>> seq.append(inn.PermuteRandom, seed=0)
        >>> print(sequence_summary(seq.module_list, seq.shapes, seq.conditions))
        0: PermuteRandom (3,) -> (3,)
    """
    lines = []
    for i, (block, cond) in enumerate(zip(blocks, conditions, strict=True)):
        line = f"{i}: {type(block).__name__} {_shape(shapes[i])} -> {_shape(shapes[i + 1])}"
        lines.append(line + ("" if cond is None else f", cond={cond}"))
    return "\n".join(lines)
