"""What MADE, MaskedAutoregressive and InverseAutoregressive compute, and their errors."""

import pytest
import torch
import torch.nn as nn
from cases import perturbed

import inn
import inn.modules as Fm
from inn.errors import ConditionError, ModuleArgumentError, ShapeError
from inn.modules.autoregressive import order_degrees
from inn.nn import MADE
from inn.transformers import Additive, Affine, RationalQuadratic

DTYPE = torch.float64
D = 5
ORDERS = {
    "forward": torch.arange(D),
    "reverse": torch.arange(D - 1, -1, -1),
    "random": torch.randperm(D, generator=torch.Generator().manual_seed(4)),
}
FLOWS = [Fm.MaskedAutoregressive, Fm.InverseAutoregressive]


def _jacobian(fn, x):
    """``(out, in)`` autograd Jacobian of ``fn`` at the single point ``x`` of shape ``(n,)``."""
    return torch.autograd.functional.jacobian(lambda v: fn(v[None])[0], x)


def _made(order, hidden, residual, context=0, n_params=2):
    degrees = ORDERS[order]
    return MADE(degrees, degrees.repeat(n_params), hidden, context_features=context,
                activation=nn.Tanh, residual=residual).to(DTYPE)


# -- MADE ---------------------------------------------------------------------------------------

@pytest.mark.parametrize("order", sorted(ORDERS))
@pytest.mark.parametrize("hidden", [(), (16,), (16, 16, 12)])
@pytest.mark.parametrize("residual", [False, True])
@pytest.mark.parametrize("context", [0, 3])
def test_made_is_autoregressive(order, hidden, residual, context):
    made = _made(order, hidden, residual, context)
    x = torch.randn(D, dtype=DTYPE)
    c = torch.randn(1, context, dtype=DTYPE) if context else None
    jac = _jacobian(lambda v: made(v, c), x)
    allowed = made.degrees_out[:, None] > made.degrees_in[None, :]
    # Zero exactly where forbidden, and (smooth activation, wide layers) nonzero where allowed.
    assert torch.equal(jac != 0, allowed)


@pytest.mark.parametrize("hidden", [(), (16, 16)])
@pytest.mark.parametrize("residual", [False, True])
def test_made_context_reaches_every_output(hidden, residual):
    made = _made("random", hidden, residual, context=3)
    x = torch.randn(1, D, dtype=DTYPE)
    jac = _jacobian(lambda v: made(x, v), torch.randn(3, dtype=DTYPE))
    assert (jac != 0).all()


def test_made_outputs_of_lowest_degree_are_constant_without_context():
    made = _made("forward", (16,), False)
    out = made(torch.randn(7, D, dtype=DTYPE))
    lowest = made.degrees_out == 0
    assert torch.equal(out[:, lowest], out[:1, lowest].expand(7, -1))


def test_made_residual_blocks_only_between_equal_widths():
    made = MADE(torch.arange(3), torch.arange(3), (8, 8, 6, 6), residual=True)
    assert made._skip == (False, True, False, True, False)
    assert not any(MADE(torch.arange(3), torch.arange(3), (8, 8))._skip)


def test_made_masks_are_bool_buffers_in_state_dict():
    made = _made("random", (16, 16), False, context=2).double()
    state = made.state_dict()
    masks = [key for key in state if key.endswith("mask")]
    assert masks == ["layers.0.mask", "layers.1.mask", "layers.2.mask"]
    assert all(state[key].dtype == torch.bool for key in masks)
    assert torch.equal(state["degrees_in"], ORDERS["random"])
    assert {name for name, _ in made.named_parameters()}.isdisjoint(masks)


