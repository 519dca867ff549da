"""What the elementwise activations and LearnedElementwiseScaling compute, and their errors."""

import math
import warnings

import pytest
import torch
import torch.nn.functional as F

import inn.framework as Ff
import inn.modules as Fm
from inn.errors import ModuleArgumentError

DTYPE = torch.float64


# -- InvertibleSigmoid ---------------------------------------------------------------------------

def test_sigmoid_log_det_sums_over_all_axes_of_images():
    """FrEIA bug 6: the log-det of image inputs was summed over the channel axis only."""
    m = Fm.InvertibleSigmoid([(2, 3, 4)])
    x = torch.randn(5, 2, 3, 4, dtype=DTYPE)
    (y,), log_jac_det = m([x])
    torch.testing.assert_close(y, torch.sigmoid(x), atol=0, rtol=0)
    expected = torch.log(torch.sigmoid(x) * (1 - torch.sigmoid(x))).sum(dim=(1, 2, 3))
    assert log_jac_det.shape == (5,)
    torch.testing.assert_close(log_jac_det, expected, atol=1e-12, rtol=0)
    (x_rec,), log_jac_det_rev = m([y], rev=True)
    torch.testing.assert_close(x_rec, x, atol=1e-12, rtol=0)
    torch.testing.assert_close(log_jac_det_rev, -log_jac_det, atol=1e-12, rtol=0)


def test_sigmoid_returns_a_pair_with_jac_false():
    """FrEIA bug 6: with ``jac=False`` FrEIA returned a bare 1-tuple."""
    out = Fm.InvertibleSigmoid([(3,)])([torch.randn(2, 3)], jac=False)
    assert isinstance(out, tuple) and len(out) == 2 and out[0][0].shape == (2, 3)


def test_sigmoid_log_det_is_stable_for_large_inputs():
    m = Fm.InvertibleSigmoid([(2,)])
    x = torch.tensor([[200.0, -300.0]], dtype=DTYPE)
    _, log_jac_det = m([x])
    torch.testing.assert_close(log_jac_det, torch.tensor([-500.0], dtype=DTYPE),
                               atol=1e-12, rtol=0)
    y = torch.tensor([[1e-30, 1 - 1e-12]], dtype=DTYPE)
    (x_rec,), log_jac_det_rev = m([y], rev=True)
    expected_x = torch.log(y) - torch.log1p(-y)
    torch.testing.assert_close(x_rec, expected_x, atol=0, rtol=1e-12)
    torch.testing.assert_close(log_jac_det_rev, -(torch.log(y) + torch.log1p(-y)).sum(1),
                               atol=0, rtol=1e-12)


def test_sigmoid_takes_base_keyword_arguments_like_freia():
    m = Fm.InvertibleSigmoid(dims_in=[(3,)], dims_c=None)
    assert m.dims_in == [(3,)] and m.dims_c == []


# -- InvAutoAct family ---------------------------------------------------------------------------

def test_inv_auto_act_scales_by_exp_alpha_sign_x():
    m = Fm.InvAutoAct([(3, 2)], slope_init=1.5).double()
    assert m.alpha.shape == (1, 3, 1)
    with torch.no_grad():
        m.alpha.copy_(torch.tensor([0.2, -0.4, 1.0], dtype=DTYPE).view(1, 3, 1))
    x = torch.randn(4, 3, 2, dtype=DTYPE)
    (y,), log_jac_det = m([x])
    log_slope = m.alpha * torch.sign(x)
    torch.testing.assert_close(y, x * torch.exp(log_slope), atol=1e-14, rtol=0)
    torch.testing.assert_close(log_jac_det, log_slope.sum(dim=(1, 2)), atol=1e-14, rtol=0)
    (x_rec,), log_jac_det_rev = m([y], rev=True)
    torch.testing.assert_close(x_rec, x, atol=1e-14, rtol=0)
    torch.testing.assert_close(log_jac_det_rev, -log_jac_det, atol=1e-14, rtol=0)


def test_inv_auto_act_initial_slope_and_learnable_flag():
    assert torch.allclose(Fm.InvAutoAct([(2,)], slope_init=3.0).alpha, torch.tensor(math.log(3)))
    assert Fm.InvAutoAct([(2,)]).alpha.requires_grad
    assert not Fm.InvAutoAct([(2,)], learnable=False).alpha.requires_grad


