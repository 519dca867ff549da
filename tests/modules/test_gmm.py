"""What GaussianMixtureModel computes in its three index modes, its helpers, containers, errors."""

import pytest
import torch

import inn
import inn.framework as Ff
import inn.modules as Fm
from inn.errors import ConditionError, InputCountError, ModuleArgumentError, ShapeError

GMM = Fm.GaussianMixtureModel
DTYPE = torch.float64
B, K, D = 6, 3, 4
T = D * (D + 1) // 2

def _gmm():
    return GMM([(D,)], [(K,), (K, D), (K, T), (0,)])


@pytest.fixture
def params():
    generator = torch.Generator().manual_seed(11)
    w = GMM.normalize_weights(torch.randn(B, K, generator=generator, dtype=DTYPE))
    mu = torch.randn(B, K, D, generator=generator, dtype=DTYPE)
    entries = 0.5 * torch.randn(B, K, T, generator=generator, dtype=DTYPE)
    x = torch.randn(B, D, generator=generator, dtype=DTYPE)
    index = torch.randint(0, K, (B,), generator=generator)
    return x, w, mu, entries, index


def _factor(entries):
    """The upper-triangular factor of one entry vector, filled explicitly row by row."""
    u = torch.zeros(D, D, dtype=entries.dtype)
    position = D
    for row in range(D):
        u[row, row] = torch.exp(entries[row])
        for col in range(row + 1, D):
            u[row, col] = entries[position]
            position += 1
    return u


def test_cholesky_entries_fill_the_diagonal_then_the_upper_triangle_by_rows():
    gmm = GMM([(3,)], [(1,), (1, 3), (1, 6), (0,)])
    entries = torch.tensor([[[0.0, 1.0, 2.0, 3.0, 4.0, 5.0]]], dtype=DTYPE)
    x = torch.tensor([[1.0, 1.0, 1.0]], dtype=DTYPE)
    (z,), log_jac_det = gmm([x], c=[torch.ones(1, 1), torch.zeros(1, 1, 3), entries,
                                     torch.tensor([0])])
    u = torch.tensor([[1.0, 3.0, 4.0], [0.0, torch.e, 5.0], [0.0, 0.0, torch.e**2]], dtype=DTYPE)
    torch.testing.assert_close(z, (u @ x[0]).unsqueeze(0), atol=1e-14, rtol=0)
    torch.testing.assert_close(log_jac_det, torch.tensor([3.0], dtype=DTYPE), atol=0, rtol=0)


def test_fixed_components_whiten_with_the_chosen_component(params):
    x, w, mu, entries, index = params
    gmm = _gmm()
    (z,), log_jac_det = gmm([x], c=[w, mu, entries, index])
    for b in range(B):
        k = int(index[b])
        u = _factor(entries[b, k])
        torch.testing.assert_close(z[b], u @ (x[b] - mu[b, k]), atol=1e-13, rtol=0)
        torch.testing.assert_close(log_jac_det[b], torch.log(torch.diagonal(u)).sum(),
                                   atol=1e-13, rtol=0)
    (x_rec,), log_jac_det_rev = gmm([z], c=[w, mu, entries, index], rev=True)
    torch.testing.assert_close(x_rec, x, atol=1e-12, rtol=0)
    torch.testing.assert_close(log_jac_det_rev, -log_jac_det, atol=0, rtol=0)


def test_index_tensors_of_any_integer_dtype_and_shape_b1(params):
    x, w, mu, entries, index = params
    gmm = _gmm()
    (z,), _ = gmm([x], c=[w, mu, entries, index])
    for variant in (index.int(), index.unsqueeze(1), index.to(torch.uint8)):
        (z2,), _ = gmm([x], c=[w, mu, entries, variant])
        assert torch.equal(z, z2)


