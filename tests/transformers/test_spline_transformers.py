"""What the ``RationalQuadratic`` and ``Linear`` spline transformers compute, and their errors.

(Named apart from ``tests/modules/test_splines.py``: test files share one module namespace.)
"""

import math

import pytest
import torch

from inn.errors import ModuleArgumentError, ShapeError
from inn.transformers import Linear, RationalQuadratic

K = 6


def elementwise_derivative(fn, x):
    x = x.clone().requires_grad_()
    (grad,) = torch.autograd.grad(fn(x).sum(), x)
    return grad


# -- RationalQuadratic transformer ------------------------------------------------------------

CONFIGS = {
    "default": {},
    "identity_slopes": {"identity_boundary_slopes": True},
    "circular": {"circular": True},
    "circular_identity_slopes": {"circular": True, "identity_boundary_slopes": True},
    "learn_lower": {"learn_lower_bound": True},
    "learn_upper": {"learn_upper_bound": True},
    "learn_both": {"learn_lower_bound": True, "learn_upper_bound": True},
    "y_domain": {"y0": -1.0, "yf": 5.0},
    "feature_bounds": {"x0": torch.tensor([-3.0, -1.0, 0.0]), "xf": torch.tensor([3.0, 1.0, 5.0]),
                       "y0": torch.tensor([-2.0, 0.0, 1.0]), "yf": torch.tensor([1.0, 2.0, 9.0])},
}


def rq(config, dtype=torch.float64, **extra):
    return RationalQuadratic(**{"n_bins": K, **CONFIGS[config], **extra}).to(dtype)


@pytest.mark.parametrize(("config", "expected"), [
    ("default", 3 * K + 1), ("identity_slopes", 3 * K - 1), ("circular", 3 * K + 1),
    ("circular_identity_slopes", 3 * K), ("learn_lower", 3 * K + 2), ("learn_upper", 3 * K + 2),
    ("learn_both", 3 * K + 3), ("y_domain", 3 * K + 1),
])
def test_parameter_count_follows_tfep(config, expected):
    assert rq(config).n_parameters_per_feature == expected
    degrees = rq(config).get_degrees_out(torch.tensor([0, 2, 1]))
    assert degrees.tolist() == [0, 2, 1] * expected


def test_parameter_count_with_both_learned_bounds_and_identity_slopes():
    t = RationalQuadratic(n_bins=4, identity_boundary_slopes=True, learn_lower_bound=True,
                          learn_upper_bound=True)
    assert t.n_parameters_per_feature == 3 * 4 - 1 + 2


def _inputs(t, n=64, scale=5.0, seed=0):
    g = torch.Generator().manual_seed(seed)
    if t.circular:
        return t.x0 + (t.xf - t.x0) * torch.rand(n, 3, generator=g, dtype=t.x0.dtype)
    return scale * torch.randn(n, 3, generator=g, dtype=t.x0.dtype)


def _params(t, n=64, scale=1.0, seed=1):
    g = torch.Generator().manual_seed(seed)
    base = t.get_identity_parameters(3)
    return base + scale * torch.randn(n, base.numel(), generator=g, dtype=base.dtype)


@pytest.mark.parametrize("config", list(CONFIGS))
def test_identity_parameters_give_the_linear_map_between_domains(config):
    t = rq(config)
    x = _inputs(t)
    y, log_det = t(x, t.get_identity_parameters(3).expand(64, -1))
    x0, xf, y0, yf = t._bounds(x)
    slope = (yf - y0) / (xf - x0)
    if t.identity_boundary_slopes and not torch.allclose(slope, torch.ones_like(slope)):
        pytest.skip("fixed unit end slopes cannot be linear between different domains")
    torch.testing.assert_close(y, y0 + slope * (x - x0), atol=1e-12, rtol=0)
    expected = slope.log().expand(64, 3).sum(-1)
    torch.testing.assert_close(log_det, expected, atol=1e-12, rtol=0)


