"""What PermuteRandom, FixedLinearTransform and Fixed1x1Conv compute, and their errors."""

import numpy as np
import pytest
import torch

import inn.framework as Ff
import inn.modules as Fm
from inn.errors import ConditionError, ModuleArgumentError, ShapeError

DTYPE = torch.float64


def _matrix(size, dtype=torch.float32):
    generator = torch.Generator().manual_seed(size)
    return torch.randn(size, size, generator=generator, dtype=dtype) + 2 * torch.eye(size,
                                                                                    dtype=dtype)


# -- PermuteRandom -------------------------------------------------------------------------------

@pytest.mark.parametrize("seed", [0, 3, 12345])
def test_permute_random_seed_reproduces_numpy_without_touching_global_state(seed):
    np.random.seed(7)
    before = np.random.get_state()[1].copy()
    m = Fm.PermuteRandom([(9, 2)], seed=seed)
    after = np.random.get_state()[1]
    np.testing.assert_array_equal(before, after)
    np.testing.assert_array_equal(m.perm.numpy(), np.random.RandomState(seed).permutation(9))
    np.testing.assert_array_equal(m.perm[m.perm_inv].numpy(), np.arange(9))


def test_permute_random_without_seed_draws_from_numpy_global_state():
    np.random.seed(5)
    expected = np.random.permutation(6)
    np.random.seed(5)
    assert Fm.PermuteRandom([(6,)]).perm.tolist() == expected.tolist()


def test_permute_random_permutes_channels_of_images():
    m = Fm.PermuteRandom([(4, 2, 3)], seed=1)
    x = torch.randn(2, 4, 2, 3, dtype=DTYPE)
    (z,), log_jac_det = m([x])
    assert torch.equal(z, x[:, m.perm])
    assert torch.equal(log_jac_det, torch.zeros(2, dtype=DTYPE))
    assert sorted(m.state_dict()) == ["perm", "perm_inv"]


# -- FixedLinearTransform ------------------------------------------------------------------------

def test_fixed_linear_is_m_x_plus_b():
    M, b = _matrix(4, DTYPE), torch.randn(4, dtype=DTYPE)
    m = Fm.FixedLinearTransform([(4,)], M=M, b=b)
    x = torch.randn(5, 4, dtype=DTYPE)
    (z,), log_jac_det = m([x])
    torch.testing.assert_close(z, (M @ x.T).T + b, atol=1e-12, rtol=0)
    torch.testing.assert_close(log_jac_det, torch.linalg.slogdet(M)[1].expand(5),
                               atol=1e-12, rtol=0)
    (x_rec,), log_jac_det_rev = m([z], rev=True)
    torch.testing.assert_close(x_rec, torch.linalg.solve(M, (z - b).T).T, atol=1e-12, rtol=0)
    torch.testing.assert_close(log_jac_det_rev, -log_jac_det, atol=0, rtol=0)


def test_fixed_linear_keeps_freia_state_keys_and_transposed_storage():
    M = _matrix(3)
    with_bias = Fm.FixedLinearTransform([(3,)], M=M, b=torch.ones(3))
    assert list(with_bias.state_dict()) == ["M", "M_inv", "b", "logDetM"]
    assert torch.equal(with_bias.M, M.t())
    assert with_bias.b.shape == (1, 3)
    no_bias = Fm.FixedLinearTransform([(3,)], M=M)
    assert list(no_bias.state_dict()) == ["M", "M_inv", "b", "logDetM"]
    assert no_bias.b.shape == ()
    assert not list(no_bias.parameters())


def test_fixed_linear_cast_to_float64_recomputes_an_exact_inverse():
    m = Fm.FixedLinearTransform([(5,)], M=_matrix(5)).double()
    eye = torch.eye(5, dtype=DTYPE)
    torch.testing.assert_close(m.M_inv @ m.M, eye, atol=1e-13, rtol=0)
    torch.testing.assert_close(m.logDetM, torch.linalg.slogdet(m.M)[1], atol=1e-14, rtol=0)
    # Loading float32-derived buffers into a float64 module recomputes them from M as well.
    fresh = Fm.FixedLinearTransform([(5,)], M=torch.eye(5)).double()
    fresh.load_state_dict(Fm.FixedLinearTransform([(5,)], M=_matrix(5)).state_dict())
    torch.testing.assert_close(fresh.M_inv @ fresh.M, eye, atol=1e-13, rtol=0)


def test_fixed_linear_keeps_the_dtype_of_a_float64_matrix():
    m = Fm.FixedLinearTransform([(3,)], M=_matrix(3, DTYPE))
    (z,), log_jac_det = m([torch.randn(2, 3, dtype=DTYPE)])
    assert z.dtype == log_jac_det.dtype == DTYPE


# -- Fixed1x1Conv --------------------------------------------------------------------------------

def test_fixed_1x1_conv_multiplies_each_pixel_by_m_transposed():
    M = _matrix(3, DTYPE)
    m = Fm.Fixed1x1Conv([(3, 4, 5)], M=M)
    x = torch.randn(2, 3, 4, 5, dtype=DTYPE)
    (z,), log_jac_det = m([x])
    torch.testing.assert_close(z, torch.einsum("ji,bjhw->bihw", M, x), atol=1e-12, rtol=0)
    torch.testing.assert_close(log_jac_det, (20 * torch.linalg.slogdet(M)[1]).expand(2),
                               atol=1e-12, rtol=0)
    (x_rec,), log_jac_det_rev = m([z], rev=True)
    torch.testing.assert_close(x_rec, x, atol=1e-12, rtol=0)
    torch.testing.assert_close(log_jac_det_rev, -log_jac_det, atol=0, rtol=0)
    assert list(m.state_dict()) == ["M", "M_inv", "logDetM"]
    assert m.M.shape == (3, 3, 1, 1)