def test_made_hidden_degrees_cover_the_context_only_degree():
    made = MADE(torch.tensor([2, 0, 1]), torch.tensor([2, 0, 1]), (5,), context_features=1)
    # hidden degrees cycle over [min - 1, max - 1] = [-1, 1]: -1, 0, 1, -1, 0; the context reads
    # as degree -1, so every hidden unit sees it, and units of degree -1 see nothing else
    first, last = made.layers[0].mask, made.layers[1].mask
    assert torch.equal(first[:, 3], torch.ones(5, dtype=torch.bool))
    assert torch.equal(first[:, 1], torch.tensor([False, True, True, False, True]))  # degree 0
    assert not first[:, 0].any()  # the input of the highest degree feeds no output
    assert torch.equal(last[1], torch.tensor([True, False, False, True, False]))  # output degree 0


# -- MAF / IAF: passes, structure, identity -------------------------------------------------------

def _flow(cls, **kwargs):
    kwargs.setdefault("hidden_features", (16, 16))
    return perturbed(cls([(D,)], [(2,)], activation=nn.Tanh, **kwargs).to(DTYPE))


def _count_made_calls(flow, rev):
    calls = []
    handle = flow.made.register_forward_hook(lambda *args: calls.append(1))
    x, c = torch.randn(3, D, dtype=DTYPE), torch.randn(3, 2, dtype=DTYPE)
    flow([x], c=[c], rev=rev)
    handle.remove()
    return len(calls)


@pytest.mark.parametrize(("cls", "forward_calls", "reverse_calls"), [
    (Fm.MaskedAutoregressive, 1, D),
    (Fm.InverseAutoregressive, D, 1),
])
def test_parallel_and_sequential_passes(cls, forward_calls, reverse_calls):
    flow = _flow(cls)
    assert _count_made_calls(flow, rev=False) == forward_calls
    assert _count_made_calls(flow, rev=True) == reverse_calls


@pytest.mark.parametrize("cls", FLOWS)
@pytest.mark.parametrize("order", sorted(ORDERS))
def test_forward_jacobian_is_triangular_in_the_order(cls, order):
    flow = _flow(cls, order=ORDERS[order])
    c = torch.randn(1, 2, dtype=DTYPE)
    jac = _jacobian(lambda v: flow([v], c=[c])[0][0], torch.randn(D, dtype=DTYPE))
    degrees = flow.degrees
    assert torch.equal(degrees, ORDERS[order])
    upper = degrees[None, :] > degrees[:, None]  # z_i must not depend on later x_j
    assert (jac[upper] == 0).all()
    assert (jac.diagonal() != 0).all() and (jac[~upper & (degrees[None, :] != degrees[:, None])]
                                            != 0).all()
    perm = torch.argsort(degrees)
    assert torch.equal(jac[perm][:, perm], jac[perm][:, perm].tril())


@pytest.mark.parametrize("order", ["forward", "random"])
def test_iaf_is_maf_with_the_directions_swapped(order):
    seed = 0 if order == "random" else None
    maf = _flow(Fm.MaskedAutoregressive, order=order, seed=seed)
    iaf = Fm.InverseAutoregressive([(D,)], [(2,)], hidden_features=(16, 16),
                                   activation=nn.Tanh).to(DTYPE)
    iaf.load_state_dict(maf.state_dict())
    x, c = torch.randn(4, D, dtype=DTYPE), torch.randn(4, 2, dtype=DTYPE)
    (z_maf,), ld_maf = maf([x], c=[c])
    (z_iaf,), ld_iaf = iaf([x], c=[c], rev=True)
    assert torch.equal(z_maf, z_iaf) and torch.equal(ld_maf, ld_iaf)  # the same map tau
    (x_maf,), ld_maf = maf([x], c=[c], rev=True)
    (x_iaf,), ld_iaf = iaf([x], c=[c])
    assert torch.equal(x_maf, x_iaf) and torch.equal(ld_maf, ld_iaf)


