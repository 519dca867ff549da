"""What ElementwiseAffine and InvertibleLinear compute: maps, log-dets, inits, and errors."""

import math

import pytest
import torch
from cases import perturbed

import inn.modules as Fm
from inn.errors import ModuleArgumentError
from inn.modules.coupling.all_in_one_functional import haar_rotation
from inn.modules.linear_functional import (
    householder_factors,
    lu_factors,
    lu_solve,
    lu_weight,
    qr_solve,
    qr_weight,
)

DTYPE = torch.float64


def perturbed_seed0(module):
    return perturbed(module, seed=0)
PARAMETERIZATIONS = ["lu", "qr"]
SHAPES = [(5,), (3, 4, 4), (4, 3)]


def _reflection(v):
    return torch.eye(v.shape[0], dtype=v.dtype) - 2 * torch.outer(v, v) / v.dot(v)


def _explicit_matrix(m):
    """W assembled by hand from the module's factors, independently of linear_functional."""
    eye = torch.eye(m.channels, dtype=DTYPE)
    if m.parameterization == "lu":
        permutation = eye[m.perm]  # (P M)_i = M_{perm_i}
        lower = torch.tril(m.lower, -1) + eye
        upper = torch.triu(m.upper, 1) + torch.diag(m.sign * m.log_abs_s.exp())
        return permutation @ lower @ upper
    q = eye
    for v in m.vectors:
        q = q @ _reflection(v)
    return q @ (torch.triu(m.upper, 1) + torch.diag(m.sign * m.log_diag.exp()))


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("parameterization", PARAMETERIZATIONS)
def test_forward_applies_the_factored_matrix_over_the_channel_axis(parameterization, shape):
    m = perturbed_seed0(Fm.InvertibleLinear([shape], parameterization=parameterization)).double()
    with torch.no_grad():
        w = _explicit_matrix(m)
        torch.testing.assert_close(m.matrix(), w, atol=1e-13, rtol=0)
        x = torch.randn(6, *shape, dtype=DTYPE)
        (z,), _ = m([x])
        expected = torch.einsum("ij,bj...->bi...", w, x)
        expected = expected + m.bias.reshape(-1, *[1] * (len(shape) - 1))
    torch.testing.assert_close(z, expected, atol=1e-12, rtol=0)


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("parameterization", PARAMETERIZATIONS)
def test_log_det_is_positions_times_log_abs_det_w(parameterization, shape):
    m = perturbed_seed0(Fm.InvertibleLinear([shape], parameterization=parameterization)).double()
    with torch.no_grad():
        x = torch.randn(3, *shape, dtype=DTYPE)
        (z,), log_jac_det = m([x])
        (_,), log_jac_det_rev = m([z], rev=True)
        expected = math.prod(shape[1:]) * torch.linalg.slogdet(m.matrix()).logabsdet
    torch.testing.assert_close(log_jac_det, expected.expand(3), atol=1e-10, rtol=0)
    torch.testing.assert_close(log_jac_det_rev, -expected.expand(3), atol=1e-10, rtol=0)
    assert expected.abs() > 0.1  # the perturbation moved |det W| away from 1


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize("channels", [3, 4])
@pytest.mark.parametrize("parameterization", PARAMETERIZATIONS)
def test_identity_init_is_exactly_the_identity(parameterization, channels, dtype):
    m = Fm.InvertibleLinear([(channels, 2)], parameterization=parameterization,
                            init="identity").to(dtype)
    with torch.no_grad():
        assert torch.equal(m.matrix(), torch.eye(channels, dtype=dtype))
        x = torch.randn(4, channels, 2, dtype=dtype)
        (z,), log_jac_det = m([x])
        (x_rec,), _ = m([z], rev=True)
    assert torch.equal(z, x) and torch.equal(x_rec, x)
    assert torch.equal(log_jac_det, torch.zeros(4, dtype=dtype))


@pytest.mark.parametrize("parameterization", PARAMETERIZATIONS)
def test_orthogonal_init_is_a_seeded_rotation(parameterization):
    m = Fm.InvertibleLinear([(6,)], parameterization=parameterization, seed=3)
    with torch.no_grad():
        w = m.matrix()
        assert w.dtype == torch.float32
        torch.testing.assert_close(w.T @ w, torch.eye(6), atol=1e-6, rtol=0)
        assert abs(torch.det(w).item() - 1.0) < 1e-5
        assert (w - torch.eye(6)).abs().max() > 0.1
        torch.testing.assert_close(w.double(), haar_rotation(6, generator=torch.Generator()
                                                               .manual_seed(3)),
                                   atol=1e-6, rtol=0)
    same = Fm.InvertibleLinear([(6,)], parameterization=parameterization, seed=3)
    other = Fm.InvertibleLinear([(6,)], parameterization=parameterization, seed=4)
    for key, value in m.state_dict().items():
        assert torch.equal(value, same.state_dict()[key])
    assert not torch.equal(m.matrix(), other.matrix())
    assert torch.equal(m.bias, torch.zeros(6))


