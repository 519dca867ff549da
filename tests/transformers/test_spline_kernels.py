"""What the spline kernels of ``inn.transformers.functional`` compute."""

import pytest
import torch

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
