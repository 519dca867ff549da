"""Graphviz drawings of node graphs (the optional ``plot`` extra)."""

from __future__ import annotations

import os
from collections.abc import Iterable
from typing import Any

__all__ = ["draw_graph", "plot_graph"]


def _label(node: Any) -> str:
    module = getattr(node, "module", None)
    kind = type(node).__name__ if module is None else type(module).__name__
    return f"{kind}\n{node.name}"


def _shape_label(shape: Iterable[int]) -> str:
    return "(" + ",".join(str(d) for d in shape) + ")"


def _digraph(graphviz: Any, nodes: list) -> Any:
    graph = graphviz.Digraph()
    for node in nodes:
        graph.node(str(id(node)), _label(node))
    for node in nodes:
        for (source, index), shape in zip(node.inputs, node.input_dims, strict=False):
            graph.edge(str(id(source)), str(id(node)), label=_shape_label(shape) + f" [{index}]")
        for (source, index), shape in zip(node.conditions, node.condition_dims, strict=False):
            graph.edge(str(id(source)), str(id(node)), label=_shape_label(shape) + f" [{index}]",
                       style="dashed")
    return graph


def _import_graphviz() -> Any:
    try:
        import graphviz
    except ImportError as error:
        raise ImportError(
            "Plotting needs the graphviz package: install it with `pip install inn[plot]`."
        ) from error
    return graphviz


def _sequence_digraph(graphviz: Any, seq: Any) -> Any:
    graph = graphviz.Digraph()
    graph.node("in", f"input\n{_shape_label(seq.shapes[0])}", shape="plaintext")
    previous = "in"
    for i, (block, cond) in enumerate(zip(seq.module_list, seq.conditions, strict=True)):
        graph.node(str(i), f"{type(block).__name__}\nblock {i}", shape="box")
        graph.edge(previous, str(i), label=_shape_label(seq.shapes[i]))
        for index in [] if cond is None else ([cond] if isinstance(cond, int) else cond):
            graph.node(f"c{index}", f"condition {index}", shape="plaintext")
            graph.edge(f"c{index}", str(i), style="dashed")
        previous = str(i)
    graph.node("out", "output", shape="plaintext")
    graph.edge(previous, "out", label=_shape_label(seq.shapes[-1]))
    return graph


def draw_graph(net: Any) -> Any:
    """A ``graphviz.Digraph`` of a ``GraphINN``, a ``SequenceINN`` or a list of nodes.

    Display it in a notebook as is, or write it with ``.render(path, format="png")`` (PNG, SVG,
    PDF, ...; rendering needs graphviz's ``dot`` program). GraphINN nodes show their module's
    class and name; edges show shapes, condition edges are dashed.

    Raises:
        ImportError: If the ``graphviz`` package is missing (``pip install inn[plot]``).

    Example:
        >>> import inn
        >>> graph = draw_graph(inn.flows.RealNVP(2, transforms=2).transform)
        >>> "CouplingBlock" in graph.source
        True
    """
    graphviz = _import_graphviz()
    if hasattr(net, "shapes") and hasattr(net, "module_list"):
        return _sequence_digraph(graphviz, net)
    return _digraph(graphviz, list(getattr(net, "node_list", net)))


def plot_graph(nodes: Iterable[Any], path: str, filename: str) -> None:
    """Draw a node graph with graphviz to ``path/filename`` (dot source) and ``.pdf``.

    Nodes are labelled with their module's class name (or node type) and their name; input edges
    and condition edges (dashed) are labelled with the shape that flows along them and the
    index of the producer's output.

    Args:
        nodes: The nodes, e.g. a ``GraphINN``'s ``node_list``.
        path: An existing directory.
        filename: Name of the files to write.

    Raises:
        FileNotFoundError: If ``path`` does not exist.
        ImportError: If the ``graphviz`` Python package is missing (``pip install inn[plot]``).
        RuntimeError: If the graphviz ``dot`` program is not installed.
    """
    if not os.path.isdir(path):
        raise FileNotFoundError(f"Cannot plot the graph: the directory {path!r} does not exist.")
    graphviz = _import_graphviz()
    graph = _digraph(graphviz, list(nodes))
    try:
        graph.render(os.path.abspath(os.path.join(path, filename)))
    except graphviz.backend.execute.ExecutableNotFound as error:
        raise RuntimeError(
            "Graphviz's `dot` program is not installed (e.g. `apt-get install graphviz`)."
        ) from error
