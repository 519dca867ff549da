"""What the spline kernels and the ``RationalQuadratic`` / ``Linear`` transformers compute.

(Named apart from ``tests/modules/test_splines.py``: test files share one module namespace.)
"""

import math

import pytest
import torch

from inn.errors import ModuleArgumentError, ShapeError
from inn.transformers import Linear, RationalQuadratic
from inn.transformers.functional import (
    bin_sizes,
    linear_spline,
    locate_bin,
    rational_quadratic,
)

K = 6


def random_spline(generator, n=50, n_bins=K, dtype=torch.float64, spread=1.0):
    """Positive widths, heights and slopes for ``n`` features, and their first knots."""
    def positive(*shape):
        return torch.exp(spread * torch.randn(*shape, generator=generator, dtype=dtype))
    x0 = torch.randn(n, generator=generator, dtype=dtype)
    y0 = torch.randn(n, generator=generator, dtype=dtype)
    return positive(n, n_bins), positive(n, n_bins), positive(n, n_bins + 1), x0, y0


def elementwise_derivative(fn, x):
    x = x.clone().requires_grad_()
    (grad,) = torch.autograd.grad(fn(x).sum(), x)
    return grad


# -- kernels ----------------------------------------------------------------------------------

@pytest.mark.parametrize("kernel", ["rq", "linear"])
def test_kernels_are_increasing_across_domain_and_tails(kernel):
    w, h, d, x0, y0 = random_spline(torch.Generator().manual_seed(0), n=20)
    total = w.sum(-1, keepdim=True)
    grid = x0[:, None] - total + torch.linspace(0, 1, 2001, dtype=torch.float64) * 3 * total
    args = (w[:, None], h[:, None], d[:, None]) if kernel == "rq" else (w[:, None], h[:, None])
    fn = rational_quadratic if kernel == "rq" else linear_spline
    y, log_det = fn(grid, *args, x0[:, None], y0[:, None])
    assert (y.diff(dim=-1) > 0).all()
    assert torch.isfinite(log_det).all()


def test_rational_quadratic_passes_through_knots_with_their_slopes():
    w, h, d, x0, y0 = random_spline(torch.Generator().manual_seed(1))
    knots_x = x0[:, None] + torch.nn.functional.pad(w.cumsum(-1), (1, 0))
    knots_y = y0[:, None] + torch.nn.functional.pad(h.cumsum(-1), (1, 0))
    y, log_det = rational_quadratic(knots_x, w[:, None], h[:, None], d[:, None], x0[:, None],
                                    y0[:, None])
    torch.testing.assert_close(y, knots_y, atol=1e-12, rtol=0)
    torch.testing.assert_close(log_det, d.log(), atol=1e-12, rtol=0)


@pytest.mark.parametrize("kernel", ["rq", "linear"])
@pytest.mark.parametrize("dtype", [torch.float64, torch.float32])
def test_knots_and_far_tails_invert(kernel, dtype):
    w, h, d, x0, y0 = random_spline(torch.Generator().manual_seed(2), n=40, spread=0.5)
    w, h, d, x0, y0 = (t.to(dtype) for t in (w, h, d, x0, y0))
    knots = x0[:, None] + torch.nn.functional.pad(w.cumsum(-1), (1, 0))
    far = torch.tensor([-1e3, -50.0, 50.0, 1e3], dtype=dtype).expand(40, 4)
    x = torch.cat((knots, x0[:, None] + far), dim=-1)
    fn = rational_quadratic if kernel == "rq" else linear_spline
    args = (w[:, None], h[:, None], d[:, None]) if kernel == "rq" else (w[:, None], h[:, None])
    y, log_det = fn(x, *args, x0[:, None], y0[:, None])
    x_rec, log_det_inv = fn(y, *args, x0[:, None], y0[:, None], inverse=True)
    tol = 1e-9 if dtype == torch.float64 else 1e-4
    torch.testing.assert_close(x_rec, x, atol=tol, rtol=tol)
    # The linear spline's slope jumps at its knots; compare its log-dets in the tails only.
    checked = slice(None) if kernel == "rq" else slice(-4, None)
    torch.testing.assert_close(log_det_inv[:, checked], -log_det[:, checked], atol=tol, rtol=0)