def test_inv_auto_act_fixed_warns_and_stays_learnable():
    with pytest.warns(DeprecationWarning, match="InvAutoActFixed is deprecated"):
        m = Fm.InvAutoActFixed([(3,)], slope_init=2.0)
    assert isinstance(m, Fm.InvAutoAct)
    assert m.alpha.requires_grad
    with pytest.warns(DeprecationWarning, match="InvAutoActFixed is deprecated"):
        frozen = Fm.InvAutoActFixed([(3,)], learnable=False)
    assert not frozen.alpha.requires_grad


def test_two_sided_uses_separate_slopes():
    m = Fm.InvAutoActTwoSided([(2,)], init_pos=3.0, init_neg=0.25).double()
    assert m.alpha_pos.shape == m.alpha_neg.shape == (1, 2)
    torch.testing.assert_close(torch.exp(m.alpha_pos), torch.full((1, 2), 3.0, dtype=DTYPE))
    torch.testing.assert_close(torch.exp(m.alpha_neg), torch.full((1, 2), 0.25, dtype=DTYPE))
    a_pos, a_neg = m.alpha_pos[0, 0].item(), m.alpha_neg[0, 0].item()
    x = torch.tensor([[2.0, -4.0], [0.0, 1.0]], dtype=DTYPE)
    (y,), log_jac_det = m([x])
    expected_y = torch.tensor([[2.0 * math.exp(a_pos), -4.0 * math.exp(a_neg)],
                               [0.0, math.exp(a_pos)]], dtype=DTYPE)
    torch.testing.assert_close(y, expected_y, atol=1e-14, rtol=0)
    # At exactly zero FrEIA counts the mean log-slope; kept for parity.
    expected = torch.tensor([a_pos + a_neg, (a_pos + a_neg) / 2 + a_pos], dtype=DTYPE)
    torch.testing.assert_close(log_jac_det, expected, atol=1e-14, rtol=0)
    (x_rec,), log_jac_det_rev = m([y], rev=True)
    torch.testing.assert_close(x_rec, x, atol=1e-14, rtol=0)
    torch.testing.assert_close(log_jac_det_rev, -log_jac_det, atol=1e-14, rtol=0)


# -- LearnedElementwiseScaling -------------------------------------------------------------------

def test_learned_scaling_reverse_log_det_is_minus_sum_s():
    """FrEIA bug 14: the reverse pass returned +sum(s), with shape (1,)."""
    m = Fm.LearnedElementwiseScaling([(2, 3)], init_scale=2.0).double()
    with torch.no_grad():
        m.s.add_(torch.randn(1, 2, 3, dtype=DTYPE))
    assert m.s.shape == (1, 2, 3)
    x = torch.randn(4, 2, 3, dtype=DTYPE)
    (y,), log_jac_det = m([x])
    torch.testing.assert_close(y, x * torch.exp(m.s), atol=1e-14, rtol=0)
    torch.testing.assert_close(log_jac_det, m.s.sum().expand(4), atol=1e-14, rtol=0)
    (x_rec,), log_jac_det_rev = m([y], rev=True)
    torch.testing.assert_close(x_rec, x, atol=1e-14, rtol=0)
    assert log_jac_det_rev.shape == (4,)
    torch.testing.assert_close(log_jac_det_rev, -m.s.sum().expand(4), atol=1e-14, rtol=0)


def test_learned_scaling_starts_at_init_scale():
    m = Fm.LearnedElementwiseScaling([(3,)], init_scale=0.5)
    torch.testing.assert_close(m.s, torch.full((1, 3), math.log(0.5)))


@pytest.mark.parametrize("factory", [
    lambda d: Fm.InvAutoAct(d), lambda d: Fm.InvAutoActTwoSided(d),
    lambda d: Fm.LearnedElementwiseScaling(d), lambda d: Fm.InvertibleSigmoid(d)])
