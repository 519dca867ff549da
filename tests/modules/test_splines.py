"""What FrEIA's spline modules and ``SplineCouplingBlock`` compute, and their argument errors."""

import pytest
import torch
import torch.nn as nn
from cases import mlp_subnet

import inn.modules as Fm
from inn.errors import ModuleArgumentError, ShapeError
from inn.transformers import RationalQuadratic

FREIA_KEYS = ["spline_base.bins", "spline_base.min_bin_sizes", "spline_base.default_domain",
              "spline_base.identity_tails", "spline_base.default_width"]


def zero_last(c_in, c_out):
    net = mlp_subnet(c_in, c_out)
    nn.init.zeros_(net[-1].weight)
    nn.init.zeros_(net[-1].bias)
    return net


def perturbed(module, scale=0.3, seed=0):
    generator = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for p in module.parameters():
            p.add_(scale * torch.randn(p.shape, generator=generator, dtype=p.dtype))
    return module


def wide(*shape, seed=1):
    return 2.5 * torch.randn(*shape, generator=torch.Generator().manual_seed(seed),
                             dtype=torch.float64)


# -- FrEIA's spline couplings -----------------------------------------------------------------

@pytest.mark.parametrize(("cls", "identity_tails", "per_feature"), [
    (Fm.RationalQuadraticSpline, False, 3 * 7 + 1), (Fm.RationalQuadraticSpline, True, 3 * 7),
    (Fm.LinearSpline, False, 2 * 7 + 2), (Fm.LinearSpline, True, 2 * 7 + 1),
])
def test_freia_parameter_counts_subnets_and_state_dict_keys(cls, identity_tails, per_feature):
    block = cls([(5,)], [(2,)], subnet_constructor=nn.Linear, bins=7,
                identity_tails=identity_tails)
    assert block.subnet1.in_features == 3 + 2 and block.subnet1.out_features == 2 * per_feature
    assert block.subnet2.in_features == 2 + 2 and block.subnet2.out_features == 3 * per_feature
    keys = list(block.state_dict())
    assert keys == [*FREIA_KEYS, "subnet1.weight", "subnet1.bias", "subnet2.weight",
                    "subnet2.bias"]
    assert block.spline_base.bins.dtype == torch.int32
    assert bool(block.spline_base.identity_tails) is identity_tails


@pytest.mark.parametrize("cls", [Fm.RationalQuadraticSpline, Fm.LinearSpline])
def test_zero_subnet_output_with_square_domain_is_the_identity(cls):
    block = cls([(6,)], subnet_constructor=zero_last, bins=5).double()
    x = wide(8, 6)
    (z,), log_jac_det = block([x])
    torch.testing.assert_close(z, x, atol=1e-12, rtol=0)
    torch.testing.assert_close(log_jac_det, torch.zeros(8, dtype=x.dtype), atol=1e-12, rtol=0)


@pytest.mark.parametrize("cls", [Fm.RationalQuadraticSpline, Fm.LinearSpline])
def test_perturbed_couplings_are_far_from_the_identity(cls):
    block = perturbed(cls([(6,)], subnet_constructor=mlp_subnet).double())
    x = wide(64, 6)
    (z,), log_jac_det = block([x])
    assert (z - x).abs().mean() > 0.2
    assert log_jac_det.abs().mean() > 0.2


@pytest.mark.parametrize("cls", [Fm.RationalQuadraticSpline, Fm.LinearSpline])
def test_identity_tails_are_the_identity_outside_the_domain(cls):
    block = perturbed(cls([(4,)], subnet_constructor=mlp_subnet, identity_tails=True,
                          domain_clamping=5.0).double())
    x = torch.tensor([[-1e3, 40.0, -8.0, 1e3], [9.0, -9.0, 1e2, -1e2]], dtype=torch.float64)
    (z,), log_jac_det = block([x])  # |x| > 5 / 2: outside every domain
    torch.testing.assert_close(z, x, atol=1e-9, rtol=1e-12)
    torch.testing.assert_close(log_jac_det, torch.zeros(2, dtype=x.dtype), atol=1e-12, rtol=0)


def test_default_tails_are_linear_with_the_mean_slope():
    block = perturbed(Fm.RationalQuadraticSpline([(2,)], subnet_constructor=mlp_subnet,
                                                 split_len=1).double())
    x = torch.tensor([[0.3, 1e3], [0.3, 2e3]], dtype=torch.float64)  # same x1, far-right x2
    (z,), log_jac_det = block([x])
    # Same passive y1, so the same spline for x2: the far tail is a line of slope e^{log_det_2}.
    raw = block.spline_base.feature_major(block.subnet2(z[:, :1]))
    sizes, _, _ = block.spline_base.bins_and_corner(raw)
    slope = sizes[0, 0, 1].sum() / sizes[0, 0, 0].sum()
    torch.testing.assert_close((z[1, 1] - z[0, 1]) / 1e3, slope, atol=1e-12, rtol=0)


