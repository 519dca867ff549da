"""Invertible modules: couplings, permutations, normalisation, reshapes and graph topology.

Every class here is an :class:`InvertibleModule` usable as a ``Node`` module or a
``SequenceINN`` block, with FrEIA's names, arguments and return conventions.
"""

from .activations import (
    InvAutoAct,
    InvAutoActFixed,
    InvAutoActTwoSided,
    InvertibleSigmoid,
    LearnedElementwiseScaling,
)
from .autoregressive import InverseAutoregressive, MaskedAutoregressive
from .base import InvertibleModule
from .coupling import (
    AffineCouplingOneSided,
    AllInOneBlock,
    ConditionalAffineTransform,
    CouplingBase,
    CouplingBlock,
    GINCouplingBlock,
    GLOWCouplingBlock,
    NICECouplingBlock,
    RNVPCouplingBlock,
)
from .data_transforms import LogitTransform, ScaleToUnit, UniformDequantization, bits_per_dim
from .elementary import ElementwiseAffine, InvertibleLinear
from .fixed import Fixed1x1Conv, FixedLinearTransform
from .gmm import GaussianMixtureModel
from .graph_topology import Concat, Concat1d, ConcatChannel, Split, Split1D, SplitChannel
from .householder import HouseholderPerm
from .inv_auto import InvAutoConv2D, InvAutoFC
from .inverse import Inverse
from .iresnet import IResNetLayer
from .normalization import ActNorm
from .orthogonal import OrthogonalTransform
from .permute import PermuteRandom
from .reshapes import Flatten, IRevNetDownsampling, IRevNetUpsampling, Reshape
from .splines import (
    ElementwiseRationalQuadraticSpline,
    LinearSpline,
    RationalQuadraticSpline,
    SplineCouplingBlock,
)
from .wavelets import HaarDownsampling, HaarUpsampling

__all__ = [
    "ActNorm",
    "AffineCouplingOneSided",
    "AllInOneBlock",
    "Concat",
    "ConcatChannel",
    "ConditionalAffineTransform",
    "CouplingBase",
    "CouplingBlock",
    "ElementwiseAffine",
    "ElementwiseRationalQuadraticSpline",
    "Fixed1x1Conv",
    "FixedLinearTransform",
    "Flatten",
    "GINCouplingBlock",
    "GLOWCouplingBlock",
    "GaussianMixtureModel",
    "HaarDownsampling",
    "HaarUpsampling",
    "HouseholderPerm",
    "IResNetLayer",
    "IRevNetDownsampling",
    "IRevNetUpsampling",
    "InvAutoAct",
    "InvAutoActFixed",
    "InvAutoActTwoSided",
    "InvAutoConv2D",
    "InvAutoFC",
    "Inverse",
    "InverseAutoregressive",
    "InvertibleLinear",
    "InvertibleModule",
    "InvertibleSigmoid",
    "LearnedElementwiseScaling",
    "LinearSpline",
    "LogitTransform",
    "MaskedAutoregressive",
    "NICECouplingBlock",
    "OrthogonalTransform",
    "PermuteRandom",
    "RNVPCouplingBlock",
    "RationalQuadraticSpline",
    "Reshape",
    "ScaleToUnit",
    "SplineCouplingBlock",
    "Split",
    "SplitChannel",
    "UniformDequantization",
    "bits_per_dim",
]

# FrEIA's deprecated names: importable from here, but outside __all__, as in FrEIA.
_DEPRECATED = (Concat1d, Split1D)
