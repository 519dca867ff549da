"""What HouseholderPerm computes in its learned, fixed and conditional modes, and its errors."""

import pytest
import torch

import inn.modules as Fm
from inn.errors import ModuleArgumentError, ShapeError
from inn.modules.householder import householder_matrix, householder_reflect

DTYPE = torch.float64


def _reflection(v):
    return torch.eye(v.shape[0], dtype=v.dtype) - 2 * torch.outer(v, v) / v.dot(v)


def _product(vectors):
    w = torch.eye(vectors.shape[-1], dtype=vectors.dtype)
    for v in vectors:
        w = w @ _reflection(v)
    return w


def test_householder_matrix_is_the_orthogonal_product_of_reflections():
    vectors = torch.randn(4, 6, dtype=DTYPE)
    w = householder_matrix(vectors)
    torch.testing.assert_close(w, _product(vectors), atol=1e-13, rtol=0)
    torch.testing.assert_close(w @ w.T, torch.eye(6, dtype=DTYPE), atol=1e-13, rtol=0)
    x = torch.randn(3, 6, dtype=DTYPE)
    torch.testing.assert_close(householder_reflect(x, vectors), x @ w, atol=1e-13, rtol=0)
    torch.testing.assert_close(householder_reflect(x, vectors, inverse=True), x @ w.T,
                               atol=1e-13, rtol=0)


def test_learned_mode_is_x_times_w():
    m = Fm.HouseholderPerm([(5,)], n_reflections=3).double()
    assert [name for name, _ in m.named_parameters()] == ["Vs"]
    assert m.Vs.shape == (3, 5)
    x = torch.randn(4, 5, dtype=DTYPE)
    (z,), log_jac_det = m([x])
    torch.testing.assert_close(z, x @ _product(m.Vs.detach()), atol=1e-13, rtol=0)
    assert torch.equal(log_jac_det, torch.zeros(4, dtype=DTYPE))


def test_learned_mode_starts_near_the_unit_vectors():
    m = Fm.HouseholderPerm([(6,)], n_reflections=2)
    assert (m.Vs - torch.eye(6)[:2]).abs().max() < 1.0


def test_fixed_mode_has_no_trainable_parameters():
    """FrEIA bug 8: ``fixed=True`` left ``Vs`` trainable (and unused)."""
    m = Fm.HouseholderPerm([(4,)], n_reflections=3, fixed=True)
    assert list(m.parameters()) == []
    assert sorted(m.state_dict()) == ["Vs", "W", "weight"]
    torch.testing.assert_close(m.W, _product(m.Vs), atol=1e-6, rtol=0)


def test_fixed_mode_is_exactly_orthogonal_after_a_cast_and_a_load():
    m = Fm.HouseholderPerm([(5,)], n_reflections=4, fixed=True).double()
    eye = torch.eye(5, dtype=DTYPE)
    torch.testing.assert_close(m.W @ m.W.T, eye, atol=1e-14, rtol=0)
    assert torch.equal(m.weight, m.W)
    other = Fm.HouseholderPerm([(5,)], n_reflections=4, fixed=True).double()
    other.load_state_dict(Fm.HouseholderPerm([(5,)], n_reflections=4, fixed=True).state_dict())
    torch.testing.assert_close(other.W @ other.W.T, eye, atol=1e-14, rtol=0)


def test_conditional_mode_applies_each_samples_own_matrix():
    """FrEIA bug 7: a conditional HouseholderPerm multiplied by a batch of matrices wrongly."""
    m = Fm.HouseholderPerm([(4,)], [(12,)], n_reflections=3)
    assert list(m.parameters()) == []
    x = torch.randn(5, 4, dtype=DTYPE)
    c = torch.randn(5, 12, dtype=DTYPE)
    (z,), log_jac_det = m([x], c=[c])
    for b in range(5):
        vectors = c[b].reshape(4, 3).T  # vector k is column k of the (d, n) condition
        torch.testing.assert_close(z[b], x[b] @ _product(vectors), atol=1e-13, rtol=0)
    (x_rec,), _ = m([z], c=[c], rev=True)
    torch.testing.assert_close(x_rec, x, atol=1e-13, rtol=0)
    assert torch.equal(log_jac_det, torch.zeros(5, dtype=DTYPE))