@pytest.mark.parametrize("config", ["default", "identity_slopes", "circular", "learn_both"])
def test_identity_parameters_are_exact_for_equal_domains(config):
    t = rq(config)
    x = _inputs(t)
    y, log_det = t(x, t.get_identity_parameters(3).expand(64, -1))
    torch.testing.assert_close(y, x, atol=1e-12, rtol=0)
    torch.testing.assert_close(log_det, torch.zeros(64, dtype=x.dtype), atol=1e-12, rtol=0)


@pytest.mark.parametrize("config", list(CONFIGS))
@pytest.mark.parametrize("dtype", [torch.float64, torch.float32])
def test_transformer_round_trip_and_log_det(config, dtype):
    t = rq(config, dtype)
    # Milder parameters in float32: random learned domains can be squeezed into steep maps.
    x, params = _inputs(t), _params(t, scale=1.0 if dtype == torch.float64 else 0.5)
    y, log_det = t(x, params)
    x_rec, log_det_inv = t.inverse(y, params)
    tol = 1e-9 if dtype == torch.float64 else 1e-4
    torch.testing.assert_close(x_rec, x, atol=tol, rtol=tol)
    torch.testing.assert_close(log_det_inv, -log_det, atol=tol, rtol=tol)
    if dtype == torch.float64:
        derivative = elementwise_derivative(lambda v: t(v, params)[0], x)
        torch.testing.assert_close(log_det, derivative.log().sum(-1), atol=1e-10, rtol=0)


@pytest.mark.parametrize("config", ["default", "learn_both", "feature_bounds"])
@pytest.mark.parametrize("dtype", [torch.float64, torch.float32])
def test_transformer_inverts_its_knots_and_far_tails(config, dtype):
    t = rq(config, dtype)
    params = _params(t, n=1, scale=0.5).to(dtype)
    view = params.view(1, -1, 3).movedim(1, -1)
    width, height = t.xf - t.x0, t.yf - t.y0
    if t.learn_lower_bound:
        reserved = K * t.min_bin_size
        width = reserved + (width - reserved) * view[..., -1].exp()
        height = reserved + (height - reserved) * view[..., -1].exp()
        lower = 0.5 * (t.x0 + t.xf - width) + view[..., -2]
    else:
        lower = t.x0
    sizes = t._bin_sizes(view[..., :2 * K], width, height)
    knots = lower[..., None] + torch.nn.functional.pad(sizes[..., 0, :].cumsum(-1), (1, 0))
    far = torch.tensor([-1e3, 1e3], dtype=dtype).expand(1, 3, 2)
    points = torch.cat((knots, far), dim=-1)[0].T  # (K + 3, 3): one point of each per row
    params = params.expand(points.shape[0], -1)
    y, log_det = t(points, params)
    x_rec, log_det_inv = t.inverse(y, params)
    tol = 1e-9 if dtype == torch.float64 else 1e-4
    torch.testing.assert_close(x_rec, points, atol=tol, rtol=tol)
    torch.testing.assert_close(log_det_inv, -log_det, atol=tol, rtol=tol)


@pytest.mark.parametrize("config", [c for c in CONFIGS if "circular" not in c])
def test_transformer_is_increasing(config):
    t = rq(config)
    grid = torch.linspace(-12.0, 12.0, 4001, dtype=torch.float64)[:, None].expand(4001, 3)
    y, _ = t(grid, _params(t, n=1, scale=2.0).expand(4001, -1))
    assert (y.diff(dim=0) > 0).all()


def test_identity_slopes_give_identity_tails():
    t = rq("identity_slopes")
    x = torch.tensor([[-1e3, -7.0, -3.5], [3.5, 40.0, 1e3]], dtype=torch.float64)
    y, log_det = t(x, _params(t, n=2))
    torch.testing.assert_close(y, x, atol=1e-12, rtol=0)
    torch.testing.assert_close(log_det, torch.zeros(2, dtype=x.dtype), atol=1e-12, rtol=0)


