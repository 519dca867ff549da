"""Training of flows (``Flow.fit``): data-parallel, mixed precision, exact checkpoint resume."""

from .callbacks import StepCallback, StepInfo
from .data import as_loader
from .loop import FitOptions, fit_flow
from .state import CHECKPOINT_FORMAT

__all__ = ["CHECKPOINT_FORMAT", "FitOptions", "StepCallback", "StepInfo", "as_loader", "fit_flow"]