def test_all_components_mode(params):
    x, w, mu, entries, _ = params
    gmm = _gmm()
    (z,), log_jac_det = gmm([x], c=[w, mu, entries, None])
    assert z.shape == (B, K, D) and log_jac_det.shape == (B, K)
    for k in range(K):
        (z_k,), ld_k = gmm([x], c=[w, mu, entries, torch.full((B,), k)])
        torch.testing.assert_close(z[:, k], z_k, atol=1e-13, rtol=0)
        torch.testing.assert_close(log_jac_det[:, k], ld_k, atol=0, rtol=0)
    (z_same,), _ = gmm([x.unsqueeze(1).expand(B, K, D)], c=[w, mu, entries, None])
    assert torch.equal(z_same, z)
    (x_rec,), log_jac_det_rev = gmm([z], c=[w, mu, entries, None], rev=True)
    torch.testing.assert_close(x_rec, x.unsqueeze(1).expand(B, K, D), atol=1e-12, rtol=0)
    torch.testing.assert_close(log_jac_det_rev, -log_jac_det, atol=0, rtol=0)
    # One code for every component, in reverse: (B, D) -> (B, K, D).
    (samples,), _ = gmm([z[:, 0]], c=[w, mu, entries, None], rev=True)
    assert samples.shape == (B, K, D)
    torch.testing.assert_close(samples[:, 0], x, atol=1e-12, rtol=0)


def test_seed_mode_picks_components_reproducibly(params):
    x, w, mu, entries, _ = params
    gmm = _gmm()
    picked = GMM.pick_mixture_component(w, seed=12345)
    (z,), log_jac_det = gmm([x], c=[w, mu, entries, 12345])
    (z_idx,), ld_idx = gmm([x], c=[w, mu, entries, picked])
    assert torch.equal(z, z_idx) and torch.equal(log_jac_det, ld_idx)
    (x_rec,), _ = gmm([z], c=[w, mu, entries, 12345], rev=True)
    torch.testing.assert_close(x_rec, x, atol=1e-12, rtol=0)


def test_pick_mixture_component_is_deterministic_and_local():
    w = GMM.normalize_weights(torch.randn(200, 4, dtype=DTYPE))
    state = torch.get_rng_state()
    first = GMM.pick_mixture_component(w, seed=3)
    assert torch.equal(state, torch.get_rng_state())
    assert torch.equal(first, GMM.pick_mixture_component(w, seed=3))
    assert not torch.equal(first, GMM.pick_mixture_component(w, seed=4))
    assert first.shape == (200,) and first.dtype == torch.int32
    assert int(first.min()) >= 0 and int(first.max()) <= 3
    one_hot = torch.eye(4, dtype=DTYPE)[torch.tensor([2, 0, 3, 1, 1])]
    assert GMM.pick_mixture_component(one_hot, seed=0).tolist() == [2, 0, 3, 1, 1]
    torch.manual_seed(8)
    unseeded = GMM.pick_mixture_component(w)
    torch.manual_seed(8)
    assert torch.equal(unseeded, GMM.pick_mixture_component(w))


def test_pick_mixture_component_follows_cumulative_weights():
    w = torch.tensor([[0.2, 0.3, 0.5]], dtype=DTYPE).expand(4000, 3)
    counts = torch.bincount(GMM.pick_mixture_component(w, seed=1).long(), minlength=3)
    torch.testing.assert_close(counts.double() / 4000.0, w[0], atol=0.03, rtol=0)


def test_pick_never_leaves_the_range_when_weights_sum_below_one():
    w = torch.full((1000, 2), 0.25, dtype=DTYPE)  # cumulative weights end at 0.5
    assert int(GMM.pick_mixture_component(w, seed=0).max()) == 1


def test_normalize_weights_and_nll_helpers_match_their_formulas(params):
    x, w_raw, mu, entries, _ = params
    w = GMM.normalize_weights(w_raw)
    torch.testing.assert_close(w, torch.softmax(w_raw, dim=-1), atol=1e-15, rtol=0)
    (z,), log_jac_det = _gmm()([x], c=[w, mu, entries, None])
    direct = -((-0.5 * (z**2).sum(-1) + log_jac_det).exp() * w).sum(-1).log()
    torch.testing.assert_close(GMM.nll_loss(w, z, log_jac_det), direct, atol=1e-12, rtol=0)
    bound = -(w.log() - 0.5 * (z**2).sum(-1) + log_jac_det).sum(-1)
    torch.testing.assert_close(GMM.nll_upper_bound(w, z, log_jac_det), bound, atol=1e-12,
                               rtol=0)