def test_fixed_1x1_conv_float64_log_det_is_not_rounded_to_float32():
    """FrEIA bug 1: a float64 network must not round the constant log-det to float32."""
    M = _matrix(4, DTYPE) / 3
    seq = Ff.SequenceINN(4, 3, 3)
    seq.append(Fm.Fixed1x1Conv, M=M)
    _, log_jac_det = seq(torch.randn(2, 4, 3, 3, dtype=DTYPE))
    expected = 9 * torch.linalg.slogdet(M)[1]
    assert log_jac_det.dtype == DTYPE
    torch.testing.assert_close(log_jac_det, expected.expand(2), atol=1e-13, rtol=0)


# -- parity with FrEIA ---------------------------------------------------------------------------

def test_fixed_transforms_match_freia():
    freia = pytest.importorskip("FrEIA.modules")
    M, b = _matrix(4), torch.randn(4)
    x, image = torch.randn(3, 4), torch.randn(2, 4, 3, 2)
    pairs = [(freia.FixedLinearTransform([(4,)], M=M, b=b),
              Fm.FixedLinearTransform([(4,)], M=M, b=b), x),
             (freia.Fixed1x1Conv([(4, 3, 2)], M=M), Fm.Fixed1x1Conv([(4, 3, 2)], M=M), image)]
    for theirs, ours, data in pairs:
        ours.load_state_dict(theirs.state_dict())
        for rev in (False, True):
            (a,), ld_a = theirs([data], rev=rev)
            (b_,), ld_b = ours([data], rev=rev)
            torch.testing.assert_close(b_, a, atol=1e-5, rtol=1e-5)
            torch.testing.assert_close(ld_b, ld_a.expand(ld_b.shape), atol=1e-5, rtol=1e-5)


# -- errors --------------------------------------------------------------------------------------

ERRORS = [
    (lambda: Fm.FixedLinearTransform([(3,)]), ModuleArgumentError,
     r"FixedLinearTransform.*M=None"),
    (lambda: Fm.FixedLinearTransform([(3,)], M=torch.eye(4)), ModuleArgumentError,
     r"FixedLinearTransform: M must have shape \(3, 3\).*got \(4, 4\)"),
    (lambda: Fm.FixedLinearTransform([(2,)], M=torch.ones(2, 2)), ModuleArgumentError,
     r"FixedLinearTransform: M must be invertible"),
    (lambda: Fm.FixedLinearTransform([(2,)], M=torch.eye(2), b=torch.ones(3)),
     ModuleArgumentError, r"FixedLinearTransform: b must have shape \(2,\), got \(3,\)"),
    (lambda: Fm.FixedLinearTransform([(2, 2)], M=torch.eye(2)), ModuleArgumentError,
     r"FixedLinearTransform needs vectors \(d,\), got dims_in=\[\(2, 2\)\]"),
    (lambda: Fm.FixedLinearTransform([(2,)], [(1,)], M=torch.eye(2)), ModuleArgumentError,
     r"FixedLinearTransform takes no conditions"),
    (lambda: Fm.FixedLinearTransform([(2,), (2,)], M=torch.eye(2)), ModuleArgumentError,
     r"FixedLinearTransform takes exactly one input"),
    (lambda: Fm.Fixed1x1Conv([(2, 3, 3)]), ModuleArgumentError, r"Fixed1x1Conv.*M=None"),
    (lambda: Fm.Fixed1x1Conv([(2, 3)], M=torch.eye(2)), ModuleArgumentError,
     r"Fixed1x1Conv needs images \(C, H, W\), got dims_in=\[\(2, 3\)\]"),
    (lambda: Fm.Fixed1x1Conv([(3, 2, 2)], M=torch.eye(2)), ModuleArgumentError,
     r"Fixed1x1Conv: M must have shape \(3, 3\)"),
    (lambda: Fm.PermuteRandom([(3,)], [(2,)]), ModuleArgumentError,
     r"PermuteRandom takes no conditions, got dims_c=\[\(2,\)\]"),
]


@pytest.mark.parametrize(("factory", "error", "message"), ERRORS)
def test_bad_arguments_raise(factory, error, message):
    with pytest.raises(error, match=message):
        factory()


def test_missing_m_is_a_value_error_like_freia():
    with pytest.raises(ValueError, match="M"):
        Fm.Fixed1x1Conv([(2, 3, 3)])


CALL_ERRORS = [
    (lambda: Fm.FixedLinearTransform([(3,)], M=torch.eye(3)), [torch.randn(2, 4)], None,
     ShapeError, r"FixedLinearTransform input 0: expected shape \(B, 3\), got \(2, 4\)"),
    (lambda: Fm.Fixed1x1Conv([(2, 3, 3)], M=torch.eye(2)), [torch.randn(2, 2, 3, 4)], None,
     ShapeError, r"Fixed1x1Conv input 0: expected shape \(B, 2, 3, 3\), got \(2, 2, 3, 4\)"),
    (lambda: Fm.PermuteRandom([(3,)], seed=0), [torch.randn(2, 5)], None, ShapeError,
     r"PermuteRandom input 0: expected shape \(B, 3\), got \(2, 5\)"),
    (lambda: Fm.FixedLinearTransform([(3,)], M=torch.eye(3)), [torch.randn(2, 3)],
     [torch.randn(2, 1)], ConditionError, r"FixedLinearTransform takes no conditions"),
]


@pytest.mark.parametrize(("factory", "x", "c", "error", "message"), CALL_ERRORS)
def test_bad_calls_raise(factory, x, c, error, message):
    with pytest.raises(error, match=message):
        factory()(x, c=c)
