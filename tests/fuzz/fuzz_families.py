"""The modules the random-DAG fuzzer places on edges of any shape, with their arguments."""

from dataclasses import dataclass
from typing import Any

import torch.nn as nn

import inn.modules as Fm
from inn.transformers import Affine


def tiny_mlp(c_in, c_out):
    return nn.Sequential(nn.Linear(c_in, 8), nn.Tanh(), nn.Linear(8, c_out))


def tiny_conv(c_in, c_out):
    return nn.Sequential(nn.Conv2d(c_in, 4, 3, padding=1), nn.Tanh(),
                         nn.Conv2d(4, c_out, 3, padding=1))


def subnet_for(shape):
    return tiny_mlp if len(shape) == 1 else tiny_conv


@dataclass(frozen=True)
class Family:
    """How to place one module class on an edge.

    Attributes:
        cls: The module class, built by ``Node(edge, cls, kwargs(shape, seed))``.
        kwargs: ``(shape, seed) -> dict`` of constructor arguments.
        min_channels: The least channel count the module supports.
        conditions: Whether it takes conditions (vectors for vector inputs, maps with the
            input's spatial shape for images).
        needs_conditions: Whether it cannot run without one.
        images_only: Whether it needs a ``(C, H, W)`` input with even ``H`` and ``W``.
        vectors_only: Whether it needs a ``(C,)`` input.
    """

    cls: type
    kwargs: Any
    min_channels: int = 1
    conditions: bool = False
    needs_conditions: bool = False
    images_only: bool = False
    vectors_only: bool = False

    def applies(self, shape):
        if shape[0] < self.min_channels or (self.vectors_only and len(shape) != 1):
            return False
        if self.images_only:
            return len(shape) == 3 and shape[1] % 2 == 0 and shape[2] % 2 == 0
        return True


def _coupling(**extra):
    return lambda shape, seed: {"subnet_constructor": subnet_for(shape), **extra}


FAMILIES = {
    "nice": Family(Fm.NICECouplingBlock, _coupling(), 2, conditions=True),
    "rnvp": Family(Fm.RNVPCouplingBlock, _coupling(clamp=1.5), 2, conditions=True),
    "glow": Family(Fm.GLOWCouplingBlock, _coupling(), 2, conditions=True),
    "glow_tanh": Family(Fm.GLOWCouplingBlock, _coupling(clamp_activation="TANH"), 2,
                        conditions=True),
    "gin": Family(Fm.GINCouplingBlock, _coupling(), 2, conditions=True),
    "one_sided": Family(Fm.AffineCouplingOneSided, _coupling(), 2, conditions=True),
    "cond_affine": Family(Fm.ConditionalAffineTransform, _coupling(), 1, conditions=True,
                          needs_conditions=True),
    "all_in_one": Family(Fm.AllInOneBlock, _coupling(), 2, conditions=True),
    "all_in_one_soft": Family(Fm.AllInOneBlock, _coupling(permute_soft=True, gin_block=True),
                              2, conditions=True),
    "rq_spline": Family(Fm.RationalQuadraticSpline, _coupling(bins=4), 2, conditions=True),
    "coupling_block": Family(Fm.CouplingBlock, _coupling(transformer=Affine, two_sided=True), 2,
                             conditions=True),
    "actnorm": Family(Fm.ActNorm, lambda shape, seed: {}),
    "permute": Family(Fm.PermuteRandom, lambda shape, seed: {"seed": seed}),
    "elementwise_affine": Family(Fm.ElementwiseAffine, lambda shape, seed: {}),
    "invertible_linear": Family(Fm.InvertibleLinear, lambda shape, seed: {"seed": seed}),
    "householder": Family(Fm.HouseholderPerm, lambda shape, seed: {"n_reflections": 2}, 2,
                          vectors_only=True),
    "haar": Family(Fm.HaarDownsampling, lambda shape, seed: {}, images_only=True),
    "irevnet": Family(Fm.IRevNetDownsampling, lambda shape, seed: {}, images_only=True),
    "flatten": Family(Fm.Flatten, lambda shape, seed: {}),
}
