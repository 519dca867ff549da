"""Invertible modules: couplings, permutations, normalisation, reshapes and graph topology.

Every class here is an :class:`InvertibleModule` usable as a ``Node`` module or a
``SequenceINN`` block, with FrEIA's names, arguments and return conventions.
"""

from .base import InvertibleModule
from .coupling import CouplingBase, GLOWCouplingBlock, NICECouplingBlock, RNVPCouplingBlock
from .graph_topology import Concat, Concat1d, ConcatChannel, Split, Split1D, SplitChannel
from .inverse import Inverse
from .normalization import ActNorm
from .permute import PermuteRandom

__all__ = [
    "ActNorm",
    "Concat",
    "Concat1d",
    "ConcatChannel",
    "CouplingBase",
    "GLOWCouplingBlock",
    "Inverse",
    "InvertibleModule",
    "NICECouplingBlock",
    "PermuteRandom",
    "RNVPCouplingBlock",
    "Split",
    "Split1D",
    "SplitChannel",
]