def test_domain_clamping_bounds_the_total_size():
    block = perturbed(Fm.RationalQuadraticSpline([(4,)], subnet_constructor=mlp_subnet,
                                                 domain_clamping=1.5).double(), scale=2.0)
    raw = block.spline_base.feature_major(block.subnet1(wide(32, 2)))
    sizes, left, bottom = block.spline_base.bins_and_corner(raw)
    assert (sizes.sum(-1) <= 1.5 + 1e-12).all() and (sizes > 0).all()


def test_freia_couplings_invert_points_on_their_knots():
    block = perturbed(Fm.RationalQuadraticSpline([(2,)], subnet_constructor=mlp_subnet, bins=4,
                                                 split_len=1).double())
    x2 = wide(1, 1)
    (y,), _ = block([torch.cat((torch.zeros(1, 1, dtype=torch.float64), x2), 1)])
    raw = block.spline_base.feature_major(block.subnet1(x2))
    sizes, left, _ = block.spline_base.bins_and_corner(raw)
    knots = left + torch.nn.functional.pad(sizes[..., 0, :].cumsum(-1), (1, 0))
    x = torch.cat((knots.reshape(-1, 1), x2.expand(5, 1)), dim=1)
    for dtype, tol in [(torch.float64, 1e-9), (torch.float32, 1e-4)]:
        module, inputs = block.to(dtype), x.to(dtype)
        (z,), log_jac_det = module([inputs])
        (x_rec,), log_jac_det_rev = module([z], rev=True)
        torch.testing.assert_close(x_rec, inputs, atol=tol, rtol=tol)
        torch.testing.assert_close(log_jac_det_rev, -log_jac_det, atol=tol, rtol=tol)


def test_parity_with_freia_master():
    freia = pytest.importorskip("FrEIA.modules")
    if not hasattr(freia, "RationalQuadraticSpline"):
        pytest.skip("this FrEIA has no spline modules (FrEIA 0.2); needs FrEIA master")
    for name, options in [("RationalQuadraticSpline", {}),
                          ("RationalQuadraticSpline", {"identity_tails": True}),
                          ("LinearSpline", {"domain_clamping": 2.0})]:
        torch.manual_seed(0)
        theirs = getattr(freia, name)([(5,)], [(2,)], subnet_constructor=mlp_subnet, **options)
        ours = getattr(Fm, name)([(5,)], [(2,)], subnet_constructor=mlp_subnet, **options)
        theirs = perturbed(theirs.double(), scale=0.15)
        ours.double().load_state_dict(theirs.state_dict())
        x, c = wide(16, 5), [wide(16, 2, seed=2)]
        for rev in (False, True):
            (a,), log_a = theirs([x], c=c, rev=rev)
            (b,), log_b = ours([x], c=c, rev=rev)
            torch.testing.assert_close(b, a, atol=1e-9, rtol=0)
            torch.testing.assert_close(log_b, log_a, atol=1e-9, rtol=0)


# -- ElementwiseRationalQuadraticSpline -------------------------------------------------------

def test_elementwise_unconditional_starts_as_the_identity():
    module = Fm.ElementwiseRationalQuadraticSpline([(3, 2, 2)], bins=4).double()
    assert module.spline_parameters.shape == (3 * (3 * 4 + 1), 2, 2)
    assert list(module.state_dict()) == ["spline_parameters", "bins", "min_bin_sizes",
                                         "default_domain", "identity_tails", "default_width"]
    x = wide(5, 3, 2, 2)
    (z,), log_jac_det = module([x])
    torch.testing.assert_close(z, x, atol=1e-12, rtol=0)
    torch.testing.assert_close(log_jac_det, torch.zeros(5, dtype=x.dtype), atol=1e-12, rtol=0)


def test_elementwise_conditional_keeps_the_condition_dtype():
    module = perturbed(Fm.ElementwiseRationalQuadraticSpline(
        [(4,)], [(2,), (1,)], subnet_constructor=mlp_subnet).double())
    assert module.subnet[0].in_features == 3 and module.subnet[-1].out_features == 4 * 31
    c = [wide(6, 2, seed=3), 1e-3 * wide(6, 1, seed=4)]  # float32 rounding would show
    x = wide(6, 4)
    (z,), log_jac_det = module([x], c=c)
    assert z.dtype == torch.float64
    raw = module.subnet(torch.cat(c, 1))
    expected, expected_log = module.spline(x, module.feature_major(raw), inverse=False)
    assert torch.equal(z, expected) and torch.equal(log_jac_det, expected_log.sum(-1))
    (x_rec,), _ = module([z], c=c, rev=True)
    torch.testing.assert_close(x_rec, x, atol=1e-9, rtol=0)


# -- SplineCouplingBlock ----------------------------------------------------------------------

