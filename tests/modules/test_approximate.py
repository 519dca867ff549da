"""IResNetLayer, InvAutoFC and InvAutoConv2D: inverses, the log-det estimator, and errors."""

import itertools
import warnings

import pytest
import torch

import inn.framework as Ff
import inn.modules as Fm
from inn.errors import ModuleArgumentError
from inn.modules.iresnet_functional import log_det_power_series, spectral_norm_estimate

DTYPE = torch.float64


def _randn(*shape, seed=0, dtype=DTYPE):
    return torch.randn(shape, generator=torch.Generator().manual_seed(seed), dtype=dtype)


def _layer(shape, seed=0, **kwargs):
    """A float64 i-ResNet layer with full random weights, Lipschitz-corrected."""
    torch.manual_seed(seed)
    layer = Fm.IResNetLayer([shape], **kwargs).double()
    with torch.no_grad():
        for p in layer.parameters():
            p.add_(0.3 * torch.randn(p.shape, dtype=DTYPE))
    layer.lipschitz_correction()
    return layer


def _jacobians(fn, x):
    """Per-sample Jacobians ``(B, D, D)`` of a batch-independent map."""
    batch, n = x.shape[0], x[0].numel()
    jac = torch.autograd.functional.jacobian(fn, x, vectorize=True).reshape(batch, n, batch, n)
    return torch.stack([jac[i, :, i] for i in range(batch)])


# -- IResNetLayer: inverse -----------------------------------------------------------------------

@pytest.mark.parametrize("shape", [(5,), (2, 4, 4)])
def test_iresnet_fixed_point_inverse_is_exact_with_full_weights(shape):
    layer = _layer(shape)
    x = _randn(3, *shape)
    (z,), _ = layer([x], jac=False)
    (x_rec,), _ = layer([z], rev=True, jac=False)
    torch.testing.assert_close(x_rec, x, atol=1e-12, rtol=0)


def test_iresnet_inverse_gradients_are_the_exact_inverse_jacobian():
    layer = _layer((4,))
    z = _randn(3, 4)
    x = layer([z], rev=True, jac=False)[0][0]
    inverse = _jacobians(lambda t: layer([t], rev=True, jac=False)[0][0], z)
    forward = _jacobians(lambda t: layer([t], jac=False)[0][0], x.detach())
    torch.testing.assert_close(inverse @ forward, torch.eye(4, dtype=DTYPE).expand(3, 4, 4),
                               atol=1e-12, rtol=0)


def test_iresnet_inverse_parameter_gradients_match_unrolled_iteration():
    layer = _layer((3,), fixed_point_iterations=80)
    z = _randn(4, 3)
    weights = _randn(4, 3, seed=1)
    (layer([z], rev=True, jac=False)[0][0] * weights).sum().backward()
    implicit = [p.grad.clone() for p in layer.parameters()]
    layer.zero_grad()
    x = z
    for _ in range(200):  # differentiable all the way: autograd through every iteration
        x = z - layer.residual(x)
    (x * weights).sum().backward()
    for a, b in zip(implicit, (p.grad for p in layer.parameters())):
        torch.testing.assert_close(a, b, atol=1e-12, rtol=0)


def test_iresnet_matches_freia_init_state_dict_and_maps():
    freia = pytest.importorskip("FrEIA.modules")
    torch.manual_seed(3)
    theirs = freia.IResNetLayer([(6,)], internal_size=7, n_internal_layers=2)
    torch.manual_seed(3)
    ours = Fm.IResNetLayer([(6,)], internal_size=7, n_internal_layers=2)
    assert list(ours.state_dict()) == list(theirs.state_dict())
    for key, value in theirs.state_dict().items():
        assert torch.equal(ours.state_dict()[key], value)
    theirs.lipschitz_correction()
    ours.load_state_dict(theirs.state_dict())
    x = _randn(5, 6, dtype=torch.float32)
    z = ours([x], jac=False)[0][0]
    assert torch.equal(z, theirs([x], jac=False)[0][0])
    assert torch.equal(ours([z], rev=True, jac=False)[0][0],
                       theirs([z], rev=True, jac=False)[0][0])


# -- IResNetLayer: log-det -----------------------------------------------------------------------

def _truncated_series(jacobian, terms):
    power, total = torch.eye(jacobian.shape[-1], dtype=DTYPE), 0
    for k in range(1, terms + 1):
        power = power @ jacobian
        total = total + (-1) ** (k + 1) / k * torch.diagonal(power, dim1=-2, dim2=-1).sum(-1)
    return total