@pytest.mark.parametrize("inverse", [False, True])
@pytest.mark.parametrize("kernel", ["rq", "linear"])
def test_kernel_log_det_is_the_autograd_derivative(kernel, inverse):
    w, h, d, x0, y0 = random_spline(torch.Generator().manual_seed(3))
    g = torch.Generator().manual_seed(4)
    x = 4.0 * torch.randn(50, 20, generator=g, dtype=torch.float64)  # domain and tails
    fn = rational_quadratic if kernel == "rq" else linear_spline
    args = (w[:, None], h[:, None], d[:, None]) if kernel == "rq" else (w[:, None], h[:, None])

    def apply(t):
        return fn(t, *args, x0[:, None], y0[:, None], inverse=inverse)

    torch.testing.assert_close(apply(x)[1], elementwise_derivative(lambda t: apply(t)[0], x).log(),
                               atol=1e-10, rtol=0)


def test_rational_quadratic_is_the_identity_with_equal_bins_and_unit_slopes():
    x = torch.linspace(-8, 8, 101, dtype=torch.float64)
    ones = torch.ones(5, dtype=torch.float64)
    y, log_det = rational_quadratic(x, 1.2 * ones, 1.2 * ones, torch.ones(6, dtype=torch.float64),
                                    -3.0, -3.0)
    torch.testing.assert_close(y, x, atol=1e-12, rtol=0)
    torch.testing.assert_close(log_det, torch.zeros_like(x), atol=1e-12, rtol=0)


def test_float32_inverse_error_is_within_its_condition_number():
    # Flat bins next to steep knots (slopes over e^±3): the textbook b^2 - 4ac and 2c/(-b - √D)
    # lose up to ~150 ulps of y / slope here; the cancellation-free forms stay within 40.
    g = torch.Generator().manual_seed(7)
    n = 20000
    w, h = (torch.exp(4 * torch.rand(n, 8, generator=g) - 2) for _ in range(2))
    d = torch.exp(6 * torch.rand(n, 9, generator=g) - 3)
    x = torch.rand(n, generator=g) * w.sum(-1)
    y, _ = rational_quadratic(x, w, h, d, 0.0, 0.0)
    x_rec, _ = rational_quadratic(y, w, h, d, 0.0, 0.0, inverse=True)
    w, h, d, y = (t.double() for t in (w, h, d, y))
    x_exact, log_det_exact = rational_quadratic(y, w, h, d, 0.0, 0.0, inverse=True)
    ulp_over_slope = torch.finfo(torch.float32).eps * (y.abs() + h.sum(-1)) * log_det_exact.exp()
    assert ((x_rec.double() - x_exact).abs() / ulp_over_slope).max() < 40


def test_locate_bin_puts_outside_points_in_the_end_bins():
    sizes = bin_sizes(torch.tensor([1.0, 1.0, 2.0]), torch.tensor([1.0, 3.0, 1.0]))
    index, lower_x, width, lower_y, height = locate_bin(
        torch.tensor([-5.0, 0.0, 1.0, 3.9, 9.0]), sizes.cumsum(-1), 0)
    assert index.flatten().tolist() == [0, 0, 1, 2, 2]
    assert lower_y.tolist() == [0.0, 0.0, 1.0, 4.0, 4.0]
    assert width.tolist() == [1.0, 1.0, 1.0, 2.0, 2.0]


def test_kernels_trace_with_torch_compile_fullgraph():
    dynamo = pytest.importorskip("torch._dynamo")
    if not hasattr(torch, "compile"):
        pytest.skip("torch.compile is unavailable")
    dynamo.reset()
    w, h, d, x0, y0 = random_spline(torch.Generator().manual_seed(5), n=8)
    x = 3.0 * torch.randn(8, generator=torch.Generator().manual_seed(6), dtype=torch.float64)
    for fn, args in [(rational_quadratic, (w, h, d)), (linear_spline, (w, h))]:
        compiled = torch.compile(fn, fullgraph=True, backend="eager")
        for inverse in (False, True):
            expected = fn(x, *args, x0, y0, inverse=inverse)
            actual = compiled(x, *args, x0, y0, inverse=inverse)
            for a, b in zip(actual, expected):
                torch.testing.assert_close(a, b, atol=1e-12, rtol=0)


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