@pytest.mark.parametrize("cls", FLOWS)
@pytest.mark.parametrize(("transformer", "atol"), [
    (Affine, 0.0),
    (Additive, 0.0),
    # the spline kernel's arithmetic reproduces x to rounding only
    (RationalQuadratic, 1e-12),
])
def test_identity_init(cls, transformer, atol):
    flow = cls([(D,)], [(3,)], transformer=transformer, order="random", seed=2).to(DTYPE)
    x, c = 2 * torch.randn(6, D, dtype=DTYPE), torch.randn(6, 3, dtype=DTYPE)
    for rev in (False, True):
        (y,), log_jac_det = flow([x], c=[c], rev=rev)
        torch.testing.assert_close(y, x, atol=atol, rtol=0)
        torch.testing.assert_close(log_jac_det, torch.zeros(6, dtype=DTYPE), atol=atol, rtol=0)


def test_without_init_identity_the_flow_is_not_the_identity():
    flow = Fm.MaskedAutoregressive([(D,)], init_identity=False).to(DTYPE)
    x = torch.randn(3, D, dtype=DTYPE)
    assert not torch.allclose(flow([x])[0][0], x)


def test_random_order_is_seeded_and_in_the_state_dict():
    a = Fm.MaskedAutoregressive([(8,)], order="random", seed=5)
    b = Fm.MaskedAutoregressive([(8,)], order="random", seed=5)
    other = Fm.MaskedAutoregressive([(8,)], order="random", seed=6)
    assert torch.equal(a.degrees, b.degrees) and not torch.equal(a.degrees, other.degrees)
    assert torch.equal(a.state_dict()["made.degrees_in"], a.degrees)
    other.load_state_dict(a.state_dict())
    assert torch.equal(other.degrees, a.degrees)
    assert torch.equal(other.made.layers[0].mask, a.made.layers[0].mask)


def test_random_order_uses_its_own_generator():
    state = torch.get_rng_state()
    degrees = order_degrees("random", 8, seed=5)
    assert torch.equal(torch.get_rng_state(), state)
    assert torch.equal(degrees, torch.randperm(8, generator=torch.Generator().manual_seed(5)))


def test_conditions_of_any_shape_are_flattened_into_the_context():
    flow = Fm.MaskedAutoregressive([(3,)], [(2,), (2, 2)], hidden_features=(8,))
    assert flow.made.context_features == 6
    (z,), _ = perturbed(flow)([torch.randn(2, 3)], c=[torch.randn(2, 2), torch.randn(2, 2, 2)])
    assert z.shape == (2, 3)


def test_in_a_sequence_with_flatten_for_images():
    seq = inn.SequenceINN(2, 2, 2)
    seq.append(Fm.Flatten)
    seq.append(Fm.MaskedAutoregressive, hidden_features=(8,))
    seq.append(Fm.InverseAutoregressive, hidden_features=(8,), order="reverse")
    seq = perturbed(seq.to(DTYPE))
    x = torch.randn(3, 2, 2, 2, dtype=DTYPE)
    z, log_jac_det = seq(x)
    x_rec, log_jac_det_rev = seq(z, rev=True)
    torch.testing.assert_close(x_rec, x, atol=1e-12, rtol=0)
    torch.testing.assert_close(log_jac_det, -log_jac_det_rev, atol=1e-12, rtol=0)


# -- errors ---------------------------------------------------------------------------------------