def test_power_series_with_all_sign_probes_is_the_exact_truncated_series():
    # Averaging v^T A v over all 2^D sign vectors gives tr(A) exactly, so the estimator must
    # reproduce the truncated series of the autograd Jacobian for full (non-diagonal) weights.
    layer = _layer((4,))
    x = _randn(3, 4)
    signs = torch.tensor(list(itertools.product([-1.0, 1.0], repeat=4)), dtype=DTYPE)
    probes = signs.repeat_interleave(3, dim=0)  # rows s * 3 + b: every sign vector per sample
    rows = x.repeat(16, 1).requires_grad_()

    def estimate(terms):
        per_row = log_det_power_series(layer.residual(rows), rows, probes, terms, False)
        return per_row.reshape(16, 3).mean(0)

    jac_g = _jacobians(layer.residual, x)
    torch.testing.assert_close(estimate(6), _truncated_series(jac_g, 6), atol=1e-12, rtol=0)
    exact = torch.linalg.slogdet(torch.eye(4, dtype=DTYPE) + jac_g)[1]
    torch.testing.assert_close(estimate(60), exact, atol=1e-12, rtol=0)


@pytest.mark.parametrize("shape", [(4,), (1, 3, 3)])
def test_iresnet_log_det_estimate_approaches_slogdet(shape):
    layer = _layer(shape, jacobian_iterations=30, hutchinson_samples=3000)
    x = _randn(2, *shape)
    n = x[0].numel()
    jac = _jacobians(lambda t: layer([t], jac=False)[0][0].reshape(2, -1),
                     x).reshape(2, n, n)
    exact = torch.linalg.slogdet(jac)[1]
    with torch.no_grad():
        estimate = layer([x])[1]
    # Statistical: the standard error of 3000 sign probes is ~0.003 here (fixed seed).
    torch.testing.assert_close(estimate, exact, atol=0.02, rtol=0)
    (_, reverse) = layer([layer([x], jac=False)[0][0]], rev=True)
    torch.testing.assert_close(reverse, -exact, atol=0.02, rtol=0)


def test_iresnet_log_det_under_no_grad_and_inputs_untouched():
    layer = _layer((4,))
    x = _randn(3, 4)
    with torch.no_grad():
        (z,), log_jac_det = layer([x])
        (_,), log_jac_det_rev = layer([z], rev=True)
    assert log_jac_det.shape == (3,) and log_jac_det.dtype == DTYPE
    assert not log_jac_det.requires_grad and not z.requires_grad
    assert torch.isfinite(log_jac_det_rev).all()
    with torch.inference_mode():
        (_,), log_jac_det_inference = layer([x])
    assert log_jac_det_inference.shape == (3,) and torch.isfinite(log_jac_det_inference).all()
    (z,), log_jac_det = layer([x])
    assert not x.requires_grad and x.grad is None and x.is_leaf
    assert log_jac_det.requires_grad  # differentiable w.r.t. the parameters (FrEIA's is not)


def test_iresnet_log_det_gradient_equals_slogdet_gradient_when_exact():
    torch.manual_seed(0)
    layer = Fm.IResNetLayer([(3,)], internal_size=3, jacobian_iterations=60).double()
    with torch.no_grad():  # diagonal weights: the sign-probe estimate is exact
        for sub in layer.layers:
            sub.weight.copy_(torch.diag(torch.tensor([0.5, -0.7, 0.6], dtype=DTYPE)))
    x = _randn(2, 3)
    params = list(layer.parameters())
    estimated = torch.autograd.grad(layer([x])[1].sum(), params, allow_unused=True)
    jac = torch.autograd.functional.jacobian(lambda t: layer([t], jac=False)[0][0], x,
                                             create_graph=True)
    exact = torch.linalg.slogdet(torch.stack([jac[i, :, i] for i in range(2)]))[1].sum()
    expected = torch.autograd.grad(exact, params, allow_unused=True)
    # The estimate is exact in every diagonal direction (biases, diagonal weights); in
    # off-diagonal weight directions its derivative is only unbiased (sign products v_k v_l).
    assert sum(g is not None for g in estimated) >= len(params) - 1  # all but the last bias
    for a, b, p in zip(estimated, expected, params):
        zero = torch.zeros_like(p)
        a, b = zero if a is None else a, zero if b is None else b
        if p.dim() == 2:
            a, b = torch.diagonal(a), torch.diagonal(b)
        assert b.abs().sum() > 0 or p is params[-1]
        torch.testing.assert_close(a, b, atol=1e-12, rtol=0)


# -- IResNetLayer: Lipschitz correction, dims, containers ----------------------------------------

