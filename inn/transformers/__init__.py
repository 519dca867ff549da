"""Transformers: elementwise monotone bijections whose parameters a conditioner predicts."""

from . import functional
from .affine import Additive, Affine
from .base import Transformer

__all__ = ["Additive", "Affine", "Transformer", "functional"]
