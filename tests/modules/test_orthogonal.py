"""What OrthogonalTransform computes, how it keeps its matrix orthogonal, and its errors."""

import copy

import numpy as np
import pytest
import torch

import inn.modules as Fm
from inn.errors import ModuleArgumentError
from inn.modules.orthogonal import orthonormalize_rows

DTYPE = torch.float64


def _deviation(weights):
    w = weights.detach()
    return (w @ w.T - torch.eye(w.shape[0], dtype=w.dtype)).abs().max().item()


def _train_step(module, optimizer, generator):
    optimizer.zero_grad()
    x = torch.randn(16, module.width, generator=generator, dtype=DTYPE)
    (z,), log_jac_det = module([x])
    ((z - 2 * x.flip(1)) ** 2).mean().backward()
    optimizer.step()


def test_forward_and_inverse_follow_the_formula():
    m = Fm.OrthogonalTransform([(4,)], clamp=2.0).double()
    with torch.no_grad():
        m.scaling.copy_(torch.tensor([[-3.0, -0.5, 0.5, 3.0]]))
        m.weights.copy_(orthonormalize_rows(m.weights))
    x = torch.randn(3, 4, dtype=DTYPE)
    log_scale = 2.0 * 0.636 * torch.atan(m.scaling / 2.0)
    (z,), log_jac_det = m([x])
    torch.testing.assert_close(z, (x @ m.weights + m.bias) * torch.exp(log_scale),
                               atol=1e-13, rtol=0)
    torch.testing.assert_close(log_jac_det, log_scale.sum().expand(3), atol=1e-13, rtol=0)
    (x_rec,), log_jac_det_rev = m([z], rev=True)
    torch.testing.assert_close(x_rec, x, atol=1e-12, rtol=0)
    torch.testing.assert_close(log_jac_det_rev, -log_jac_det, atol=0, rtol=0)


def test_weights_start_orthogonal_and_keys_match_freia():
    m = Fm.OrthogonalTransform([(7,)])
    assert _deviation(m.weights) < 1e-5
    assert list(m.state_dict()) == ["weights", "bias", "scaling"]


def test_orthonormalize_rows_is_gram_schmidt_on_rows():
    generator = torch.Generator().manual_seed(3)
    matrix = torch.randn(5, 5, generator=generator, dtype=DTYPE)
    expected = torch.empty_like(matrix)
    for i in range(5):
        row = matrix[i] - (expected[:i] @ matrix[i]) @ expected[:i]
        expected[i] = row / row.norm()
    torch.testing.assert_close(orthonormalize_rows(matrix), expected, atol=1e-12, rtol=0)
    assert orthonormalize_rows(matrix.float()).dtype == torch.float32


def test_training_drifts_and_the_correction_restores_orthogonality():
    m = Fm.OrthogonalTransform([(6,)], correction_interval=4).double()
    m.back_counter = 0
    optimizer = torch.optim.SGD(m.parameters(), lr=0.3)
    generator = torch.Generator().manual_seed(0)
    deviations = []
    for _ in range(4):  # passes 1..4 only count: counter reaches the interval
        _train_step(m, optimizer, generator)
        deviations.append(_deviation(m.weights))
    assert m.back_counter == 4
    assert min(deviations) > 1e-3, "the free updates should leave the orthogonal matrices"
    optimizer.zero_grad()
    (z,), _ = m([torch.randn(8, 6, generator=generator, dtype=DTYPE)])
    z.square().sum().backward()  # the 5th backward pass exceeds the interval: correction
    assert _deviation(m.weights) < 1e-13
    assert 0 <= m.back_counter <= 4 // 4
    assert m.weights.dtype == DTYPE


def test_correction_counts_backward_passes_not_forward_calls():
    m = Fm.OrthogonalTransform([(3,)], correction_interval=10)
    m.back_counter = 0
    x = torch.randn(4, 3)
    for _ in range(3):
        m([x])
    with torch.no_grad():
        m([x])
    assert m.back_counter == 0
    (z,), _ = m([x])
    (x_rec,), _ = m([z], rev=True)
    x_rec.sum().backward()  # one backward pass through both calls counts each call
    assert m.back_counter == 2


def test_corrections_leave_global_random_states_alone():
    m = Fm.OrthogonalTransform([(3,)], correction_interval=1)
    torch_state, numpy_state = torch.get_rng_state(), np.random.get_state()[1].copy()
    for _ in range(5):
        (z,), _ = m([torch.ones(2, 3)])
        z.sum().backward()
    assert torch.equal(torch_state, torch.get_rng_state())
    np.testing.assert_array_equal(numpy_state, np.random.get_state()[1])


def test_a_deep_copy_keeps_correcting():
    m = copy.deepcopy(Fm.OrthogonalTransform([(3,)], correction_interval=5)).double()
    m.back_counter = 5
    with torch.no_grad():
        m.weights.add_(0.1)
    (z,), _ = m([torch.ones(2, 3, dtype=DTYPE)])
    z.sum().backward()
    assert _deviation(m.weights) < 1e-13


@pytest.mark.filterwarnings("ignore::FutureWarning")  # FrEIA's deprecated module backward hook
def test_matches_freia_for_the_same_seed():
    freia = pytest.importorskip("FrEIA.modules")
    torch.manual_seed(4)
    theirs = freia.OrthogonalTransform([(5,)], clamp=3.0)
    torch.manual_seed(4)
    ours = Fm.OrthogonalTransform([(5,)], clamp=3.0)
    for key, value in theirs.state_dict().items():
        assert torch.equal(ours.state_dict()[key], value), key
    x = torch.randn(3, 5)
    for rev in (False, True):
        (a,), ld_a = theirs([x], rev=rev)
        (b,), ld_b = ours([x], rev=rev)
        torch.testing.assert_close(b, a, atol=1e-6, rtol=1e-6)
        torch.testing.assert_close(ld_b, ld_a, atol=1e-6, rtol=1e-6)


ERRORS = [
    (lambda: Fm.OrthogonalTransform([(3, 3)]), ModuleArgumentError,
     r"OrthogonalTransform needs vectors \(d,\), got dims_in=\[\(3, 3\)\]"),
    (lambda: Fm.OrthogonalTransform([(3,)], correction_interval=0), ModuleArgumentError,
     r"OrthogonalTransform: correction_interval must be an int >= 1, got 0"),
    (lambda: Fm.OrthogonalTransform([(3,)], correction_interval=2.5), ModuleArgumentError,
     r"correction_interval must be an int >= 1, got 2.5"),
    (lambda: Fm.OrthogonalTransform([(3,)], clamp=0.0), ModuleArgumentError,
     r"OrthogonalTransform: clamp must be > 0, got 0.0"),
    (lambda: Fm.OrthogonalTransform([(3,)], [(2,)]), ModuleArgumentError,
     r"OrthogonalTransform takes no conditions"),
]


@pytest.mark.parametrize(("factory", "error", "message"), ERRORS)
def test_bad_arguments_raise(factory, error, message):
    with pytest.raises(error, match=message):
        factory()