def _operator_norm(layer, shape):
    """The exact spectral norm of a layer's weight map (the padded convolution for images)."""
    if isinstance(layer, torch.nn.Linear):
        return torch.linalg.matrix_norm(layer.weight, 2)
    c_in = layer.weight.shape[1]
    n = c_in * shape[1] * shape[2]
    basis = torch.eye(n, dtype=DTYPE).reshape(n, c_in, *shape[1:])
    matrix = torch.nn.functional.conv2d(basis, layer.weight, padding=1).reshape(n, -1)
    return torch.linalg.matrix_norm(matrix, 2)


@pytest.mark.parametrize("shape", [(5,), (2, 4, 4)])
def test_lipschitz_correction_in_float64_bounds_every_spectral_norm(shape):
    torch.manual_seed(0)
    layer = Fm.IResNetLayer([shape], lipschitz_iterations=60, spectral_norm_max=0.7).double()
    with torch.no_grad():
        layer.layers[0].weight.mul_(20.0)  # far above the bound
        layer.layers[1].weight.mul_(1e-3)  # far below: must stay untouched
    small = layer.layers[1].weight.clone()
    layer.lipschitz_correction()
    assert all(sub.weight.dtype == DTYPE for sub in layer.layers)
    assert torch.equal(layer.layers[1].weight, small)
    # Power iteration bounds the norm from below and converges slowly for the clustered
    # singular values of convolutions: 60 iterations reach the bound to ~1e-4 here.
    norms = torch.stack([_operator_norm(sub, shape) for sub in layer.layers])
    assert (norms <= 0.7 * (1 + 1e-3)).all()
    assert norms[0] >= 0.7 * (1 - 1e-12)


def test_spectral_norm_estimate_of_a_known_matrix():
    layer = torch.nn.Linear(3, 3).double()
    with torch.no_grad():
        layer.weight.copy_(torch.diag(torch.tensor([0.5, -2.0, 1.0], dtype=DTYPE)))
    torch.testing.assert_close(spectral_norm_estimate(layer, _randn(4, 3), 60),
                               torch.tensor(2.0, dtype=DTYPE), atol=1e-12, rtol=0)


def test_iresnet_dims_in_stays_a_list_and_prebuilt_instances_work():
    layer = Fm.IResNetLayer([(4,)])
    assert layer.dims_in == [(4,)]
    seq = Ff.SequenceINN(4)
    seq.append(layer)
    inp = Ff.InputNode(4, name="x")
    node = Ff.Node(inp, Fm.IResNetLayer([(4,)]), name="iresnet")
    net = Ff.GraphINN([inp, node, Ff.OutputNode(node)])
    x = torch.randn(3, 4)
    assert seq(x)[0].shape == net(x)[0].shape == (3, 4)
    assert seq(x, jac=False)[0].shape == (3, 4)


def test_iresnet_accepts_unused_conditions_like_freia():
    inp, cond = Ff.InputNode(4, name="x"), Ff.ConditionNode(4, name="c")
    node = Ff.Node(inp, Fm.IResNetLayer, {"hutchinson_samples": 2}, conditions=[cond])
    net = Ff.GraphINN([inp, cond, node, Ff.OutputNode(node)])
    x, c = torch.randn(3, 4), torch.randn(3, 4)
    z, log_jac_det = net(x, c=[c])
    assert z.shape == (3, 4) and log_jac_det.shape == (3,)


def test_iresnet_probes_come_from_a_local_generator():
    layer = Fm.IResNetLayer([(4,)], hutchinson_samples=3)
    x = torch.randn(2, 4)
    layer([x])  # draws the layer's seed from the global RNG, once
    state = torch.get_rng_state()
    first = layer([x])[1]
    second = layer([x])[1]
    layer.lipschitz_correction()
    assert torch.equal(torch.get_rng_state(), state), "the global RNG was used"
    assert not torch.equal(first, second), "fresh probes on every call"


# -- InvAutoFC / InvAutoConv2D -------------------------------------------------------------------

def test_invauto_fc_reverse_uses_the_transposed_weight():
    torch.manual_seed(0)
    layer = Fm.InvAutoFC([(3,)], dims_out=5).double()
    x = _randn(4, 3)
    (z,), log_jac_det = layer([x], jac=False)
    assert z.shape == (4, 5) and torch.equal(log_jac_det, torch.zeros(4, dtype=DTYPE))
    torch.testing.assert_close(z, x @ layer.weights.T + layer.bias, atol=1e-15, rtol=0)
    (back,), _ = layer([z], rev=True, jac=False)
    torch.testing.assert_close(back, (z - layer.bias) @ layer.weights, atol=1e-15, rtol=0)
    with torch.no_grad():  # column-orthonormal weight: exact even with dims_out > C
        layer.weights.copy_(torch.linalg.qr(_randn(5, 3))[0])
    torch.testing.assert_close(layer([layer([x], jac=False)[0][0]], rev=True, jac=False)[0][0],
                               x, atol=1e-14, rtol=0)