def test_nll_loss_does_not_underflow_far_from_the_means():
    w = torch.tensor([[0.5, 0.5]], dtype=DTYPE)
    z = torch.full((1, 2, 3), 30.0, dtype=DTYPE)  # exp(-1350) underflows to 0
    log_jac_det = torch.tensor([[0.0, 1.0]], dtype=DTYPE)
    expected = 1350.0 - torch.log(0.5 * (1 + torch.exp(torch.tensor(1.0, dtype=DTYPE))))
    torch.testing.assert_close(GMM.nll_loss(w, z, log_jac_det), expected.reshape(1),
                               atol=1e-12, rtol=0)


def test_gradients_reach_mu_u_and_the_input(params):
    x, w, mu, entries, index = params
    x, mu, entries = (t.clone().requires_grad_() for t in (x, mu, entries))
    (z,), log_jac_det = _gmm()([x], c=[w, mu, entries, None])
    GMM.nll_loss(w, z, log_jac_det).sum().backward()
    for t in (x, mu, entries):
        assert t.grad is not None and t.grad.abs().sum() > 0


def test_matches_freia(params):
    freia = pytest.importorskip("FrEIA.modules")
    # FrEIA 0.2 builds its factors in float32 only, so compare in float32.
    x, w, mu, entries, index = (t.float() if t.is_floating_point() else t for t in params)
    theirs = freia.GaussianMixtureModel([(D,)], [(K,), (K, D), (K, T), (0,)])
    ours = _gmm()
    assert list(ours.state_dict()) == list(theirs.state_dict()) == []
    for i in (index, 99, None):
        z_a, ld_a = theirs([x], c=[w, mu, entries, i])
        z_b, ld_b = ours([x], c=[w, mu, entries, i])
        torch.testing.assert_close(z_b[0], z_a[0], atol=1e-6, rtol=1e-6)
        torch.testing.assert_close(ld_b, ld_a, atol=1e-6, rtol=1e-6)
        x_a, _ = theirs(z_a, c=[w, mu, entries, i], rev=True)
        x_b, _ = ours(z_b, c=[w, mu, entries, i], rev=True)
        torch.testing.assert_close(x_b[0], x_a[0], atol=1e-4, rtol=1e-4)
    assert torch.equal(GMM.pick_mixture_component(w, 5),
                       freia.GaussianMixtureModel.pick_mixture_component(w, 5))


# -- inside containers ---------------------------------------------------------------------------

def _graph(index_shape=(0,)):
    """FrEIA's own GMM test graph."""
    x = Ff.InputNode(D, name="x")
    conds = [Ff.ConditionNode(K, name="w"), Ff.ConditionNode(K, D, name="mu"),
             Ff.ConditionNode(K, T, name="U"), Ff.ConditionNode(*index_shape, name="i")]
    gmm = Ff.Node(x, GMM, {}, conditions=conds, name="gmm")
    return Ff.GraphINN([x, *conds, gmm, Ff.OutputNode(gmm, name="z")])


def _sequence(index_shape=(0,)):
    seq = Ff.SequenceINN(D)
    seq.append(GMM, cond=[0, 1, 2, 3], cond_shape=[(K,), (K, D), (K, T), index_shape])
    return seq


def _check_round_trip(net, params, index, reverse_shape=None):
    x, w, mu, entries, _ = params
    c = [w, mu, entries, index]
    (z_plain,), ld_plain = _gmm()([x], c=c)
    z, log_jac_det = net(x, c=c)
    assert torch.equal(z, z_plain) and torch.equal(log_jac_det, ld_plain)
    x_rec, log_jac_det_rev = net(z, c=c, rev=True)
    expected = x if reverse_shape is None else x.unsqueeze(1).expand(reverse_shape)
    torch.testing.assert_close(x_rec, expected, atol=1e-12, rtol=0)
    torch.testing.assert_close(log_jac_det_rev, -log_jac_det, atol=0, rtol=0)


@pytest.mark.parametrize("container", [_graph, _sequence])
def test_containers_with_an_int_seed(container, params):
    _check_round_trip(container(), params, 12345)


@pytest.mark.parametrize("container", [_graph, _sequence])
def test_containers_with_an_index_tensor_for_condition_node_of_shape_one(container, params):
    _check_round_trip(container((1,)), params, params[4])


