"""Registry entries of the presets' networks (inn.flows), conditional variants included.

Each entry is the preset's container (``flow.transform``), tiny, with its parameters perturbed,
so the contract checks see couplings, splines, MADEs, ActNorm and 1x1 convolutions at work in
the wiring the presets build. Glow's network has several outputs (its split-offs), so it runs
plain, inverted and inside a GraphINN, not inside a SequenceINN.
"""

import math
from functools import partial

import torch

from inn import flows

from .case import Case

SMALL = {"transforms": 2, "hidden_features": (8,)}


def angles(shapes, batch, generator, dtype):
    return [math.pi * (2 * torch.rand((batch, *s), generator=generator, dtype=dtype) - 1)
            for s in shapes]


def network(preset, *args, **kwargs):
    net = preset(*args, **kwargs).transform
    net.force_tuple_output = True  # the generic checks call modules in tuple mode
    return net


def glow_network(context=0, **kwargs):
    options = {"levels": 2, "steps": 1, "hidden_channels": 4, **kwargs}
    return network(flows.Glow, (1, 4, 4), context=context, **options)


CASES = {}
for _name, _preset, _extra in [
    ("realnvp", flows.RealNVP, {}),
    ("nice", flows.NICE, {}),
    ("nsf", flows.NSF, {"bound": 1.5, "bins": 4}),
    ("nsf_autoregressive", flows.NSF, {"bound": 1.5, "bins": 4, "autoregressive": True}),
    ("maf", flows.MAF, {}),
    ("iaf", flows.IAF, {}),
]:
    CASES[f"preset_{_name}"] = Case(partial(network, _preset, 3, **SMALL, **_extra))
    CASES[f"preset_{_name}_cond"] = Case(partial(network, _preset, 3, context=2, **SMALL,
                                                 **_extra))
CASES.update({
    "preset_ncsf": Case(partial(network, flows.NCSF, 2, bins=4, **SMALL), inputs=angles),
    "preset_ncsf_cond": Case(partial(network, flows.NCSF, 3, context=2, bins=4, **SMALL),
                             inputs=angles),
    # One angle takes MADE layers; unconditional, their input weights would be fully masked
    # (an unused parameter), so the registry checks the meaningful conditional case.
    "preset_ncsf_one_angle_cond": Case(partial(network, flows.NCSF, 1, context=2, bins=4,
                                               **SMALL), inputs=angles),
    "preset_glow": Case(glow_network, warmup=True, sequence=False),
    "preset_glow_irevnet": Case(partial(glow_network, squeeze="irevnet"), warmup=True,
                                sequence=False),
    "preset_glow_cond": Case(partial(glow_network, context=3), warmup=True, sequence=False),
})