def test_seed_leaves_the_global_rng_alone_and_none_draws_from_it():
    state = torch.get_rng_state()
    Fm.InvertibleLinear([(4,)], seed=0)
    assert torch.equal(torch.get_rng_state(), state)
    torch.manual_seed(7)
    first = Fm.InvertibleLinear([(4,)], parameterization="qr")
    torch.manual_seed(7)
    second = Fm.InvertibleLinear([(4,)], parameterization="qr")
    third = Fm.InvertibleLinear([(4,)], parameterization="qr")
    assert torch.equal(first.matrix(), second.matrix())
    assert not torch.equal(first.matrix(), third.matrix())


def test_qr_orthogonal_init_has_r_equal_to_its_signs():
    m = Fm.InvertibleLinear([(5,)], parameterization="qr", seed=1).double()
    assert torch.equal(m.log_diag, torch.zeros(5, dtype=DTYPE))
    assert torch.equal(m.upper, torch.zeros(5, 5, dtype=DTYPE))
    assert set(m.sign.tolist()) <= {-1.0, 1.0}


@pytest.mark.parametrize("size", [1, 2, 5, 8])
def test_decompositions_reproduce_their_matrix_in_float64(size):
    rotation = haar_rotation(size, generator=torch.Generator().manual_seed(size))
    torch.testing.assert_close(lu_weight(*lu_factors(rotation)), rotation, atol=1e-13, rtol=0)
    vectors, sign = householder_factors(rotation)
    zeros = torch.zeros(size, dtype=DTYPE)
    torch.testing.assert_close(qr_weight(vectors, torch.zeros_like(rotation), sign, zeros),
                               rotation, atol=1e-13, rtol=0)
    general = torch.randn(size, size, dtype=DTYPE) + 3 * torch.eye(size, dtype=DTYPE)
    torch.testing.assert_close(lu_weight(*lu_factors(general)), general, atol=1e-12, rtol=0)


def test_solves_match_a_dense_solve():
    size = 5
    factors_lu = (torch.randperm(size), torch.randn(size, size, dtype=DTYPE),
                  torch.randn(size, size, dtype=DTYPE), torch.sign(torch.randn(size, dtype=DTYPE)),
                  torch.randn(size, dtype=DTYPE))
    factors_qr = (torch.randn(size, size, dtype=DTYPE), torch.randn(size, size, dtype=DTYPE),
                  torch.sign(torch.randn(size, dtype=DTYPE)), torch.randn(size, dtype=DTYPE))
    y = torch.randn(3, size, 7, dtype=DTYPE)
    for build, solve, factors in [(lu_weight, lu_solve, factors_lu),
                                  (qr_weight, qr_solve, factors_qr)]:
        expected = torch.linalg.solve(build(*factors), y)
        torch.testing.assert_close(solve(*factors, y), expected, atol=1e-10, rtol=0)


@pytest.mark.parametrize("parameterization", PARAMETERIZATIONS)
def test_inverse_never_inverts_a_matrix(parameterization, monkeypatch):
    def forbidden(*args, **kwargs):
        raise AssertionError("a matrix inverse was computed")

    m = Fm.InvertibleLinear([(3, 2, 2)], parameterization=parameterization)
    m = perturbed_seed0(m).double()
    for name in ("inverse", "pinverse"):
        monkeypatch.setattr(torch, name, forbidden)
    for name in ("inv", "inv_ex", "pinv", "solve", "solve_ex"):
        monkeypatch.setattr(torch.linalg, name, forbidden)
    x = torch.randn(2, 3, 2, 2, dtype=DTYPE)
    (z,), _ = m([x])
    (x_rec,), _ = m([z], rev=True)
    torch.testing.assert_close(x_rec, x, atol=1e-12, rtol=0)


@pytest.mark.parametrize(("parameterization", "names", "buffers"), [
    ("lu", ["lower", "upper", "log_abs_s", "bias"], ["perm", "sign"]),
    ("qr", ["vectors", "upper", "log_diag", "bias"], ["sign"]),
])
@pytest.mark.parametrize("bias", [True, False])
def test_parameters_and_buffers(parameterization, names, buffers, bias):
    m = Fm.InvertibleLinear([(3,)], parameterization=parameterization, bias=bias)
    expected = [n for n in names if bias or n != "bias"]
    assert sorted(name for name, _ in m.named_parameters()) == sorted(expected)
    assert sorted(name for name, _ in m.named_buffers()) == sorted(buffers)
    assert sorted(m.state_dict()) == sorted(expected + buffers)
    if parameterization == "lu":
        assert m.double().perm.dtype == torch.int64


