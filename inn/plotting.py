"""Graphviz drawings of node graphs (the optional ``plot`` extra)."""

from __future__ import annotations

import os
from collections.abc import Iterable
from typing import Any

__all__ = ["plot_graph"]


def _label(node: Any) -> str:
    module = getattr(node, "module", None)
    kind = type(node).__name__ if module is None else type(module).__name__
    return f"{kind}\n{node.name}"


def _shape_label(shape: Iterable[int]) -> str:
    return "(" + ",".join(str(d) for d in shape) + ")"


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
        ImportError: If the ``graphviz`` Python package is missing
            (``pip install 'inn-flows[plot]'``).
        RuntimeError: If the graphviz ``dot`` program is not installed.
    """
    if not os.path.isdir(path):
        raise FileNotFoundError(f"Cannot plot the graph: the directory {path!r} does not exist.")
    try:
        import graphviz
    except ImportError as error:
        raise ImportError(
            "Plotting needs the graphviz package: install it with `pip install 'inn-flows[plot]'`."
        ) from error

    nodes = list(nodes)
    graph = graphviz.Digraph()
    for node in nodes:
        graph.node(str(id(node)), _label(node))
    for node in nodes:
        for (source, index), shape in zip(node.inputs, node.input_dims, strict=False):
            graph.edge(str(id(source)), str(id(node)), label=_shape_label(shape) + f" [{index}]")
        for (source, index), shape in zip(node.conditions, node.condition_dims, strict=False):
            graph.edge(str(id(source)), str(id(node)), label=_shape_label(shape) + f" [{index}]",
                       style="dashed")
    try:
        graph.render(os.path.abspath(os.path.join(path, filename)))
    except graphviz.backend.execute.ExecutableNotFound as error:
        raise RuntimeError(
            "Graphviz's `dot` program is not installed (e.g. `apt-get install graphviz`)."
        ) from error
