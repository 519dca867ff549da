"""Tools to test invertible modules: :func:`check_module`, the contract checks and their forms."""

from .check_module import CheckReport, check_module
from .checks import CHECKS, Subject
from .forms import FORMS, call, flat_jacobian, wrap

__all__ = ["CHECKS", "FORMS", "CheckReport", "Subject", "call", "check_module", "flat_jacobian",
           "wrap"]