def test_spline_coupling_block_uses_tfep_options():
    block = Fm.SplineCouplingBlock([(6,)], subnet_constructor=nn.Linear, n_bins=5, x0=-2.0,
                                   xf=2.0, learn_upper_bound=True, identity_boundary_slopes=True,
                                   min_slope=0.01)
    assert isinstance(block, Fm.CouplingBlock)
    t = block.transformer
    assert isinstance(t, RationalQuadratic)
    assert (t.n_bins, t.learn_upper_bound, t.identity_boundary_slopes, t.min_slope) == (
        5, True, True, 0.01)
    assert block.subnet.out_features == 3 * (3 * 5 - 1 + 1)


@pytest.mark.parametrize("options", [{}, {"circular": True}, {"learn_lower_bound": True,
                                                              "learn_upper_bound": True},
                                     {"identity_boundary_slopes": True, "two_sided": True}])
def test_spline_coupling_block_identity_init_is_exact(options):
    block = Fm.SplineCouplingBlock([(6,)], subnet_constructor=mlp_subnet, init_identity=True,
                                   **options).double()
    x = 6.0 * torch.rand(8, 6, dtype=torch.float64) - 3.0
    (z,), log_jac_det = block([x])
    torch.testing.assert_close(z, x, atol=1e-12, rtol=0)
    torch.testing.assert_close(log_jac_det, torch.zeros(8, dtype=x.dtype), atol=1e-12, rtol=0)


def test_circular_spline_coupling_block_is_periodic_in_the_active_part():
    block = perturbed(Fm.SplineCouplingBlock([(4,)], subnet_constructor=mlp_subnet,
                                             circular=True, x0=0.0, xf=2.0).double())
    x = 2.0 * torch.rand(8, 4, dtype=torch.float64)
    shifted = x + torch.tensor([0.0, 0.0, 2.0, -4.0], dtype=torch.float64)
    (z,), log_jac_det = block([x])
    (z_shift,), log_jac_det_shift = block([shifted])
    torch.testing.assert_close(z_shift, z, atol=1e-12, rtol=0)
    torch.testing.assert_close(log_jac_det_shift, log_jac_det, atol=1e-10, rtol=0)
    assert ((z[:, 2:] >= 0) & (z[:, 2:] <= 2)).all()


# -- errors -----------------------------------------------------------------------------------

RQS = Fm.RationalQuadraticSpline
ERRORS = [
    (lambda: RQS([(4,)], subnet_constructor=nn.Linear, bins=0), r"bins must be an int >= 1"),
    (lambda: Fm.LinearSpline([(4,)], subnet_constructor=nn.Linear, min_bin_sizes=(0.1, -0.1)),
     r"LinearSpline: min_bin_sizes must be two sizes >= 0"),
    (lambda: RQS([(4,)], subnet_constructor=nn.Linear, default_domain=(3.0, -3.0, -3.0, 3.0)),
     r"the x domain must be increasing"),
    (lambda: RQS([(4,)], subnet_constructor=nn.Linear, default_domain=(-3.0, 3.0, 1.0, 1.0)),
     r"the y domain must be increasing"),
    (lambda: RQS([(4,)], subnet_constructor=nn.Linear, bins=10, min_bin_sizes=(0.1, 0.7)),
     r"10 bins of minimum size 0.7 do not fit the y domain"),
    (lambda: RQS([(4,)], subnet_constructor=nn.Linear, default_domain=(0.0, 1.0)),
     r"default_domain must be \(left, right, bottom, top\)"),
    (lambda: RQS([(4,)], subnet_constructor=nn.Linear, domain_clamping=0.0),
     r"domain_clamping must be None or > 0"),
    (lambda: RQS([(4,)]), r"RationalQuadraticSpline needs a subnet_constructor"),
    (lambda: RQS([(4, 3, 3)], [(2, 2, 2)], subnet_constructor=nn.Linear),
     r"condition 0 has shape \(2, 2, 2\)"),
    (lambda: Fm.ElementwiseRationalQuadraticSpline([(4, 3, 3)], [(2, 3, 2)], mlp_subnet),
     r"ElementwiseRationalQuadraticSpline: condition 0 has shape"),
    (lambda: Fm.ElementwiseRationalQuadraticSpline([(4,)], [(2,)]),
     r"with conditions needs a subnet_constructor"),
    (lambda: Fm.ElementwiseRationalQuadraticSpline([(4,)], bins=-1), r"bins must be"),
    (lambda: Fm.SplineCouplingBlock([(4,)], subnet_constructor=nn.Linear, circular=True,
                                    y0=-1.0), r"circular spline needs y0 == x0"),
    (lambda: Fm.SplineCouplingBlock([(4,)], subnet_constructor=nn.Linear, n_bins=0),
     r"RationalQuadratic: n_bins"),
]


@pytest.mark.parametrize(("factory", "match"), ERRORS)
def test_bad_arguments_raise(factory, match):
    with pytest.raises(ModuleArgumentError, match=match):
        factory()


def test_per_feature_bounds_of_the_wrong_length_raise():
    with pytest.raises(ShapeError, match=r"3 features, but 2 were requested"):
        Fm.SplineCouplingBlock([(4,)], subnet_constructor=mlp_subnet, init_identity=True,
                               x0=-torch.ones(3), xf=torch.ones(3))