def test_elementwise_affine_per_element():
    m = perturbed_seed0(Fm.ElementwiseAffine([(2, 3)], init_scale=2.0, init_shift=0.5)).double()
    assert m.log_scale.shape == (2, 3) and m.shift.shape == (2, 3)
    x = torch.randn(4, 2, 3, dtype=DTYPE)
    with torch.no_grad():
        (y,), log_jac_det = m([x])
        (x_rec,), log_jac_det_rev = m([y], rev=True)
        torch.testing.assert_close(y, m.log_scale.exp() * x + m.shift, atol=1e-13, rtol=0)
        expected = m.log_scale.sum().expand(4)
    torch.testing.assert_close(log_jac_det, expected, atol=1e-12, rtol=0)
    torch.testing.assert_close(log_jac_det_rev, -expected, atol=1e-12, rtol=0)
    torch.testing.assert_close(x_rec, x, atol=1e-12, rtol=0)


def test_elementwise_affine_per_channel_broadcasts_and_counts_positions():
    m = perturbed_seed0(Fm.ElementwiseAffine([(3, 4, 5)], per_channel=True)).double()
    assert m.log_scale.shape == (3, 1, 1) and m.shift.shape == (3, 1, 1)
    x = torch.randn(2, 3, 4, 5, dtype=DTYPE)
    with torch.no_grad():
        (y,), log_jac_det = m([x])
        for ch in range(3):
            torch.testing.assert_close(y[:, ch], m.log_scale[ch].exp() * x[:, ch] + m.shift[ch],
                                       atol=1e-13, rtol=0)
        expected = (20 * m.log_scale.sum()).expand(2)
    torch.testing.assert_close(log_jac_det, expected, atol=1e-12, rtol=0)


def test_elementwise_affine_init_values():
    m = Fm.ElementwiseAffine([(3,)], init_scale=2.0, init_shift=-1.0)
    (y,), log_jac_det = m([torch.ones(1, 3)])
    assert torch.equal(y.detach(), torch.ones(1, 3))
    torch.testing.assert_close(log_jac_det.detach(), torch.tensor([3 * math.log(2.0)]))


ERROR_CASES = [
    ("scale_zero", lambda: Fm.ElementwiseAffine([(3,)], init_scale=0.0),
     r"ElementwiseAffine: init_scale must be > 0, got 0\.0"),
    ("scale_negative", lambda: Fm.ElementwiseAffine([(3,)], init_scale=-1),
     r"ElementwiseAffine: init_scale .* got -1"),
    ("scale_nan", lambda: Fm.ElementwiseAffine([(3,)], init_scale=float("nan")),
     r"ElementwiseAffine: init_scale .* got nan"),
    ("affine_conditions", lambda: Fm.ElementwiseAffine([(3,)], [(2,)]),
     r"ElementwiseAffine takes no conditions"),
    ("affine_two_inputs", lambda: Fm.ElementwiseAffine([(3,), (3,)]),
     r"ElementwiseAffine takes exactly one input"),
    ("bad_parameterization", lambda: Fm.InvertibleLinear([(3,)], parameterization="svd"),
     r"InvertibleLinear: parameterization must be one of 'lu', 'qr', got 'svd'"),
    ("bad_init", lambda: Fm.InvertibleLinear([(3,)], init="zeros"),
     r"InvertibleLinear: init must be one of 'orthogonal', 'identity', got 'zeros'"),
    ("bad_seed", lambda: Fm.InvertibleLinear([(3,)], seed=1.5),
     r"InvertibleLinear: seed must be an int or None, got 1\.5"),
    ("linear_conditions", lambda: Fm.InvertibleLinear([(3,)], [(2,)]),
     r"InvertibleLinear takes no conditions"),
    ("linear_two_inputs", lambda: Fm.InvertibleLinear([(3,), (3,)]),
     r"InvertibleLinear takes exactly one input"),
    ("linear_scalar_input", lambda: Fm.InvertibleLinear([()]),
     r"InvertibleLinear needs inputs with a channel axis"),
]


@pytest.mark.parametrize(("factory", "message"),
                         [pytest.param(*row[1:], id=row[0]) for row in ERROR_CASES])
def test_errors(factory, message):
    with pytest.raises(ModuleArgumentError, match=message):
        factory()
