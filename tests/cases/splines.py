"""Registry entries of the spline modules: FrEIA's couplings and elementwise spline, and
``SplineCouplingBlock`` with tfep's options.

Inputs are drawn with scale 2.5 so that a good share of them falls beyond the default domain
``[-3, 3]`` (the linear tails) and the rest inside it (the spline itself); circular splines get
inputs in their period. The default perturbation moves every subnet weight by ``0.3·randn``,
which already makes the splines far from the identity; learned elementwise parameters start at
zero and get ``0.5·randn``.
"""

from functools import partial

import torch

import inn.modules as Fm

from .case import Case, conv_subnet, mlp_subnet


def wide_normal(shapes, batch, generator, dtype, scale=2.5):
    """Normal inputs wide enough to cover the spline domain and both tails."""
    return [scale * torch.randn((batch, *s), generator=generator, dtype=dtype) for s in shapes]


def in_period(shapes, batch, generator, dtype, low=-3.0, high=3.0):
    """Uniform inputs in ``[low, high)``, where a circular spline is a bijection."""
    return [low + (high - low) * torch.rand((batch, *s), generator=generator, dtype=dtype)
            for s in shapes]


def strong_perturb(module, generator, scale=0.5):
    """Move every parameter by ``scale·randn`` (learned spline parameters start at zero)."""
    with torch.no_grad():
        for p in module.parameters():
            p.add_(scale * torch.randn(p.shape, generator=generator, dtype=p.dtype))


# For splines without minimum bin sizes (identity tails), conv subnets (whose outputs sum over
# 9x more inputs) and learned domains, 0.3·randn makes bins with slope ratios in the hundreds:
# so ill-conditioned that even the exact inverse of the float32-rounded output misses x by
# more than the float32 check's 1e-4. These cases move the weights by 0.15·randn, still far from
# the identity (checked in tests/modules/test_splines.py).
mild_perturb = partial(strong_perturb, scale=0.15)


def _case(factory, **kwargs):
    return Case(factory, inputs=kwargs.pop("inputs", wide_normal), **kwargs)


CASES = {}
for _name, _cls in [("rq_spline", Fm.RationalQuadraticSpline), ("linear_spline", Fm.LinearSpline)]:
    CASES.update({
        _name: _case(partial(_cls, [(6,)], subnet_constructor=mlp_subnet)),
        f"{_name}_odd_split": _case(partial(_cls, [(5,)], subnet_constructor=mlp_subnet, bins=4)),
        f"{_name}_cond": _case(partial(_cls, [(6,)], [(3,), (2,)],
                                       subnet_constructor=mlp_subnet)),
        f"{_name}_image": _case(partial(_cls, [(4, 4, 4)], subnet_constructor=conv_subnet,
                                        bins=5), perturb=mild_perturb),
        f"{_name}_image_cond": _case(partial(_cls, [(3, 4, 4)], [(2, 4, 4)],
                                             subnet_constructor=conv_subnet, bins=4),
                                     perturb=mild_perturb),
        f"{_name}_identity_tails": _case(partial(_cls, [(6,)], subnet_constructor=mlp_subnet,
                                                 identity_tails=True), perturb=mild_perturb),
        f"{_name}_domain_clamping": _case(partial(_cls, [(6,)], subnet_constructor=mlp_subnet,
                                                  domain_clamping=2.0)),
        f"{_name}_identity_tails_clamping": _case(partial(
            _cls, [(6,)], subnet_constructor=mlp_subnet, identity_tails=True,
            domain_clamping=4.0), perturb=mild_perturb),
        f"{_name}_custom_domain": _case(partial(
            _cls, [(6,)], subnet_constructor=mlp_subnet, bins=4, split_len=2,
            default_domain=(-2.0, 3.0, -1.0, 5.0), min_bin_sizes=(0.2, 0.05))),
        f"{_name}_one_bin": _case(partial(_cls, [(4,)], subnet_constructor=mlp_subnet, bins=1)),
    })

_ELEMENTWISE = Fm.ElementwiseRationalQuadraticSpline
CASES.update({
    "elementwise_rq_spline": _case(partial(_ELEMENTWISE, [(5,)], bins=6),
                                   perturb=strong_perturb),
    "elementwise_rq_spline_image": _case(partial(_ELEMENTWISE, [(2, 3, 3)], bins=4),
                                         perturb=strong_perturb),
    "elementwise_rq_spline_identity_tails": _case(
        partial(_ELEMENTWISE, [(5,)], identity_tails=True, domain_clamping=3.0),
        perturb=strong_perturb),
    "elementwise_rq_spline_cond": _case(
        partial(_ELEMENTWISE, [(4,)], [(3,)], subnet_constructor=mlp_subnet, bins=5)),
    "elementwise_rq_spline_image_cond": _case(
        partial(_ELEMENTWISE, [(2, 4, 4)], [(3, 4, 4)], subnet_constructor=conv_subnet,
                bins=4)),
})

_BLOCK = partial(Fm.SplineCouplingBlock, subnet_constructor=mlp_subnet, n_bins=6)
CASES.update({
    "spline_coupling": _case(partial(_BLOCK, [(6,)])),
    "spline_coupling_two_sided": _case(partial(_BLOCK, [(5,)], two_sided=True)),
    "spline_coupling_cond": _case(partial(_BLOCK, [(6,)], [(2,)], two_sided=True)),
    "spline_coupling_image": _case(partial(Fm.SplineCouplingBlock, [(4, 3, 3)],
                                           subnet_constructor=conv_subnet, n_bins=4),
                                   perturb=mild_perturb),
    "spline_coupling_circular": _case(partial(_BLOCK, [(6,)], circular=True, two_sided=True),
                                      inputs=in_period),
    "spline_coupling_circular_identity_slopes": _case(
        partial(_BLOCK, [(6,)], circular=True, identity_boundary_slopes=True),
        inputs=in_period),
    "spline_coupling_identity_slopes": _case(partial(_BLOCK, [(6,)],
                                                     identity_boundary_slopes=True)),
    "spline_coupling_learn_lower": _case(partial(_BLOCK, [(6,)], learn_lower_bound=True)),
    "spline_coupling_learn_upper": _case(partial(_BLOCK, [(6,)], learn_upper_bound=True)),
    "spline_coupling_learn_both": _case(partial(_BLOCK, [(6,)], learn_lower_bound=True,
                                                learn_upper_bound=True, two_sided=True),
                                        perturb=mild_perturb),
    "spline_coupling_y_domain": _case(partial(_BLOCK, [(6,)], x0=-2.0, xf=3.0, y0=-4.0,
                                              yf=1.0)),
    "spline_coupling_feature_bounds": _case(partial(
        _BLOCK, [(6,)], x0=torch.tensor([-3.0, -2.0, -4.0]), xf=torch.tensor([3.0, 2.5, 1.0]),
        y0=torch.tensor([-1.0, -2.0, -3.0]), yf=torch.tensor([2.0, 2.0, 4.0]))),
    "spline_coupling_identity_init": _case(partial(_BLOCK, [(6,)], init_identity=True,
                                                   min_bin_size=0.05, min_slope=0.01)),
})
