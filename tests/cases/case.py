"""``Case``: how the contract tests build, perturb and feed one module configuration."""

from collections.abc import Callable
from dataclasses import dataclass, field

import torch
import torch.nn as nn


def mlp_subnet(c_in, c_out, hidden=16):
    """A small smooth MLP subnet (vectors)."""
    return nn.Sequential(nn.Linear(c_in, hidden), nn.Tanh(), nn.Linear(hidden, c_out))


def conv_subnet(c_in, c_out, hidden=8):
    """A small smooth convolutional subnet (images)."""
    return nn.Sequential(nn.Conv2d(c_in, hidden, 3, padding=1), nn.Tanh(),
                         nn.Conv2d(hidden, c_out, 3, padding=1))


def default_perturb(module, generator):
    """Move every floating parameter away from its (possibly identity) initialisation."""
    with torch.no_grad():
        for p in module.parameters():
            if p.is_floating_point():
                p.add_(0.3 * torch.randn(p.shape, generator=generator, dtype=p.dtype))


def perturbed(module, seed=3):
    """``module`` after :func:`default_perturb` with a fixed seed, for semantic tests."""
    default_perturb(module, torch.Generator().manual_seed(seed))
    return module


def standard_normal(shapes, batch, generator, dtype):
    return [torch.randn((batch, *s), generator=generator, dtype=dtype) for s in shapes]


@dataclass
class Case:
    """One configuration of one module.

    Attributes:
        factory: Builds the module (under the default dtype; tests cast it).
        perturb: ``(module, generator) -> None``; moves parameters off their initialisation.
            ``None`` for modules without parameters.
        inputs: ``(shapes, batch, generator, dtype) -> list[Tensor]`` for the forward inputs.
        conditions: Same for the conditions (shapes are ``module.dims_c``).
        warmup: Run one forward pass before perturbing (data-dependent initialisation).
        atol: Tolerance of the float64 checks (1e-9 for exact modules).
        jacobian: Compare the log-det with autograd ``slogdet`` (needs exact log-dets).
        batch_independent: Each sample's result is independent of the rest of the batch.
        sequence: Usable as a ``SequenceINN`` block (one input, one output).
    """

    factory: Callable[[], nn.Module]
    perturb: Callable | None = field(default=default_perturb)
    inputs: Callable = standard_normal
    conditions: Callable = standard_normal
    warmup: bool = False
    atol: float = 1e-9
    jacobian: bool = True
    batch_independent: bool = True
    sequence: bool = True
