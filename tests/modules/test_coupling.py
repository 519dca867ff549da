"""What the coupling blocks compute: clamps, zero log-dets, parts, masks, AllInOne, errors."""

import math
import warnings

import pytest
import torch
import torch.nn as nn
from cases import conv_subnet, mlp_subnet, perturbed

import inn.modules as Fm
from inn.errors import ModuleArgumentError
from inn.modules.coupling import checkerboard_mask
from inn.modules.coupling.all_in_one_functional import haar_rotation, orthogonality_error
from inn.transformers import Additive, Affine

DTYPE = torch.float64
HUGE = 1e8


class Constant(nn.Module):
    """A subnet predicting the raw log-scales ``value`` and the shifts 0.5, ignoring its input."""

    def __init__(self, c_in, c_out, value=HUGE):
        super().__init__()
        self.c_out, self.value = c_out, value

    def forward(self, x):
        out = x.new_full((x.shape[0], self.c_out, *x.shape[2:]), 0.5)
        out[:, :self.c_out // 2] = self.value  # parameter-major: [raw log-scales | shifts]
        return out


def _round_trip(block, x, c=None):
    (z,), log_jac_det = block([x], c=c)
    (x_rec,), log_jac_det_rev = block([z], c=c, rev=True)
    return z, log_jac_det, x_rec, log_jac_det_rev


# -- clamps -----------------------------------------------------------------------------------

@pytest.mark.parametrize("sign", [1.0, -1.0])
@pytest.mark.parametrize(("factory", "bound"), [
    (lambda v: Fm.AffineCouplingOneSided([(6,)], subnet_constructor=lambda i, o: Constant(i, o, v),
                                         clamp=1.5), 1.5 * 3),
    (lambda v: Fm.AffineCouplingOneSided([(6,)], subnet_constructor=lambda i, o: Constant(i, o, v),
                                         clamp=1.5, clamp_activation="SIGMOID"), 1.5 * 3),
    (lambda v: Fm.ConditionalAffineTransform([(4,)], [(2,)], clamp=0.5, clamp_activation="TANH",
                                             subnet_constructor=lambda i, o: Constant(i, o, v)),
     0.5 * 4),
    (lambda v: Fm.CouplingBlock([(5,)], transformer=Affine(clamp=2.0), split_len=2,
                                subnet_constructor=lambda i, o: Constant(i, o, v)), 2.0 * 3),
    (lambda v: Fm.AllInOneBlock([(5,)], subnet_constructor=lambda i, o: Constant(i, o, v),
                                affine_clamping=1.0, global_affine_type="EXP"), 1.0 * 2),
    (lambda v: Fm.AllInOneBlock([(5,)], subnet_constructor=lambda i, o: Constant(i, o, v),
                                affine_clamping=2.5, global_affine_type="EXP",
                                legacy_clamp=True), 2.5 * 2),
])
def test_clamped_log_scale_stays_within_the_clamp_for_huge_subnet_outputs(factory, bound, sign):
    block = factory(sign * HUGE).double()
    x = torch.randn(3, block.dims_in[0][0], dtype=DTYPE)
    c = [torch.randn(3, *s, dtype=DTYPE) for s in block.dims_c] or None
    z, log_jac_det, x_rec, _ = _round_trip(block, x, c)
    assert torch.isfinite(z).all()
    assert (log_jac_det.abs() <= bound).all()
    assert (log_jac_det.abs() > 0.9 * bound).all()  # saturated, not trivially small
    torch.testing.assert_close(x_rec, x, atol=1e-9, rtol=0)


def test_affine_transformer_log_scale_is_bounded_and_centred():
    raw = torch.tensor([[-HUGE, 0.0, HUGE, 3.0]], dtype=DTYPE)
    for activation in ["ATAN", "TANH", "SIGMOID"]:
        s = Affine(clamp=2.0, clamp_activation=activation).log_scale(raw)
        assert (s.abs() <= 2.0).all() and s[0, 1] == 0
    centred = Affine(clamp=2.0, center_log_scale="channel").log_scale(raw)
    torch.testing.assert_close(centred.sum(1), torch.zeros(1, dtype=DTYPE), atol=1e-15, rtol=0)


@pytest.mark.parametrize("legacy", [False, True])
def test_all_in_one_clamp_formula(legacy):
    # small raw outputs a: s ≈ a with FrEIA's current α·tanh(a/α); s ≈ α·a with FrEIA 0.2's
    raw = 1e-3
    block = Fm.AllInOneBlock([(4,)], subnet_constructor=lambda i, o: Constant(i, o, raw / 0.1),
                             affine_clamping=3.0, global_affine_type="EXP",
                             legacy_clamp=legacy).double()
    _, log_jac_det = block([torch.randn(2, 4, dtype=DTYPE)])
    per_unit = 3.0 * math.tanh(raw) if legacy else 3.0 * math.tanh(raw / 3.0)
    torch.testing.assert_close(log_jac_det, torch.full((2,), 2 * per_unit, dtype=DTYPE),
                               atol=1e-15, rtol=1e-12)


def test_atan_clamp_keeps_freias_constant():
    raw = torch.linspace(-5, 5, 11, dtype=DTYPE).reshape(1, 11)
    expected = 2.0 * (0.636 * torch.atan(raw))
    torch.testing.assert_close(Affine(clamp=2.0).log_scale(raw), expected, atol=1e-15, rtol=0)


# -- exact zero log-dets ----------------------------------------------------------------------

@pytest.mark.parametrize("factory", [
    lambda: Fm.NICECouplingBlock([(6,)], subnet_constructor=mlp_subnet),
    lambda: Fm.GINCouplingBlock([(6,)], [(2,)], subnet_constructor=mlp_subnet),
    lambda: Fm.GINCouplingBlock([(3, 4, 4)], subnet_constructor=conv_subnet),
    lambda: Fm.CouplingBlock([(6,)], transformer=Additive(), subnet_constructor=mlp_subnet,
                             two_sided=True),
    lambda: Fm.CouplingBlock([(3, 4, 4)], transformer=Additive(), subnet_constructor=conv_subnet,
                             mask=checkerboard_mask((3, 4, 4))),
    lambda: Fm.AllInOneBlock([(6,)], subnet_constructor=mlp_subnet, gin_block=True),
    lambda: Fm.AllInOneBlock([(3, 4, 4)], [(2, 4, 4)], subnet_constructor=conv_subnet,
                             gin_block=True, permute_soft=True),
])
def test_volume_preserving_blocks_return_exact_zero_log_dets(factory):
    block = perturbed(factory().double())
    x = torch.randn(4, *block.dims_in[0], dtype=DTYPE)
    c = [torch.randn(4, *s, dtype=DTYPE) for s in block.dims_c] or None
    z, log_jac_det, x_rec, log_jac_det_rev = _round_trip(block, x, c)
    assert not torch.allclose(z, x)
    assert torch.equal(log_jac_det, torch.zeros(4, dtype=DTYPE))
    assert torch.equal(log_jac_det_rev, torch.zeros(4, dtype=DTYPE))
    torch.testing.assert_close(x_rec, x, atol=1e-9, rtol=0)


def test_gin_log_scales_have_zero_channel_mean_per_position():
    block = perturbed(Fm.GINCouplingBlock([(4, 3, 3)], subnet_constructor=conv_subnet).double())
    x = torch.randn(2, 4, 3, 3, dtype=DTYPE)
    (z,), _ = block([x])
    # second step: x2 -> y2 = x2 * exp(s1) + t1 with s1 from y1; recover s1 by two probes
    y1 = z[:, :2]
    a = block.subnet1(y1)
    s = block.transformer.log_scale(a[:, :2])
    torch.testing.assert_close(s.sum(1), torch.zeros(2, 3, 3, dtype=DTYPE), atol=1e-14, rtol=0)
    assert s.abs().max() > 1e-3


def test_all_in_one_gin_has_no_global_scale_parameter():
    block = Fm.AllInOneBlock([(4,)], subnet_constructor=mlp_subnet, gin_block=True)
    names = [name for name, _ in block.named_parameters()]
    assert "global_scale" not in names and "global_offset" in names
    assert "global_scale" not in block.state_dict()


# -- parts, masks and the TFP knobs -----------------------------------------------------------

@pytest.mark.parametrize(("factory", "passive"), [
    (lambda: Fm.AffineCouplingOneSided([(6,)], [(2,)], subnet_constructor=mlp_subnet), [0, 1, 2]),
    (lambda: Fm.AffineCouplingOneSided([(5, 3, 3)], subnet_constructor=conv_subnet, split_len=3),
     [0, 1, 2]),
    (lambda: Fm.CouplingBlock([(6,)], transformer=Affine(), subnet_constructor=mlp_subnet,
                              num_masked=-2), [4, 5]),
    (lambda: Fm.CouplingBlock([(5,)], transformer=Affine(), subnet_constructor=mlp_subnet,
                              fraction_masked=-0.5), [3, 4]),  # int(-2.5) = -2
    (lambda: Fm.CouplingBlock([(7,)], transformer=Affine(), subnet_constructor=mlp_subnet,
                              fraction_masked=0.5), [0, 1, 2]),
    (lambda: Fm.CouplingBlock([(6,)], transformer=Affine(), subnet_constructor=mlp_subnet,
                              mask=torch.tensor([False, True, False, False, True, True])),
     [1, 4, 5]),
])
def test_one_sided_blocks_pass_the_passive_part_through_unchanged(factory, passive):
    block = perturbed(factory().double())
    x = torch.randn(4, *block.dims_in[0], dtype=DTYPE)
    c = [torch.randn(4, *s, dtype=DTYPE) for s in block.dims_c] or None
    (z,), _ = block([x], c=c)
    active = [i for i in range(x.shape[1]) if i not in passive]
    assert torch.equal(z[:, passive], x[:, passive])
    assert not torch.isclose(z[:, active], x[:, active]).any()


def test_channel_mask_equals_the_permuted_contiguous_split():
    mask = torch.tensor([False, True, False, False, True, True])
    masked = perturbed(Fm.CouplingBlock([(6,)], [(2,)], transformer=Affine(), two_sided=True,
                                       subnet_constructor=mlp_subnet, mask=mask).double())
    plain = Fm.CouplingBlock([(6,)], [(2,)], transformer=Affine(), two_sided=True,
                             subnet_constructor=mlp_subnet, split_len=3).double()
    plain.load_state_dict({k: v for k, v in masked.state_dict().items()
                           if k.startswith("subnet")})
    order = torch.tensor([1, 4, 5, 0, 2, 3])
    x, c = torch.randn(4, 6, dtype=DTYPE), torch.randn(4, 2, dtype=DTYPE)
    (z,), log_jac_det = masked([x], c=[c])
    (z_plain,), log_jac_det_plain = plain([x[:, order]], c=[c])
    assert torch.equal(z[:, order], z_plain)
    assert torch.equal(log_jac_det, log_jac_det_plain)


def test_two_sided_coupling_block_reproduces_glow():
    glow = perturbed(Fm.GLOWCouplingBlock([(5,)], [(2,)], subnet_constructor=mlp_subnet).double())
    block = Fm.CouplingBlock([(5,)], [(2,)], transformer=Affine(), subnet_constructor=mlp_subnet,
                             num_masked=-3, two_sided=True).double()
    renamed = {k.replace("subnet2", "subnet").replace("subnet1", "subnet2"): v
               for k, v in glow.state_dict().items()}
    block.load_state_dict(renamed)
    x, c = torch.randn(4, 5, dtype=DTYPE), torch.randn(4, 2, dtype=DTYPE)
    for rev in (False, True):
        (a,), ld_a = glow([x], c=[c], rev=rev)
        (b,), ld_b = block([x], c=[c], rev=rev)
        assert torch.equal(a, b) and torch.equal(ld_a, ld_b)


def test_checkerboard_transforms_and_counts_only_unmasked_elements():
    mask = checkerboard_mask((2, 4, 4))
    block = perturbed(Fm.CouplingBlock([(2, 4, 4)], [(1, 4, 4)], transformer=Affine(),
                                      subnet_constructor=conv_subnet, mask=mask).double())
    x, c = torch.randn(3, 2, 4, 4, dtype=DTYPE), torch.randn(3, 1, 4, 4, dtype=DTYPE)
    (z,), log_jac_det = block([x], c=[c])
    assert torch.equal(z[:, mask], x[:, mask])
    # the subnet sees the masked input and predicts 2·C parameter channels for every position
    params = block.subnet(torch.cat([x * mask, c], dim=1)).unflatten(1, (2, 2))
    s = block.transformer.log_scale(params[:, 0])
    expected = x * torch.exp(s) + params[:, 1]
    torch.testing.assert_close(z[:, ~mask], expected[:, ~mask], atol=1e-13, rtol=0)
    torch.testing.assert_close(log_jac_det, (s * ~mask).flatten(1).sum(1), atol=1e-13, rtol=0)


def test_checkerboard_mask_alternates():
    mask = checkerboard_mask((2, 3, 3), parity=1)
    assert mask.shape == (2, 3, 3) and mask.dtype == torch.bool
    assert not mask[0, 0, 0] and mask[0, 0, 1] and mask[1, 1, 0] and not mask[1, 1, 1]


def test_bijector_fn_receives_the_passive_part_and_conditions():
    calls = []

    def bijector_fn(passive, c):
        calls.append((tuple(passive.shape), [tuple(t.shape) for t in c]))
        return Affine(clamp=1.0)

    block = Fm.CouplingBlock([(6,)], [(2,)], transformer=bijector_fn,
                             subnet_constructor=mlp_subnet, split_len=4, two_sided=True).double()
    reference = Fm.CouplingBlock([(6,)], [(2,)], transformer=Affine(clamp=1.0),
                                 subnet_constructor=mlp_subnet, split_len=4,
                                 two_sided=True).double()
    reference.load_state_dict(block.state_dict())
    calls.clear()
    x, c = torch.randn(3, 6, dtype=DTYPE), torch.randn(3, 2, dtype=DTYPE)
    (z,), log_jac_det = block([x], c=[c])
    assert calls == [((3, 4), [(3, 2)]), ((3, 2), [(3, 2)])]
    (z_ref,), log_jac_det_ref = reference([x], c=[c])
    assert torch.equal(z, z_ref) and torch.equal(log_jac_det, log_jac_det_ref)


@pytest.mark.parametrize("factory", [
    lambda: Fm.CouplingBlock([(6,)], [(2,)], transformer=Affine(), two_sided=True,
                             subnet_constructor=mlp_subnet, init_identity=True),
    lambda: Fm.CouplingBlock([(6,)], transformer=Additive, subnet_constructor=mlp_subnet,
                             num_masked=-1, init_identity=True),
    lambda: Fm.CouplingBlock([(3, 4, 4)], transformer=Affine(clamp=None),
                             subnet_constructor=conv_subnet, mask=checkerboard_mask((3, 4, 4)),
                             two_sided=True, init_identity=True),
])
def test_init_identity_gives_the_identity(factory):
    block = factory().double()
    x = torch.randn(4, *block.dims_in[0], dtype=DTYPE)
    c = [torch.randn(4, *s, dtype=DTYPE) for s in block.dims_c] or None
    (z,), log_jac_det = block([x], c=c)
    assert torch.equal(z, x)
    assert torch.equal(log_jac_det, torch.zeros(4, dtype=DTYPE))


# -- AllInOneBlock ----------------------------------------------------------------------------

@pytest.mark.parametrize(("kind", "value"), [("SOFTPLUS", 1.0), ("SOFTPLUS", 0.3),
                                             ("SIGMOID", 1.0), ("SIGMOID", 7.5), ("EXP", 1.0),
                                             ("EXP", 2.5)])
def test_all_in_one_global_affine_starts_at_its_init_value(kind, value):
    block = Fm.AllInOneBlock([(4, 2, 3)], subnet_constructor=conv_subnet,
                             global_affine_type=kind, global_affine_init=value).double()
    scale = block.global_scale_activation(block.global_scale)
    torch.testing.assert_close(scale, torch.full_like(scale, value), atol=1e-6, rtol=1e-6)
    with torch.no_grad():
        block.subnet[-1].weight.zero_()
        block.subnet[-1].bias.zero_()
    x = torch.randn(2, 4, 2, 3, dtype=DTYPE)
    (z,), log_jac_det = block([x])
    expected = 6 * torch.log(scale).sum()  # 6 positions, zero coupling log-scales
    torch.testing.assert_close(log_jac_det, expected.expand(2), atol=1e-12, rtol=0)


def _all_in_one_reference(block, x, c=None):
    """FrEIA (master) semantics written out with explicit matrices."""
    channels = block.in_channels
    if block.householder:
        w = block.w_0.clone()
        for v in block.vk_householder:
            w = w @ (torch.eye(channels, dtype=x.dtype) - 2 * torch.outer(v, v) / v.dot(v))
    elif block.permute_soft:
        w = block.w_perm.reshape(channels, channels)
    else:
        w = torch.eye(channels, dtype=x.dtype)[block.w_perm]
    mix = lambda t, m: torch.einsum("ij,bj...->bi...", m, t)  # noqa: E731
    if block.reverse_pre_permute:
        x = mix(x, w.T)
    x1, x2 = x[:, :channels - channels // 2], x[:, channels - channels // 2:]
    a = 0.1 * block.subnet(torch.cat([x1, *c], 1) if c else x1)
    s = block.clamp * torch.tanh(a[:, :channels // 2] / block.clamp)
    if block.GIN:
        s = s - s.mean(dim=tuple(range(1, s.dim())), keepdim=True)
    y = torch.cat([x1, x2 * torch.exp(s) + a[:, channels // 2:]], 1)
    log_jac_det = s.flatten(1).sum(1)
    if not block.GIN:
        scale = block.global_scale_activation(block.global_scale)
        y = y * scale
        log_jac_det = log_jac_det + x[0, 0].numel() * torch.log(scale).sum()
    return mix(y + block.global_offset, w), log_jac_det


@pytest.mark.parametrize("options", [
    {}, {"permute_soft": True}, {"learned_householder_permutation": 2},
    {"learned_householder_permutation": 3, "permute_soft": True, "reverse_permutation": True},
    {"reverse_permutation": True}, {"gin_block": True, "global_affine_type": "EXP"},
    {"global_affine_type": "SIGMOID", "affine_clamping": 0.7},
])
@pytest.mark.parametrize("image", [False, True])
def test_all_in_one_matches_a_written_out_reference(options, image):
    shape, cond = ((5, 3, 2), [(2, 3, 2)]) if image else ((5,), [(2,)])
    subnet = conv_subnet if image else mlp_subnet
    block = perturbed(Fm.AllInOneBlock([shape], cond, subnet_constructor=subnet, **options)
                     .double())
    x, c = torch.randn(4, *shape, dtype=DTYPE), [torch.randn(4, *cond[0], dtype=DTYPE)]
    (z,), log_jac_det = block([x], c=c)
    z_ref, log_jac_det_ref = _all_in_one_reference(block, x, c)
    torch.testing.assert_close(z, z_ref, atol=1e-12, rtol=0)
    torch.testing.assert_close(log_jac_det, log_jac_det_ref, atol=1e-12, rtol=0)
    (x_rec,), log_jac_det_rev = block([z], c=c, rev=True)
    torch.testing.assert_close(x_rec, x, atol=1e-12, rtol=0)
    torch.testing.assert_close(log_jac_det_rev, -log_jac_det, atol=1e-12, rtol=0)


def test_all_in_one_householder_starts_from_the_hard_permutation_matrix():
    """FrEIA bug 3: learned Householder reflections with permute_soft=False crash in FrEIA."""
    block = Fm.AllInOneBlock([(6,)], subnet_constructor=mlp_subnet,
                             learned_householder_permutation=2)
    w0 = block.w_0
    assert torch.equal(w0.sum(0), torch.ones(6)) and torch.equal(w0.sum(1), torch.ones(6))
    assert set(w0.unique().tolist()) == {0.0, 1.0}
    assert sorted(block.state_dict()) == ["global_offset", "global_scale", "subnet.0.bias",
                                          "subnet.0.weight", "subnet.2.bias", "subnet.2.weight",
                                          "vk_householder", "w_0"]


@pytest.mark.parametrize("options", [{"permute_soft": True},
                                     {"permute_soft": True, "learned_householder_permutation": 2}])
def test_soft_permutation_is_exact_in_float64_after_a_float32_build(options):
    """FrEIA bug 4: a float32 rotation cast to float64 is re-orthonormalised in float64."""
    block = Fm.AllInOneBlock([(7,)], subnet_constructor=mlp_subnet, **options)
    stored = "w_0" if "learned_householder_permutation" in options else "w_perm"
    assert getattr(block, stored).dtype == torch.float32
    block = perturbed(block.double())
    matrix = getattr(block, stored).reshape(7, 7)
    assert matrix.dtype == DTYPE and orthogonality_error(matrix) < 1e-14
    if stored == "w_perm":
        assert torch.equal(block.w_perm_inv.reshape(7, 7), matrix.T)
    x = 10 * torch.randn(5, 7, dtype=DTYPE)
    z, _, x_rec, _ = _round_trip(block, x)
    torch.testing.assert_close(x_rec, x, atol=1e-12, rtol=0)
    # a float64 state_dict loads unchanged
    fresh = Fm.AllInOneBlock([(7,)], subnet_constructor=mlp_subnet, **options).double()
    fresh.load_state_dict(block.state_dict())
    assert torch.equal(getattr(fresh, stored), getattr(block, stored))


def test_all_in_one_loads_freia_02_style_state_dicts():
    """FrEIA 0.2 stores hard permutations as matrices, and a global_scale for GIN blocks."""
    source = Fm.AllInOneBlock([(5,)], subnet_constructor=mlp_subnet, gin_block=True)
    state = source.state_dict()
    matrix = torch.eye(5)[state["w_perm"]]
    state["w_perm"], state["w_perm_inv"] = matrix.reshape(5, 5), matrix.T.reshape(5, 5)
    state["global_scale"] = torch.ones(1, 5)
    target = Fm.AllInOneBlock([(5,)], subnet_constructor=mlp_subnet, gin_block=True)
    target.load_state_dict(state)
    assert torch.equal(target.w_perm, source.w_perm)
    assert torch.equal(target.w_perm_inv, source.w_perm_inv)
    state["w_perm"] = 2 * state["w_perm"]
    with pytest.raises(ModuleArgumentError, match="not a permutation matrix"):
        target.load_state_dict(state)


def test_haar_rotation_is_a_proper_rotation_and_reproducible():
    for n in (1, 2, 5, 16):
        q = haar_rotation(n, generator=torch.Generator().manual_seed(n))
        torch.testing.assert_close(q @ q.T, torch.eye(n, dtype=DTYPE), atol=1e-13, rtol=0)
        assert torch.linalg.det(q) > 0
    a = haar_rotation(4, generator=torch.Generator().manual_seed(7))
    assert torch.equal(a, haar_rotation(4, generator=torch.Generator().manual_seed(7)))
    # no sign bias from the QR convention: q[0, 0] (std 1/sqrt(3)) averages near zero
    generator = torch.Generator().manual_seed(0)
    mean = sum(haar_rotation(3, generator=generator)[0, 0] for _ in range(100)) / 100
    assert abs(float(mean)) < 0.2


def test_soft_permutation_warns_above_512_channels():
    with pytest.warns(UserWarning, match="slow"):
        Fm.AllInOneBlock([(513,)], subnet_constructor=nn.Linear, permute_soft=True)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        Fm.AllInOneBlock([(512,)], subnet_constructor=nn.Linear, permute_soft=True)


def test_all_in_one_permutation_draws_do_not_reseed_the_global_rng():
    torch.manual_seed(5)
    Fm.AllInOneBlock([(6,)], subnet_constructor=mlp_subnet, permute_soft=True)
    a = torch.rand(3)
    torch.manual_seed(5)
    Fm.AllInOneBlock([(6,)], subnet_constructor=mlp_subnet, permute_soft=True)
    assert torch.equal(a, torch.rand(3))  # deterministic given the seed ...
    torch.manual_seed(5)
    first = Fm.AllInOneBlock([(6,)], subnet_constructor=mlp_subnet, permute_soft=True)
    second = Fm.AllInOneBlock([(6,)], subnet_constructor=mlp_subnet, permute_soft=True)
    assert not torch.equal(first.w_perm, second.w_perm)  # ... and fresh for every block


# -- errors -----------------------------------------------------------------------------------

def _block(**kwargs):
    options = {"transformer": Affine(), "subnet_constructor": mlp_subnet, **kwargs}
    return Fm.CouplingBlock([(6,)], **options)


ERRORS = [
    ("gin_unknown_clamp_activation", lambda: Fm.GINCouplingBlock(
        [(4,)], subnet_constructor=mlp_subnet, clamp_activation="RELU"),
     ModuleArgumentError, r"Unknown clamp_activation 'RELU'"),
    ("one_sided_unknown_clamp_activation", lambda: Fm.AffineCouplingOneSided(
        [(4,)], subnet_constructor=mlp_subnet, clamp_activation="atan"),
     ModuleArgumentError, r"clamp_activation 'atan'"),
    ("unknown_global_affine_type", lambda: Fm.AllInOneBlock(
        [(4,)], subnet_constructor=mlp_subnet, global_affine_type="RELU"),
     ModuleArgumentError, r"AllInOneBlock: global_affine_type must be one of .* got 'RELU'"),
    ("global_affine_init_out_of_range", lambda: Fm.AllInOneBlock(
        [(4,)], subnet_constructor=mlp_subnet, global_affine_type="SIGMOID",
        global_affine_init=12.0),
     ModuleArgumentError, r"global_affine_init for SIGMOID must lie in \(0.0, 10.0\), got 12.0"),
    ("affine_clamping_zero", lambda: Fm.AllInOneBlock(
        [(4,)], subnet_constructor=mlp_subnet, affine_clamping=0.0),
     ModuleArgumentError, r"affine_clamping must be positive, got 0.0"),
    ("one_sided_split_len_float", lambda: Fm.AffineCouplingOneSided(
        [(4,)], subnet_constructor=mlp_subnet, split_len=1.5),
     ModuleArgumentError, r"AffineCouplingOneSided: a float split_len must lie in \[0, 1\]"),
    ("gin_split_len_int", lambda: Fm.GINCouplingBlock(
        [(4,)], subnet_constructor=mlp_subnet, split_len=5),
     ModuleArgumentError, r"GINCouplingBlock: an int split_len must lie in \[0, 4\]"),
    ("cond_affine_split_len", lambda: Fm.ConditionalAffineTransform(
        [(4,)], [(2,)], subnet_constructor=mlp_subnet, split_len=-1),
     ModuleArgumentError, r"ConditionalAffineTransform: an int split_len"),
    ("coupling_block_split_len", lambda: _block(split_len=-0.1),
     ModuleArgumentError, r"CouplingBlock: a float split_len must lie in \[0, 1\], got -0.1"),
    ("gin_missing_subnet", lambda: Fm.GINCouplingBlock([(4,)]),
     ModuleArgumentError, r"GINCouplingBlock needs a subnet_constructor"),
    ("one_sided_missing_subnet", lambda: Fm.AffineCouplingOneSided([(4,)]),
     ModuleArgumentError, r"AffineCouplingOneSided needs a subnet_constructor"),
    ("cond_affine_missing_subnet", lambda: Fm.ConditionalAffineTransform([(4,)], [(1,)]),
     ModuleArgumentError, r"ConditionalAffineTransform needs a subnet_constructor"),
    ("all_in_one_missing_subnet", lambda: Fm.AllInOneBlock([(4,)]),
     ModuleArgumentError, r"AllInOneBlock needs a subnet_constructor"),
    ("coupling_block_missing_subnet", lambda: _block(subnet_constructor=None),
     ModuleArgumentError, r"CouplingBlock needs a subnet_constructor"),
    ("all_in_one_condition_spatial_dims", lambda: Fm.AllInOneBlock(
        [(3, 4, 4)], [(2, 4, 5)], subnet_constructor=conv_subnet),
     ModuleArgumentError, r"AllInOneBlock: condition 0 has shape \(2, 4, 5\).*\(4, 4\)"),
    ("one_sided_condition_spatial_dims", lambda: Fm.AffineCouplingOneSided(
        [(3, 4, 4)], [(2,)], subnet_constructor=conv_subnet),
     ModuleArgumentError, r"AffineCouplingOneSided: condition 0 has shape \(2,\)"),
    ("coupling_block_condition_spatial_dims", lambda: Fm.CouplingBlock(
        [(6,)], [(2, 3)], transformer=Affine(), subnet_constructor=mlp_subnet),
     ModuleArgumentError, r"CouplingBlock: condition 0 has shape \(2, 3\)"),
    ("cond_affine_without_condition", lambda: Fm.ConditionalAffineTransform(
        [(4,)], subnet_constructor=mlp_subnet),
     ModuleArgumentError, r"ConditionalAffineTransform must have at least one condition"),
    ("cond_affine_empty_conditions", lambda: Fm.ConditionalAffineTransform(
        [(4,)], [], subnet_constructor=mlp_subnet),
     ModuleArgumentError, r"at least one condition, got dims_c=\[\]"),
    ("all_in_one_5d", lambda: Fm.AllInOneBlock([(2, 2, 2, 2, 2)], subnet_constructor=mlp_subnet),
     ModuleArgumentError, r"AllInOneBlock: data must be 1D-4D .* got 5D input shape"),
    ("bad_mask_shape", lambda: _block(mask=torch.ones(5, dtype=torch.bool)),
     ModuleArgumentError, r"CouplingBlock: mask must have shape \(6,\) .* got \(5,\)"),
    ("bad_image_mask_shape", lambda: Fm.CouplingBlock(
        [(3, 4, 4)], transformer=Affine(), subnet_constructor=conv_subnet,
        mask=torch.ones(3, 4, dtype=torch.bool)),
     ModuleArgumentError, r"mask must have shape \(3,\) .* input shape \(3, 4, 4\)"),
    ("float_mask", lambda: _block(mask=torch.ones(6)),
     ModuleArgumentError, r"mask must be a bool tensor .* got dtype torch.float32"),
    ("mask_and_num_masked", lambda: _block(mask=torch.ones(6, dtype=torch.bool), num_masked=2),
     ModuleArgumentError, r"at most one of mask, num_masked and fraction_masked"),
    ("num_masked_out_of_range", lambda: _block(num_masked=-7),
     ModuleArgumentError, r"num_masked must be an int in \[-6, 6\].*got -7"),
    ("num_masked_float", lambda: _block(num_masked=2.0),
     ModuleArgumentError, r"num_masked must be an int"),
    ("fraction_masked_out_of_range", lambda: _block(fraction_masked=1.5),
     ModuleArgumentError, r"fraction_masked must be a float in \[-1, 1\], got 1.5"),
    ("bad_transformer", lambda: _block(transformer=3),
     ModuleArgumentError, r"CouplingBlock: transformer must be a Transformer.*got 3"),
    ("factory_returning_junk", lambda: _block(transformer=lambda: nn.Identity()),
     ModuleArgumentError, r"transformer must be a Transformer"),
    ("non_transformer_class", lambda: _block(transformer=nn.Linear),
     ModuleArgumentError, r"transformer must be a Transformer.*Linear"),
    ("init_identity_without_linear_layer", lambda: _block(
        subnet_constructor=lambda i, o: Constant(i, o), init_identity=True),
     ModuleArgumentError, r"init_identity needs a subnet whose last layer is an nn.Linear"),
    ("affine_center_option", lambda: Affine(center_log_scale="rows"),
     ModuleArgumentError, r"center_log_scale must be None or one of"),
]


@pytest.mark.parametrize(("factory", "error", "message"),
                         [pytest.param(*e[1:], id=e[0]) for e in ERRORS])
def test_bad_arguments_raise_named_errors(factory, error, message):
    with pytest.raises(error, match=message):
        factory()


def test_freia_defaults_and_attributes():
    block = Fm.AllInOneBlock([(5,)], subnet_constructor=mlp_subnet)
    assert block.splits == [3, 2] and block.clamp == 2.0 and not block.GIN
    assert block.subnet[0].in_features == 3 and block.subnet[-1].out_features == 4
    one_sided = Fm.AffineCouplingOneSided([(5,)], [(2,)], subnet_constructor=mlp_subnet)
    assert one_sided.subnet[0].in_features == 2 + 2 and one_sided.subnet[-1].out_features == 6
    cond = Fm.ConditionalAffineTransform([(5,)], [(2,), (1,)], subnet_constructor=mlp_subnet)
    assert cond.subnet[0].in_features == 3 and cond.subnet[-1].out_features == 10
    gin = Fm.GINCouplingBlock([(5,)], subnet_constructor=mlp_subnet, split_len=0.5)
    assert gin.split_len1 == 2 and gin.subnet1[-1].out_features == 6
    assert math.isclose(gin.clamp, 2.0)
