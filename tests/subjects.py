"""Build a registry case in float64, perturbed; the forms and calls come from inn.testing."""

import numpy as np
import torch

from inn.testing import Subject, call, flat_jacobian, wrap

__all__ = ["build", "call", "flat_jacobian", "subject", "wrap"]


def build(case, seed=0, dtype=torch.float64):
    """Build, cast, warm up and perturb the module of ``case``; return it with inputs."""
    torch.manual_seed(seed)
    np.random.seed(seed)
    module = case.factory().to(dtype)
    generator = torch.Generator().manual_seed(1234)
    x = case.inputs(module.dims_in, 4, generator, dtype)
    c = case.conditions(module.dims_c, 4, generator, dtype)
    if case.warmup:
        with torch.no_grad():
            module(x, c=c or None)
    if case.perturb is not None:
        case.perturb(module, torch.Generator().manual_seed(99))
    return module, x, c


def subject(case, form):
    """The ``inn.testing.Subject`` of ``case`` in ``form`` (inverse: inputs are outputs)."""
    module, x, c = build(case)
    if form == "inverse":
        with torch.no_grad():
            x, _ = call(module, x, c)
    fresh = build(case, seed=17)[0] if form == "plain" else None
    return Subject(module, wrap(module, form), form, list(x), c, case.atol, case.jacobian,
                   case.batch_independent, fresh)
