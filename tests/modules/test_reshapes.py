"""What the reshapes compute (channel orders, Haar kernels, orthonormality) and their errors."""

import math
import warnings

import pytest
import torch

import inn.framework as Ff
import inn.modules as Fm
from inn.errors import ModuleArgumentError

DTYPE = torch.float64


def _image(*shape, dtype=DTYPE, seed=0):
    return torch.randn(shape, generator=torch.Generator().manual_seed(seed), dtype=dtype)


def _forward(module, x, rev=False):
    (out,), log_jac_det = module([x], rev=rev)
    return out, log_jac_det


# -- i-RevNet ------------------------------------------------------------------------------------

def test_irevnet_default_order_is_channel_then_patch_pixel():
    x = torch.arange(2 * 4 * 6, dtype=DTYPE).reshape(1, 2, 4, 6)
    z, log_jac_det = _forward(Fm.IRevNetDownsampling([(2, 4, 6)]), x)
    assert z.shape == (1, 8, 2, 3)
    for i in range(2):
        for k, (dy, dx) in enumerate([(0, 0), (0, 1), (1, 0), (1, 1)]):
            assert torch.equal(z[:, 4 * i + k], x[:, i, dy::2, dx::2])
    assert torch.equal(log_jac_det, torch.zeros(1, dtype=DTYPE))
    # the smallest case written out: a1 b1 c1 d1 a2 b2 c2 d2
    patch = torch.tensor([[[[1.0, 2.0], [3.0, 4.0]], [[5.0, 6.0], [7.0, 8.0]]]])
    assert _forward(Fm.IRevNetDownsampling([(2, 2, 2)]), patch)[0].flatten().tolist() == [
        1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0]


def test_irevnet_legacy_order_is_patch_pixel_then_channel():
    x = torch.arange(3 * 2 * 4, dtype=DTYPE).reshape(1, 3, 2, 4)
    z, _ = _forward(Fm.IRevNetDownsampling([(3, 2, 4)], legacy_backend=True), x)
    for i in range(3):
        for k, (dy, dx) in enumerate([(0, 0), (0, 1), (1, 0), (1, 1)]):
            assert torch.equal(z[:, 3 * k + i], x[:, i, dy::2, dx::2])
    patch = torch.tensor([[[[1.0, 2.0], [3.0, 4.0]], [[5.0, 6.0], [7.0, 8.0]]]])
    legacy = Fm.IRevNetDownsampling([(2, 2, 2)], legacy_backend=True)
    assert _forward(legacy, patch)[0].flatten().tolist() == [1.0, 5.0, 2.0, 6.0, 3.0, 7.0, 4.0,
                                                             8.0]


@pytest.mark.parametrize("legacy", [False, True])
def test_irevnet_upsampling_inverts_downsampling_exactly(legacy):
    x = _image(4, 3, 6, 4)
    down = Fm.IRevNetDownsampling([(3, 6, 4)], legacy_backend=legacy)
    up = Fm.IRevNetUpsampling([(12, 3, 2)], legacy_backend=legacy)
    z, _ = _forward(down, x)
    assert up.dims_in == [(12, 3, 2)] and up.output_dims(up.dims_in) == [(3, 6, 4)]
    assert torch.equal(_forward(up, z)[0], x)
    assert torch.equal(_forward(down, z, rev=True)[0], x)
    assert torch.equal(_forward(up, x, rev=True)[0], z)


@pytest.mark.parametrize("legacy", [False, True])
def test_irevnet_matches_freia(legacy):
    freia = pytest.importorskip("FrEIA.modules")
    x = _image(2, 3, 4, 6, dtype=torch.float32)
    ours = Fm.IRevNetDownsampling([(3, 4, 6)], legacy_backend=legacy)
    theirs = freia.IRevNetDownsampling([(3, 4, 6)], legacy_backend=legacy)
    z, _ = _forward(ours, x)
    assert torch.equal(z, theirs([x])[0][0])
    assert torch.equal(_forward(ours, z, rev=True)[0], theirs([z], rev=True)[0][0])
    assert ours.state_dict().keys() == theirs.state_dict().keys()
    for key, value in theirs.state_dict().items():
        assert torch.equal(ours.state_dict()[key], value)


# -- Haar ----------------------------------------------------------------------------------------

HAAR_KERNELS = torch.tensor([[[1.0, 1.0], [1.0, 1.0]], [[1.0, -1.0], [1.0, -1.0]],
                             [[1.0, 1.0], [-1.0, -1.0]], [[1.0, -1.0], [-1.0, 1.0]]])