def test_invauto_conv_reverse_is_the_transposed_convolution():
    torch.manual_seed(0)
    layer = Fm.InvAutoConv2D([(2, 5, 6)], dims_out=3, kernel_size=(3, 1), padding=(1, 0))
    layer = layer.double()
    x = _randn(2, 2, 5, 6)
    (z,), _ = layer([x], jac=False)
    assert z.shape == (2, 3, 5, 6) and layer.output_dims(layer.dims_in) == [(3, 5, 6)]
    weight = layer.conv2d.weight
    (back,), _ = layer([z], rev=True, jac=False)
    expected = torch.nn.functional.conv_transpose2d(z - layer.bias, weight, padding=(1, 0))
    torch.testing.assert_close(back, expected, atol=1e-15, rtol=0)
    shrinking = Fm.InvAutoConv2D([(2, 5, 6)], kernel_size=3, padding=0)
    assert shrinking.output_dims(shrinking.dims_in) == [(2, 3, 4)]
    (z,), _ = shrinking([x.float()], jac=False)
    assert shrinking([z], rev=True, jac=False)[0][0].shape == (2, 2, 5, 6)


@pytest.mark.parametrize("factory", [lambda: Fm.InvAutoFC([(3,)]),
                                     lambda: Fm.InvAutoConv2D([(2, 3, 3)])])
def test_invauto_warns_once_and_never_prints(factory, capsys):
    layer = factory()
    x = torch.randn(2, *layer.dims_in[0])
    with pytest.warns(UserWarning, match="tractable log-det"):
        layer([x])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        layer([x])
        layer([layer([x])[0][0]], rev=True)
    assert capsys.readouterr().out == ""


@pytest.mark.parametrize(("ours", "theirs_name", "shape"), [
    (Fm.InvAutoFC, "InvAutoFC", (4,)), (Fm.InvAutoConv2D, "InvAutoConv2D", (2, 4, 4))])
def test_invauto_matches_freia(ours, theirs_name, shape):
    freia = pytest.importorskip("FrEIA.modules")
    torch.manual_seed(5)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        theirs = getattr(freia, theirs_name)([shape])
    torch.manual_seed(5)
    mine = ours([shape])
    assert list(mine.state_dict()) == list(theirs.state_dict())
    for key, value in theirs.state_dict().items():
        assert torch.equal(mine.state_dict()[key], value)
    x = torch.randn(3, *shape)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        assert torch.equal(mine([x])[0][0], theirs([x])[0][0])
        assert torch.equal(mine([x], rev=True)[0][0], theirs([x], rev=True)[0][0])


# -- errors --------------------------------------------------------------------------------------

ERRORS = [
    (lambda: Fm.IResNetLayer([(4,)], spectral_norm_max=0.0), r"spectral_norm_max.*\(0, 1\]"),
    (lambda: Fm.IResNetLayer([(4,)], spectral_norm_max=1.5), "spectral_norm_max.*1.5"),
    (lambda: Fm.IResNetLayer([(4,)], hutchinson_samples=0), "hutchinson_samples.*>= 1"),
    (lambda: Fm.IResNetLayer([(4,)], n_internal_layers=-1), "n_internal_layers"),
    (lambda: Fm.IResNetLayer([(4,)], jacobian_iterations=2.5), "jacobian_iterations"),
    (lambda: Fm.IResNetLayer([(1, 2, 2, 2, 2)]), "one input of shape"),
    (lambda: Fm.IResNetLayer([(4,), (4,)]), "one input of shape"),
    (lambda: Fm.InvAutoFC([(2, 3, 3)]),
     r"InvAutoFC needs vector inputs, got dims_in=\[\(2, 3, 3\)\]"),
    (lambda: Fm.InvAutoFC([(3,)], [(2,)]), "no conditions"),
    (lambda: Fm.InvAutoFC([(3,)], dims_out=0), "dims_out"),
    (lambda: Fm.InvAutoConv2D([(3,)]), r"InvAutoConv2D needs image \(C, H, W\) inputs"),
    (lambda: Fm.InvAutoConv2D([(3, 4, 4)], dims_out=(3, 5, 5)), r"\(C_out, 4, 4\)"),
    (lambda: Fm.InvAutoConv2D([(3, 2, 2)], kernel_size=5, padding=0), "dims_out"),
    (lambda: Fm.InvAutoConv2D([(3, 4, 4)], kernel_size=(3, 3, 3)), "kernel_size"),
]


@pytest.mark.parametrize(("factory", "match"), ERRORS)
def test_errors(factory, match):
    with pytest.raises(ModuleArgumentError, match=match):
        factory()
