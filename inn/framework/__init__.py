"""Containers and nodes: build invertible networks as graphs (``GraphINN``) or chains (``SequenceINN``)."""  # noqa: E501

from .deprecated import ReversibleGraphNet, ReversibleSequential
from .graph import GraphINN
from .nodes import (
    AbstractNode,
    ConditionNode,
    FeedForwardNode,
    InputNode,
    Node,
    OutputNode,
    collect_nodes,
)
from .sequence import SequenceINN

__all__ = [
    "AbstractNode",
    "ConditionNode",
    "FeedForwardNode",
    "GraphINN",
    "InputNode",
    "Node",
    "OutputNode",
    "ReversibleGraphNet",
    "ReversibleSequential",
    "SequenceINN",
    "collect_nodes",
]
