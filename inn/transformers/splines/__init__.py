"""Spline transformers: rational-quadratic (tfep's options) and piecewise-linear."""

from .base import SplineTransformer
from .linear import Linear
from .rational_quadratic import RationalQuadratic

__all__ = ["Linear", "RationalQuadratic", "SplineTransformer"]