def test_conditional_mode_reaches_the_condition_with_gradients():
    m = Fm.HouseholderPerm([(3,)], [(3, 2)], n_reflections=2)
    c = torch.randn(4, 3, 2, requires_grad=True)
    (z,), _ = m([torch.randn(4, 3)], c=[c])
    z.square().sum().backward()
    assert c.grad is not None and c.grad.abs().sum() > 0


def test_matches_freia():
    freia = pytest.importorskip("FrEIA.modules")
    fast_h = pytest.importorskip("FrEIA.modules.orthogonal")._fast_h
    for fixed in (False, True):
        torch.manual_seed(2)
        theirs = freia.HouseholderPerm([(5,)], n_reflections=3, fixed=fixed)
        torch.manual_seed(2)
        ours = Fm.HouseholderPerm([(5,)], n_reflections=3, fixed=fixed)
        assert torch.equal(ours.Vs, theirs.Vs.detach())
        x = torch.randn(4, 5)
        for rev in (False, True):
            torch.testing.assert_close(ours([x], rev=rev)[0][0], theirs([x], rev=rev)[0][0],
                                       atol=1e-5, rtol=1e-5)
    # FrEIA's conditional mode crashes; compare with its product applied per sample.
    ours = Fm.HouseholderPerm([(5,)], [(10,)], n_reflections=2)
    x, c = torch.randn(3, 5), torch.randn(3, 10)
    vectors = c.reshape(3, 5, 2).transpose(-1, -2)
    expected = torch.stack([x[b] @ fast_h(vectors[b]) for b in range(3)])
    torch.testing.assert_close(ours([x], c=[c])[0][0], expected, atol=1e-5, rtol=1e-5)


ERRORS = [
    (lambda: Fm.HouseholderPerm([(4,)]), r"HouseholderPerm: n_reflections must be an int >= 2, "
                                         r"got 1"),
    (lambda: Fm.HouseholderPerm([(4,)], n_reflections=0), r"n_reflections must be .* got 0"),
    (lambda: Fm.HouseholderPerm([(4,)], n_reflections=2.0), r"n_reflections .* got 2.0"),
    (lambda: Fm.HouseholderPerm([(4,)], [(8,)], n_reflections=2, fixed=True),
     r"HouseholderPerm cannot be fixed=True and conditional"),
    (lambda: Fm.HouseholderPerm([(4,)], [(4,), (4,)], n_reflections=2),
     r"HouseholderPerm takes at most one condition"),
    (lambda: Fm.HouseholderPerm([(4,)], [(7,)], n_reflections=2),
     r"HouseholderPerm: the condition must have d \* n_reflections = 4 \* 2 = 8 elements, "
     r"got shape \(7,\) with 7"),
    (lambda: Fm.HouseholderPerm([(2, 2)], n_reflections=2),
     r"HouseholderPerm needs vectors \(d,\), got dims_in=\[\(2, 2\)\]"),
    (lambda: Fm.HouseholderPerm([(2,), (2,)], n_reflections=2),
     r"HouseholderPerm takes exactly one input"),
]


@pytest.mark.parametrize(("factory", "message"), ERRORS)
def test_bad_arguments_raise_value_errors(factory, message):
    with pytest.raises(ModuleArgumentError, match=message):
        factory()
    with pytest.raises(ValueError, match=message):
        factory()


def test_wrong_condition_shape_raises():
    m = Fm.HouseholderPerm([(4,)], [(8,)], n_reflections=2)
    with pytest.raises(ShapeError, match=r"HouseholderPerm condition 0: expected shape \(B, 8\)"):
        m([torch.randn(2, 4)], c=[torch.randn(2, 4, 2)])
