"""inn: invertible neural networks and normalizing flows on PyTorch, a drop-in superset of FrEIA.

``import inn.framework as Ff`` and ``import inn.modules as Fm`` work like FrEIA's modules; every
public name of both is also available here, e.g. ``inn.GraphINN`` or ``inn.GLOWCouplingBlock``.
"""

from . import distributions, errors, framework, modules, transformers, utils
from .errors import (
    ConditionError,
    CycleError,
    DanglingError,
    GraphError,
    InnError,
    InputCountError,
    ModuleArgumentError,
    NodeTypeError,
    ShapeError,
)
from .framework import (
    AbstractNode,
    ConditionNode,
    FeedForwardNode,
    GraphINN,
    InputNode,
    Node,
    OutputNode,
    ReversibleGraphNet,
    ReversibleSequential,
    SequenceINN,
    collect_nodes,
)
from .modules import (
    ActNorm,
    Concat,
    ConcatChannel,
    CouplingBase,
    GLOWCouplingBlock,
    Inverse,
    InvertibleModule,
    NICECouplingBlock,
    PermuteRandom,
    RNVPCouplingBlock,
    Split,
    SplitChannel,
)
from .validation import set_validation, validation_enabled

__version__ = "0.1.0"

__all__ = [
    "AbstractNode",
    "ActNorm",
    "Concat",
    "ConcatChannel",
    "ConditionError",
    "ConditionNode",
    "CouplingBase",
    "CycleError",
    "DanglingError",
    "FeedForwardNode",
    "GLOWCouplingBlock",
    "GraphError",
    "GraphINN",
    "InnError",
    "InputCountError",
    "InputNode",
    "Inverse",
    "InvertibleModule",
    "ModuleArgumentError",
    "NICECouplingBlock",
    "Node",
    "NodeTypeError",
    "OutputNode",
    "PermuteRandom",
    "RNVPCouplingBlock",
    "ReversibleGraphNet",
    "ReversibleSequential",
    "SequenceINN",
    "ShapeError",
    "Split",
    "SplitChannel",
    "__version__",
    "collect_nodes",
    "distributions",
    "errors",
    "framework",
    "modules",
    "set_validation",
    "transformers",
    "utils",
    "validation_enabled",
]
