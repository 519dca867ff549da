"""Coupling blocks: the shared base, the general ``CouplingBlock`` and FrEIA's couplings on it."""

from .affine import GINCouplingBlock, GLOWCouplingBlock, NICECouplingBlock, RNVPCouplingBlock
from .all_in_one import AllInOneBlock
from .base import CouplingBase, SubnetConstructor, resolve_split_len
from .general import CouplingBlock
from .masks import checkerboard_mask
from .one_sided import AffineCouplingOneSided, ConditionalAffineTransform

__all__ = [
    "AffineCouplingOneSided",
    "AllInOneBlock",
    "ConditionalAffineTransform",
    "CouplingBase",
    "CouplingBlock",
    "GINCouplingBlock",
    "GLOWCouplingBlock",
    "NICECouplingBlock",
    "RNVPCouplingBlock",
    "SubnetConstructor",
    "checkerboard_mask",
    "resolve_split_len",
]
