"""Registry entries of the autoregressive flows: MaskedAutoregressive (MAF) and IAF."""

from functools import partial

import torch
import torch.nn as nn

import inn.modules as Fm
from inn.transformers import Additive, Affine, RationalQuadratic

from .case import Case

VEC = [(5,)]
COND = [(3,), (2, 2)]
HIDDEN = (16, 16)

CASES = {}
for _prefix, _cls in [("maf", Fm.MaskedAutoregressive), ("iaf", Fm.InverseAutoregressive)]:
    _block = partial(_cls, VEC, hidden_features=HIDDEN, activation=nn.Tanh)
    CASES.update({
        _prefix: Case(partial(_block)),
        f"{_prefix}_relu_default_hidden": Case(partial(_cls, [(4,)])),
        f"{_prefix}_additive": Case(partial(_block, transformer=Additive)),
        # A narrow domain, so that the perturbed flow crosses the spline's linear tails too.
        f"{_prefix}_rq": Case(partial(_block, transformer=partial(RationalQuadratic, -1.5, 1.5,
                                                                   n_bins=4))),
        f"{_prefix}_affine_unclamped": Case(partial(_block, transformer=Affine(clamp=None))),
        f"{_prefix}_reverse": Case(partial(_block, order="reverse")),
        f"{_prefix}_random": Case(partial(_block, order="random", seed=3)),
        f"{_prefix}_permutation": Case(partial(_block, order=torch.tensor([2, 0, 4, 1, 3]))),
        f"{_prefix}_cond": Case(partial(_cls, VEC, COND, hidden_features=HIDDEN,
                                        order="random", seed=1)),
        f"{_prefix}_cond_rq": Case(partial(_cls, VEC, COND, hidden_features=(12,),
                                           transformer=partial(RationalQuadratic, n_bins=3))),
        f"{_prefix}_no_hidden": Case(partial(_block, hidden_features=())),
        f"{_prefix}_no_hidden_cond": Case(partial(_cls, VEC, COND, hidden_features=())),
        f"{_prefix}_residual": Case(partial(_cls, VEC, COND, hidden_features=(16, 16, 8),
                                            residual=True, activation=nn.Tanh)),
        f"{_prefix}_one_feature_cond": Case(partial(_cls, [(1,)], [(2,)], hidden_features=(8,))),
    })
