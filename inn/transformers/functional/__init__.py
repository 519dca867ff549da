"""Pure elementwise bijections: each returns ``(y, elementwise_log_det)``, no ``nn.Module``."""

from .activations import logistic, two_sided_scale
from .affine import additive, affine, affine_inverse
from .clamps import (
    ATAN_CLAMP_SCALE,
    CLAMP_ACTIVATIONS,
    atan_activation,
    resolve_clamp_activation,
    sigmoid_activation,
    soft_clamp,
    soft_clamp_atan,
)
from .knots import bin_sizes, gather_pair, locate_bin
from .linear_spline import linear_spline, linear_spline_bin
from .rational_quadratic import rational_quadratic, rational_quadratic_bin

__all__ = [
    "ATAN_CLAMP_SCALE",
    "CLAMP_ACTIVATIONS",
    "additive",
    "affine",
    "affine_inverse",
    "atan_activation",
    "bin_sizes",
    "gather_pair",
    "linear_spline",
    "linear_spline_bin",
    "locate_bin",
    "logistic",
    "rational_quadratic",
    "rational_quadratic_bin",
    "resolve_clamp_activation",
    "sigmoid_activation",
    "soft_clamp",
    "soft_clamp_atan",
    "two_sided_scale",
]
