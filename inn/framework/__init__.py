"""Containers and nodes: invertible networks as graphs (GraphINN) or chains (SequenceINN)."""

from .deprecated import ReversibleGraphNet, ReversibleSequential
from .freia_checkpoints import load_freia_state_dict
from .graph import GraphINN
from .io_nodes import ConditionNode, FeedForwardNode, InputNode, OutputNode
from .nodes import AbstractNode, Node, collect_nodes
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
    "load_freia_state_dict",
]
