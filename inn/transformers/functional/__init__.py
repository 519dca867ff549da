"""Pure elementwise bijections: each returns ``(y, elementwise_log_det)``, no ``nn.Module``."""

from .affine import additive, affine
from .clamps import (
    ATAN_CLAMP_SCALE,
    CLAMP_ACTIVATIONS,
    atan_activation,
    resolve_clamp_activation,
    sigmoid_activation,
    soft_clamp,
    soft_clamp_atan,
)

__all__ = [
    "ATAN_CLAMP_SCALE",
    "CLAMP_ACTIVATIONS",
    "additive",
    "affine",
    "atan_activation",
    "resolve_clamp_activation",
    "sigmoid_activation",
    "soft_clamp",
    "soft_clamp_atan",
]
