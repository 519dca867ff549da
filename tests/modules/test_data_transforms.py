"""Data transforms: dequantisation in training mode, bits/dim, exact likelihood bookkeeping."""

import math

import pytest
import torch

import inn
import inn.modules as Fm


def test_training_mode_dequantization_is_random_within_the_bins():
    deq = Fm.UniformDequantization([(1000,)], levels=4)
    x = torch.randint(0, 4, (3, 1000)).double()
    (y1,), log_jac_det = deq([x])
    (y2,), _ = deq([x])
    assert not torch.equal(y1, y2)
    assert ((y1 * 4 >= x) & (y1 * 4 < x + 1)).all()
    assert (y1 * 4 - x).mean() == pytest.approx(0.5, abs=0.03)
    torch.testing.assert_close(log_jac_det, torch.full((3,), -1000 * math.log(4),
                                                       dtype=torch.float64))
    (x_rec,), _ = deq([y1], rev=True)
    assert torch.equal(x_rec, x)


def test_straight_through_reverse_has_the_smooth_gradient():
    deq = Fm.UniformDequantization([(2,)], levels=8)
    y = torch.tensor([[0.3, 0.99]], requires_grad=True)
    (x,), _ = deq([y], rev=True)
    assert x.tolist() == [[2.0, 7.0]]
    x.sum().backward()
    assert y.grad.tolist() == [[8.0, 8.0]]


def test_bits_per_dim_of_a_dequantised_uniform_model():
    """A uniform density on [0, 1)^D after dequantising L levels is log2(L) bits per dim."""
    net = inn.SequenceINN(1, 4, 4)
    net.append(Fm.UniformDequantization, levels=16)
    x = torch.randint(0, 16, (5, 1, 4, 4)).float()
    _, log_jac_det = net(x)
    bpd = inn.bits_per_dim(log_jac_det, (1, 4, 4))  # log p_uniform = 0
    torch.testing.assert_close(bpd, torch.full((5,), 4.0))


def test_logit_transform_inverts_at_large_values_and_checks_alpha():
    logit = Fm.LogitTransform([(3,)], alpha=0.0)
    z = torch.tensor([[-15.0, 0.0, 15.0]], dtype=torch.float64)
    (x,), ld_rev = logit([z], rev=True)
    (z2,), ld = logit([x])
    assert torch.isfinite(ld_rev).all()
    torch.testing.assert_close(ld + ld_rev, torch.zeros(1, dtype=torch.float64), atol=1e-6,
                               rtol=0)
    for alpha in (0.5, -0.1, "0.1"):
        with pytest.raises(inn.ModuleArgumentError, match="alpha"):
            Fm.LogitTransform([(3,)], alpha=alpha)


@pytest.mark.parametrize(("call", "match"), [
    (lambda: Fm.UniformDequantization([(2,)], levels=1), "levels must be an int >= 2"),
    (lambda: Fm.UniformDequantization([(2,)], levels=2.5), "levels must be an int >= 2"),
    (lambda: Fm.ScaleToUnit([(2,)], low=1.0, high=1.0), "high - low must be"),
])
def test_bad_arguments(call, match):
    with pytest.raises(inn.ModuleArgumentError, match=match):
        call()