@pytest.mark.parametrize("config", ["circular", "circular_identity_slopes"])
def test_circular_spline_is_periodic_with_equal_end_slopes(config):
    t = rq(config)
    x, params = _inputs(t), _params(t, scale=2.0)
    period = float(t.xf - t.x0)
    y, log_det = t(x, params)
    for shift in (period, -period, 3 * period):
        y_shift, log_det_shift = t(x + shift, params)
        torch.testing.assert_close(y_shift, y, atol=1e-12, rtol=0)
        torch.testing.assert_close(log_det_shift, log_det, atol=1e-10, rtol=0)
    assert ((y >= t.x0) & (y <= t.xf)).all()
    slopes = t._knot_slopes(params.view(64, -1, 3).movedim(1, -1)[..., 2 * K:2 * K + t.n_slopes])
    assert torch.equal(slopes[..., 0], slopes[..., -1])
    # The derivative just after the wrap point equals the one just before it.
    phase = params.view(64, -1, 3)[:, -1]
    start = torch.remainder(t.x0 - phase, period) + t.x0
    before, after = start - 1e-9, start + 1e-9
    torch.testing.assert_close(t(before, params)[1], t(after, params)[1], atol=1e-6, rtol=0)


def test_learned_upper_bound_keeps_the_lower_knot_and_scales_the_domain():
    t = rq("learn_upper")
    params = _params(t, n=4)
    params.view(4, -1, 3)[:, -1] = math.log(2.0)  # the domain doubles about x0
    x0 = torch.full((4, 3), -3.0, dtype=torch.float64)
    y, _ = t(x0, params)
    torch.testing.assert_close(y, x0, atol=1e-12, rtol=0)
    reserved = K * t.min_bin_size
    top = -3.0 + reserved + 2 * (6.0 - reserved)
    y_top, _ = t(torch.full((4, 3), top, dtype=torch.float64), params)
    torch.testing.assert_close(y_top, torch.full_like(y_top, top), atol=1e-12, rtol=0)


def test_learned_lower_bound_keeps_the_upper_knot():
    t = rq("learn_lower")
    params = _params(t, n=4)
    xf = torch.full((4, 3), 3.0, dtype=torch.float64)
    torch.testing.assert_close(t(xf, params)[0], xf, atol=1e-12, rtol=0)


def test_learned_bounds_shift_and_scale_about_the_centre():
    t = rq("learn_both")
    params = _params(t, n=4)
    view = params.view(4, -1, 3)
    view[:, -1], view[:, -2] = math.log(0.5), 1.5  # half the size, centre moved to 1.5
    reserved = K * t.min_bin_size
    half = 0.5 * (reserved + 0.5 * (6.0 - reserved))
    for end in (1.5 - half, 1.5 + half):
        point = torch.full((4, 3), end, dtype=torch.float64)
        torch.testing.assert_close(t(point, params)[0], point, atol=1e-12, rtol=0)


def test_output_domain_maps_end_knots_to_end_knots():
    t = rq("feature_bounds")
    params = _params(t, n=8, scale=2.0)
    x0, xf, y0, yf = (b.expand(8, 3) for b in (t.x0, t.xf, t.y0, t.yf))
    torch.testing.assert_close(t(x0, params)[0], y0, atol=1e-12, rtol=0)
    torch.testing.assert_close(t(xf, params)[0], yf, atol=1e-12, rtol=0)


def test_transformers_work_on_images():
    t = rq("default")
    x = 4.0 * torch.randn(2, 3, 4, 5, dtype=torch.float64)
    params = 0.5 * torch.randn(2, 3 * t.n_parameters_per_feature, 4, 5, dtype=torch.float64)
    y, log_det = t(x, params)
    x_rec, _ = t.inverse(y, params)
    assert log_det.shape == (2,)
    torch.testing.assert_close(x_rec, x, atol=1e-9, rtol=0)


# -- Linear transformer -----------------------------------------------------------------------