def test_haar_kernel_values_on_single_patches():
    x = _image(3, 2, 2, 2)
    for rebalance in [1.0, 0.5, -2.0]:
        z, _ = _forward(Fm.HaarDownsampling([(2, 2, 2)], rebalance=rebalance), x)
        for i in range(2):
            for k in range(4):
                expected = 0.5 * rebalance * (HAAR_KERNELS[k].to(DTYPE) * x[:, i]).sum((1, 2))
                torch.testing.assert_close(z[:, 4 * i + k, 0, 0], expected, atol=1e-15, rtol=0)
    weights = Fm.HaarDownsampling([(2, 2, 2)]).haar_weights
    assert torch.equal(weights, HAAR_KERNELS.reshape(4, 1, 2, 2).repeat(2, 1, 1, 1))


def test_haar_order_by_wavelet_groups_channels_by_wavelet():
    x = _image(2, 3, 4, 4)
    by_channel, _ = _forward(Fm.HaarDownsampling([(3, 4, 4)]), x)
    by_wavelet, _ = _forward(Fm.HaarDownsampling([(3, 4, 4)], order_by_wavelet=True), x)
    for i in range(3):
        for k in range(4):
            assert torch.equal(by_wavelet[:, 3 * k + i], by_channel[:, 4 * i + k])


@pytest.mark.parametrize("rebalance", [1.0, 0.5, -3.0])
@pytest.mark.parametrize("order_by_wavelet", [False, True])
def test_haar_is_scaled_orthonormal_with_log_det_n_log_rebalance(rebalance, order_by_wavelet):
    shape = (2, 2, 4)
    n = math.prod(shape)
    haar = Fm.HaarDownsampling([shape], order_by_wavelet=order_by_wavelet, rebalance=rebalance)
    basis = torch.eye(n, dtype=DTYPE).reshape(n, *shape)
    matrix, log_jac_det = _forward(haar, basis)
    matrix = matrix.reshape(n, n)
    torch.testing.assert_close(matrix @ matrix.T, rebalance**2 * torch.eye(n, dtype=DTYPE),
                               atol=1e-14, rtol=0)
    torch.testing.assert_close(log_jac_det, torch.full((n,), n * math.log(abs(rebalance)),
                                                       dtype=DTYPE), atol=1e-13, rtol=0)
    _, sign_logdet = torch.linalg.slogdet(matrix)
    torch.testing.assert_close(sign_logdet, log_jac_det[0], atol=1e-12, rtol=0)


@pytest.mark.parametrize("rebalance", [1.0, 0.3])
@pytest.mark.parametrize("order_by_wavelet", [False, True])
def test_haar_upsampling_inverts_downsampling(rebalance, order_by_wavelet):
    x = _image(3, 2, 6, 4)
    options = {"order_by_wavelet": order_by_wavelet, "rebalance": rebalance}
    down = Fm.HaarDownsampling([(2, 6, 4)], **options)
    up = Fm.HaarUpsampling([(8, 3, 2)], **options)
    z, log_jac_det = _forward(down, x)
    x_rec, log_jac_det_up = _forward(up, z)
    torch.testing.assert_close(x_rec, x, atol=1e-14, rtol=0)
    torch.testing.assert_close(log_jac_det_up, -log_jac_det, atol=1e-13, rtol=0)
    z_rec, _ = _forward(up, x, rev=True)
    torch.testing.assert_close(z_rec, z, atol=1e-14, rtol=0)


@pytest.mark.parametrize("order_by_wavelet", [False, True])
@pytest.mark.parametrize("rebalance", [1.0, 0.5])
def test_haar_matches_freia(order_by_wavelet, rebalance):
    freia = pytest.importorskip("FrEIA.modules")
    x = _image(2, 3, 4, 6, dtype=torch.float32)
    options = {"order_by_wavelet": order_by_wavelet, "rebalance": rebalance}
    ours, theirs = Fm.HaarDownsampling([(3, 4, 6)], **options), freia.HaarDownsampling(
        [(3, 4, 6)], **options)
    z, log_jac_det = _forward(ours, x)
    (z_theirs,), log_jac_det_theirs = theirs([x])
    torch.testing.assert_close(z, z_theirs, atol=1e-6, rtol=0)
    torch.testing.assert_close(log_jac_det, torch.full((2,), float(log_jac_det_theirs)),
                               atol=1e-4, rtol=1e-6)
    x_theirs = theirs([z.clone()], rev=True)[0][0]
    torch.testing.assert_close(_forward(ours, z, rev=True)[0], x_theirs, atol=1e-6, rtol=0)
    assert ours.state_dict().keys() == theirs.state_dict().keys()


def test_haar_never_modifies_the_callers_tensor():
    z = _image(2, 8, 2, 2)
    copy = z.clone()
    _forward(Fm.HaarDownsampling([(2, 4, 4)], rebalance=0.5), z, rev=True)
    _forward(Fm.HaarUpsampling([(8, 2, 2)], rebalance=0.5), z)
    assert torch.equal(z, copy)


# -- pre-built upsampling instances in containers (FrEIA stores the output shape) --------------