def test_real_log_dets_in_a_sequence_also_with_jac_false(factory):
    """FrEIA bug 12: these blocks returned ``None`` log-dets that SequenceINN could not add."""
    seq = Ff.SequenceINN(3, 2)
    seq.append(factory([(3, 2)]))
    x = torch.randn(5, 3, 2, dtype=DTYPE)
    seq = seq.double()
    z, log_jac_det = seq(x)
    assert log_jac_det.shape == (5,) and log_jac_det.dtype == DTYPE
    z2, _ = seq(x, jac=False)
    assert torch.equal(z, z2)


def test_activations_match_freia():
    freia = pytest.importorskip("FrEIA.modules")
    x = torch.randn(4, 3, 2, 2)
    pairs = [(freia.InvAutoAct([(3, 2, 2)]), Fm.InvAutoAct([(3, 2, 2)])),
             (freia.InvAutoActTwoSided([(3, 2, 2)]), Fm.InvAutoActTwoSided([(3, 2, 2)]))]
    for theirs, ours in pairs:
        with torch.no_grad():
            for p in theirs.parameters():
                p.add_(torch.randn_like(p))
        ours.load_state_dict(theirs.state_dict())
        for rev in (False, True):
            (a,), ld_a = theirs([x], rev=rev)
            (b,), ld_b = ours([x], rev=rev)
            torch.testing.assert_close(b, a, atol=1e-6, rtol=1e-6)
            torch.testing.assert_close(ld_b, ld_a, atol=1e-6, rtol=1e-6)
    v = torch.randn(4, 5)
    (a,), ld_a = freia.InvertibleSigmoid([(5,)])([v])
    (b,), ld_b = Fm.InvertibleSigmoid([(5,)])([v])
    torch.testing.assert_close(b, a)
    torch.testing.assert_close(ld_b, ld_a, atol=1e-5, rtol=1e-5)
    theirs = freia.LearnedElementwiseScaling([(5,)])
    ours = Fm.LearnedElementwiseScaling([(5,)])
    assert list(ours.state_dict()) == list(theirs.state_dict()) == ["s"]


def test_functional_kernels_match_their_formulas():
    from inn.transformers.functional import logistic, two_sided_scale
    x = torch.randn(10, dtype=DTYPE)
    y, log_det = logistic(x)
    torch.testing.assert_close(log_det, -F.softplus(x) - F.softplus(-x), atol=0, rtol=0)
    x_rec, log_det_rev = logistic(y, inverse=True)
    torch.testing.assert_close(x_rec, x, atol=1e-13, rtol=0)
    torch.testing.assert_close(log_det_rev, -log_det, atol=1e-13, rtol=0)
    a_pos, a_neg = torch.tensor(0.3, dtype=DTYPE), torch.tensor(-1.2, dtype=DTYPE)
    y, log_det = two_sided_scale(x, a_pos, a_neg)
    expected = torch.where(x > 0, a_pos, a_neg)
    torch.testing.assert_close(log_det, expected, atol=0, rtol=0)
    torch.testing.assert_close(two_sided_scale(y, a_pos, a_neg, inverse=True)[0], x,
                               atol=1e-14, rtol=0)


ERRORS = [
    (lambda: Fm.InvAutoAct([(3,)], slope_init=0.0),
     r"InvAutoAct: slope_init must be > 0, got 0.0"),
    (lambda: Fm.InvAutoActTwoSided([(3,)], init_pos=-1.0),
     r"InvAutoActTwoSided: init_pos must be > 0, got -1.0"),
    (lambda: Fm.InvAutoActTwoSided([(3,)], init_neg=0.0),
     r"InvAutoActTwoSided: init_neg must be > 0, got 0.0"),
    (lambda: Fm.LearnedElementwiseScaling([(3,)], init_scale=0.0),
     r"LearnedElementwiseScaling: init_scale must be > 0, got 0.0"),
    (lambda: Fm.InvertibleSigmoid([(3,)], dims_c=[(2,)]),
     r"InvertibleSigmoid takes no conditions"),
    (lambda: Fm.InvAutoAct([(3,), (3,)]), r"InvAutoAct takes exactly one input"),
    (lambda: Fm.LearnedElementwiseScaling([()]), r"LearnedElementwiseScaling needs inputs with "
                                                 r"a channel axis"),
]


@pytest.mark.parametrize(("factory", "message"), ERRORS)
def test_bad_arguments_raise(factory, message):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        with pytest.raises(ModuleArgumentError, match=message):
            factory()
