"""Transformers: elementwise monotone bijections whose parameters a conditioner predicts."""

from . import functional
from .affine import Additive, Affine
from .base import Transformer
from .splines import Linear, RationalQuadratic

__all__ = ["Additive", "Affine", "Linear", "RationalQuadratic", "Transformer", "functional"]