@pytest.mark.parametrize("up_cls", [Fm.HaarUpsampling, Fm.IRevNetUpsampling])
def test_prebuilt_upsampling_in_sequence_and_graph(up_cls):
    x = _image(3, 2, 4, 4)
    seq = Ff.SequenceINN(2, 4, 4)
    seq.append(Fm.HaarDownsampling)
    seq.append(up_cls([(8, 2, 2)]))
    assert seq.shapes == [(2, 4, 4), (8, 2, 2), (2, 4, 4)]
    out, _ = seq(x)
    assert out.shape == x.shape
    torch.testing.assert_close(seq(out, rev=True)[0], x, atol=1e-14, rtol=0)

    inp = Ff.InputNode(8, 2, 2, name="x")
    node = Ff.Node(inp, up_cls([(8, 2, 2)]), name="up")
    net = Ff.GraphINN([inp, node, Ff.OutputNode(node)])
    z = _image(3, 8, 2, 2)
    assert net(z)[0].shape == (3, 2, 4, 4)
    torch.testing.assert_close(net(net(z)[0], rev=True)[0], z, atol=1e-14, rtol=0)


# -- Flatten and Reshape -------------------------------------------------------------------------

def test_flatten_is_row_major_reshape_and_accepts_non_contiguous_input():
    x = _image(3, 4, 5).transpose(1, 2)  # (3, 5, 4), not contiguous
    flatten = Fm.Flatten([(5, 4)])
    z, log_jac_det = _forward(flatten, x)
    assert torch.equal(z, x.reshape(3, -1))
    assert torch.equal(log_jac_det, torch.zeros(3, dtype=DTYPE))
    assert flatten.output_dims(flatten.dims_in) == [(20,)]
    assert torch.equal(_forward(flatten, z, rev=True)[0], x)


def test_reshape_to_output_dims_and_back():
    x = _image(2, 2, 3, 4)
    reshape = Fm.Reshape([(2, 3, 4)], output_dims=(6, 4))
    z, _ = _forward(reshape, x)
    assert torch.equal(z, x.reshape(2, 6, 4))
    assert torch.equal(_forward(reshape, z, rev=True)[0], x)
    assert Fm.Reshape([(6, 2)], output_dims=12).output_dims([(6, 2)]) == [(12,)]


def test_reshape_target_dim_is_a_deprecated_alias():
    with pytest.warns(DeprecationWarning, match="target_dim"):
        reshape = Fm.Reshape([(12,)], target_dim=(3, 4))
    assert reshape.output_dims(reshape.dims_in) == [(3, 4)]
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        Fm.Reshape([(12,)], output_dims=(3, 4))


# -- errors --------------------------------------------------------------------------------------

ERRORS = [
    (lambda: Fm.Reshape([(12,)], output_dims=(5, 2)), "output_dims=.*10 elements.*12"),
    (lambda: Fm.Reshape([(12,)]), "output_dims is required"),
    (lambda: Fm.Reshape([(12,)], output_dims=(0, 12)), "positive"),
    pytest.param(lambda: Fm.Reshape([(12,)], output_dims=(3, 4), target_dim=(4, 3)), "disagree",
                 marks=pytest.mark.filterwarnings("ignore::DeprecationWarning")),
    (lambda: Fm.HaarDownsampling([(3, 5, 4)]), r"even H and W, got \[\(3, 5, 4\)\]"),
    (lambda: Fm.HaarDownsampling([(3, 4, 7)]), "even H and W"),
    (lambda: Fm.IRevNetDownsampling([(3, 3, 4)]), r"IRevNetDownsampling.*even H and W"),
    (lambda: Fm.HaarDownsampling([(3, 4, 4)], rebalance=0), "rebalance.*non-zero.*got 0"),
    (lambda: Fm.HaarUpsampling([(8, 2, 2)], rebalance=0.0), "rebalance"),
    (lambda: Fm.HaarUpsampling([(6, 2, 2)]), "C divisible by 4"),
    (lambda: Fm.IRevNetUpsampling([(5, 2, 2)]), "C divisible by 4"),
    (lambda: Fm.HaarDownsampling([(8,)]), r"\(C, H, W\)"),
    (lambda: Fm.IRevNetDownsampling([(3, 4, 4), (3, 4, 4)]), r"\(C, H, W\)"),
    (lambda: Fm.HaarDownsampling([(3, 4, 4)], [(2,)]), "no conditions"),
    (lambda: Fm.Flatten([(3,), (4,)]), "one input"),
    (lambda: Fm.Flatten([(3,)], [(2,)]), "no conditions"),
]


@pytest.mark.parametrize(("factory", "match"), ERRORS)
def test_errors(factory, match):
    with pytest.raises(ModuleArgumentError, match=match):
        factory()


def test_errors_are_value_errors_like_freias():
    with pytest.raises(ValueError, match="rebalance"):
        Fm.HaarDownsampling([(3, 4, 4)], rebalance=0)