def test_linear_transformer_tails_and_identity():
    t = Linear(-2.0, 2.0, n_bins=4, y0=0.0, yf=8.0).double()
    assert t.n_parameters_per_feature == 8
    x = torch.tensor([[-10.0, 0.5, 30.0]], dtype=torch.float64)
    params = torch.randn(1, 24, dtype=torch.float64, generator=torch.Generator().manual_seed(0))
    y, log_det = t(x, params)
    torch.testing.assert_close(y[0, 0], torch.tensor(-16.0, dtype=torch.float64))  # slope 2
    torch.testing.assert_close(y[0, 2], torch.tensor(64.0, dtype=torch.float64))
    y_id, _ = t(x, t.get_identity_parameters(3)[None])
    torch.testing.assert_close(y_id, 2.0 * x + 4.0, atol=1e-12, rtol=0)
    x_rec, log_det_inv = t.inverse(y, params)
    torch.testing.assert_close(x_rec, x, atol=1e-12, rtol=0)
    torch.testing.assert_close(log_det_inv, -log_det, atol=1e-12, rtol=0)


# -- errors -----------------------------------------------------------------------------------

ERRORS = [
    (lambda: RationalQuadratic(n_bins=0), ModuleArgumentError, r"n_bins must be an int >= 1"),
    (lambda: RationalQuadratic(n_bins=2.5), ModuleArgumentError, r"n_bins"),
    (lambda: RationalQuadratic(min_bin_size=-1e-3), ModuleArgumentError, r"min_bin_size"),
    (lambda: RationalQuadratic(min_slope=1.0), ModuleArgumentError, r"min_slope must lie"),
    (lambda: RationalQuadratic(x0=3.0, xf=-3.0), ModuleArgumentError, r"increasing \(xf > x0\)"),
    (lambda: RationalQuadratic(y0=1.0, yf=1.0), ModuleArgumentError, r"increasing \(yf > y0\)"),
    (lambda: RationalQuadratic(x0=0.0, xf=0.5, n_bins=10, min_bin_size=0.1),
     ModuleArgumentError, r"10 bins of min_bin_size 0.1 do not fit"),
    (lambda: RationalQuadratic(circular=True, yf=4.0), ModuleArgumentError,
     r"circular spline needs y0 == x0 and yf == xf"),
    (lambda: RationalQuadratic(circular=True, learn_upper_bound=True), ModuleArgumentError,
     r"circular spline cannot learn its bounds"),
    (lambda: RationalQuadratic(x0=torch.zeros(2, 2)), ModuleArgumentError, r"x0 must be a float"),
    (lambda: RationalQuadratic(x0=torch.zeros(2) - 1, xf=torch.ones(3)), ModuleArgumentError,
     r"one length"),
    (lambda: Linear(n_bins=0), ModuleArgumentError, r"Linear: n_bins"),
    (lambda: Linear(x0=1.0, xf=0.0), ModuleArgumentError, r"Linear: the domain must be"),
]


@pytest.mark.parametrize(("factory", "error", "match"), ERRORS)
def test_bad_arguments_raise(factory, error, match):
    with pytest.raises(error, match=match):
        factory()


def test_shape_errors():
    t = RationalQuadratic(n_bins=3)
    with pytest.raises(ShapeError, match=r"10 per feature"):
        t(torch.zeros(2, 3), torch.zeros(2, 5))
    t = RationalQuadratic(x0=-torch.ones(4), xf=torch.ones(4), n_bins=3)
    with pytest.raises(ShapeError, match=r"4 features, but the input has 3"):
        t(torch.zeros(2, 3), torch.zeros(2, 30))
    with pytest.raises(ShapeError, match=r"4 features, but 3 were requested"):
        t.get_identity_parameters(3)
    with pytest.raises(ModuleArgumentError, match=r"must exceed min_slope"):
        RationalQuadratic(y0=0.0, yf=1e-4, n_bins=1, min_bin_size=0.0).get_identity_parameters(2)
