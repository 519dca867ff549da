"""Coupling blocks: the shared base and FrEIA's couplings built on it."""

from .affine import GLOWCouplingBlock, NICECouplingBlock, RNVPCouplingBlock
from .base import CouplingBase, SubnetConstructor, resolve_split_len

__all__ = [
    "CouplingBase",
    "GLOWCouplingBlock",
    "NICECouplingBlock",
    "RNVPCouplingBlock",
    "SubnetConstructor",
    "resolve_split_len",
]
