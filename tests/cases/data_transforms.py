"""Registry entries of the data transforms: dequantisation (eval mode), scaling, logit.

``UniformDequantization`` is random in training mode (fresh noise per call), so the registry
checks it in eval mode, where the noise is the bin centre and the module is a deterministic
bijection of the integer grid onto the bin centres: inputs are integer levels, the round trip is
exact, and the straight-through reverse pass has the gradient of the smooth inverse, which is
what the log-det is compared with. Training-mode behaviour is tested in
tests/modules/test_data_transforms.py.
"""

from functools import partial

import torch

import inn.modules as Fm

from .case import Case

LEVELS = 5


def integer_levels(shapes, batch, generator, dtype):
    return [torch.randint(0, LEVELS, (batch, *s), generator=generator).to(dtype)
            for s in shapes]


def unit_interval(shapes, batch, generator, dtype):
    return [0.02 + 0.96 * torch.rand((batch, *s), generator=generator, dtype=dtype)
            for s in shapes]


def dequantization(shape):
    return Fm.UniformDequantization([shape], levels=LEVELS).eval()


CASES = {
    "uniform_dequantization_eval": Case(partial(dequantization, (4,)), perturb=None,
                                        inputs=integer_levels),
    "uniform_dequantization_eval_image": Case(partial(dequantization, (1, 3, 3)), perturb=None,
                                              inputs=integer_levels),
    "scale_to_unit": Case(partial(Fm.ScaleToUnit, [(4,)], low=-2.0, high=6.0), perturb=None),
    "scale_to_unit_image": Case(partial(Fm.ScaleToUnit, [(2, 3, 3)], high=255.0),
                                perturb=None),
    "logit_transform": Case(partial(Fm.LogitTransform, [(4,)], alpha=0.05), perturb=None,
                            inputs=unit_interval),
    "logit_transform_no_alpha": Case(partial(Fm.LogitTransform, [(2, 2, 2)], alpha=0.0),
                                     perturb=None, inputs=unit_interval),
}