MAF = Fm.MaskedAutoregressive
ERRORS = [
    (lambda: MAF([(2, 4, 4)]), ModuleArgumentError, r"MaskedAutoregressive needs vector inputs.*"
                                                    r"Flatten.*\(2, 4, 4\)"),
    (lambda: Fm.InverseAutoregressive([(4,), (4,)]), ModuleArgumentError,
     r"InverseAutoregressive takes exactly one input"),
    (lambda: MAF([(4,)], order="sideways"), ModuleArgumentError,
     r"MaskedAutoregressive: order must be one of .*'forward'.*got 'sideways'"),
    (lambda: MAF([(4,)], order=[0, 1, 1, 3]), ModuleArgumentError,
     r"order must be .* a permutation of 0\.\.3, got \[0, 1, 1, 3\]"),
    (lambda: MAF([(4,)], order=[0, 1, 2]), ModuleArgumentError, r"permutation of 0\.\.3"),
    (lambda: MAF([(4,)], order=torch.tensor([0.0, 1.0, 2.0, 3.0])), ModuleArgumentError,
     r"permutation of 0\.\.3"),
    (lambda: MAF([(4,)], order="reverse", seed=3), ModuleArgumentError,
     r"seed is used only with order='random', got order='reverse'"),
    (lambda: MAF([(4,)], transformer=nn.Linear(2, 2)), ModuleArgumentError,
     r"MaskedAutoregressive: transformer must be an inn.transformers.Transformer"),
    (lambda: MAF([(4,)], transformer=lambda x: Affine()), ModuleArgumentError,
     r"zero-argument factory"),
    (lambda: MAF([(4,)], transformer="affine"), ModuleArgumentError, r"got 'affine'"),
    (lambda: MAF([(4,)], hidden_features=(16, -1)), ModuleArgumentError,
     r"MaskedAutoregressive: hidden_features must be a sequence of positive ints.*\(16, -1\)"),
    (lambda: MAF([(4,)], hidden_features=(8.0,)), ModuleArgumentError, r"hidden_features"),
    (lambda: MAF([(4,)], activation=nn.ReLU()), ModuleArgumentError,
     r"activation must be a zero-argument factory"),
    (lambda: MADE(torch.tensor([0.0, 1.0]), torch.tensor([0, 1])), ModuleArgumentError,
     r"MADE: degrees_in must be integer degrees"),
    (lambda: MADE(torch.zeros(2, 2, dtype=torch.long), torch.tensor([0, 1])),
     ModuleArgumentError, r"MADE: degrees_in must be a non-empty 1-d tensor, got shape \(2, 2\)"),
    (lambda: MADE([0, 1, 2], torch.tensor([], dtype=torch.long)), ModuleArgumentError,
     r"degrees_out must be a non-empty"),
    (lambda: MADE([0, 1, 2], [0, 3]), ModuleArgumentError,
     r"MADE: degrees_out must lie in \[0, 2\].*got \[0, 3\]"),
    (lambda: MADE([0, 1, 2], [0, -1]), ModuleArgumentError, r"degrees_out must lie in"),
    (lambda: MADE([0, 1], [1, 1], hidden_features=(0,)), ModuleArgumentError,
     r"MADE: hidden_features must be .*positive ints"),
    (lambda: MADE([0, 1], [1, 1], context_features=-2), ModuleArgumentError,
     r"MADE: context_features must be a non-negative int, got -2"),
]


@pytest.mark.parametrize(("factory", "error", "match"), ERRORS)
def test_construction_errors(factory, error, match):
    with pytest.raises(error, match=match):
        factory()


@pytest.mark.parametrize(("context_features", "x", "context", "error", "match"), [
    (0, torch.randn(2, 3), torch.randn(2, 1), ConditionError, r"MADE: expected no context"),
    (2, torch.randn(2, 3), None, ConditionError, r"MADE: expected a context.*got none"),
    (2, torch.randn(2, 3), torch.randn(2, 3), ShapeError,
     r"MADE: expected a context of shape \(2, 2\), got \(2, 3\)"),
    (0, torch.randn(2, 4), None, ShapeError, r"MADE: expected inputs of shape \(B, 3\), got"),
])
def test_made_call_errors(context_features, x, context, error, match):
    made = MADE([0, 1, 2], [0, 1, 2], (4,), context_features=context_features)
    with pytest.raises(error, match=match):
        made(x, context)


def test_flow_call_checks_conditions():
    flow = MAF([(3,)], [(2,)], hidden_features=(4,))
    with pytest.raises(ConditionError):
        flow([torch.randn(2, 3)])
    with pytest.raises(ShapeError):
        flow([torch.randn(2, 3)], c=[torch.randn(2, 3)])