@pytest.mark.parametrize("container", [_graph, _sequence])
def test_containers_all_components_forward_returns_b_k_log_dets(container, params):
    x, w, mu, entries, _ = params
    z, log_jac_det = container()(x, c=[w, mu, entries, None])
    (z_plain,), ld_plain = _gmm()([x], c=[w, mu, entries, None])
    assert torch.equal(z, z_plain) and torch.equal(log_jac_det, ld_plain)
    assert log_jac_det.shape == (B, K)


@pytest.mark.parametrize("container", [_graph, _sequence])
@pytest.mark.parametrize("index", ["tensor", 7, None])
def test_containers_pass_every_index_form_through_without_validation(container, index, params):
    index = params[4] if index == "tensor" else index
    with inn.set_validation(False):
        _check_round_trip(container(), params, index, None if index is not None else (B, K, D))


@pytest.mark.parametrize("container", [_graph, _sequence])
def test_containers_with_an_index_tensor_for_condition_node_zero(container, params):
    _check_round_trip(container(), params, params[4])


@pytest.mark.parametrize("container", [_graph, _sequence])
def test_containers_all_components_round_trip(container, params):
    _check_round_trip(container(), params, None, reverse_shape=(B, K, D))


# -- errors --------------------------------------------------------------------------------------

ARGUMENT_ERRORS = [
    (lambda: GMM([(D,)], [(K,), (K, D), (K, T)]),
     r"GaussianMixtureModel takes four conditions \[w \(K,\), mu \(K, D\), U \(K, D\(D\+1\)/2\), "
     r"i\], got dims_c=\[\(3,\), \(3, 4\), \(3, 10\)\]"),
    (lambda: GMM([(D, 2)], [(K,), (K, D), (K, T), (0,)]),
     r"GaussianMixtureModel takes one vector input \(D,\), got dims_in=\[\(4, 2\)\]"),
    (lambda: GMM([(D,)], [(K,), (K, D + 1), (K, T), (0,)]),
     r"GaussianMixtureModel: condition 1 \(mu\) must have shape \(3, 4\) .* got \(3, 5\)"),
    (lambda: GMM([(D,)], [(K,), (K, D), (K, D * D), (0,)]),
     r"GaussianMixtureModel: condition 2 \(U\) must have shape \(3, 10\) .* got \(3, 16\)"),
]


@pytest.mark.parametrize(("factory", "message"), ARGUMENT_ERRORS)
def test_bad_arguments_raise(factory, message):
    with pytest.raises(ModuleArgumentError, match=message):
        factory()


def _call_errors(params):
    x, w, mu, entries, index = params
    return [
        ([x, x], [w, mu, entries, index], InputCountError,
         r"GaussianMixtureModel: expected 1 input, got 2"),
        ([x], [w, mu, entries], ConditionError,
         r"GaussianMixtureModel: expected 4 conditions \[w, mu, U, i\], got 3"),
        ([x], [w, mu, entries, index.double()], ConditionError,
         r"GaussianMixtureModel condition 3 \(i\): expected a \(B,\) integer tensor"),
        ([x], [w, mu, entries, 2.5], ConditionError, r"condition 3 \(i\).* got 2.5"),
        ([x], [w, mu, entries, True], ConditionError, r"condition 3 \(i\).* got True"),
        ([x], [w, mu, entries, index[:3]], ShapeError,
         r"GaussianMixtureModel condition 3 \(i\): expected component indices of shape \(6,\), "
         r"got \(3,\)"),
        ([x.unsqueeze(1).expand(B, K, D)], [w, mu, entries, index], ShapeError,
         r"GaussianMixtureModel input 0: expected shape \(B, 4\), got \(6, 3, 4\)"),
        ([x[:, :2]], [w, mu, entries, None], ShapeError,
         r"GaussianMixtureModel input 0: expected shape \(B, 4\), got \(6, 2\)"),
        ([x], [w[:2], mu, entries, index], ShapeError,
         r"GaussianMixtureModel condition 0: batch size 2 does not match"),
        ([x], [w, mu[:, :, :2], entries, None], ShapeError,
         r"GaussianMixtureModel condition 1: expected shape \(B, 3, 4\), got \(6, 3, 2\)"),
    ]


@pytest.mark.parametrize("case", range(10))
def test_bad_calls_raise(case, params):
    x, c, error, message = _call_errors(params)[case]
    with pytest.raises(error, match=message):
        _gmm()(x, c=c)
