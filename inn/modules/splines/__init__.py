"""Spline modules: FrEIA's couplings and per-element spline, and ``SplineCouplingBlock``."""

from .binned import BinnedSplineParameters
from .coupling import (
    BinnedSplineCoupling,
    BinnedSplineTransformer,
    LinearSpline,
    RationalQuadraticSpline,
)
from .elementwise import ElementwiseRationalQuadraticSpline
from .spline_coupling import SplineCouplingBlock

__all__ = [
    "BinnedSplineCoupling",
    "BinnedSplineParameters",
    "BinnedSplineTransformer",
    "ElementwiseRationalQuadraticSpline",
    "LinearSpline",
    "RationalQuadraticSpline",
    "SplineCouplingBlock",
]
