"""SequenceINN contract: append, conditions by index, slicing, replacement, dtypes."""

import pytest
import torch
from cases import mlp_subnet

import inn
import inn.framework as Ff
import inn.modules as Fm


def build(dtype=torch.float64):
    seq = Ff.SequenceINN(6)
    seq.append(Fm.GLOWCouplingBlock, cond=1, cond_shape=(3,), subnet_constructor=mlp_subnet)
    seq.append(Fm.PermuteRandom, seed=0)
    seq.append(Fm.RNVPCouplingBlock, cond=0, cond_shape=[2], subnet_constructor=mlp_subnet)
    seq.append(Fm.NICECouplingBlock, cond=[1, 0], cond_shape=[(3,), (2,)],
               subnet_constructor=mlp_subnet)
    seq.append(Fm.ActNorm, init_data=torch.randn(10, 6))
    with torch.no_grad():
        for p in seq.parameters():
            p.add_(0.2 * torch.randn_like(p))
    return seq.to(dtype)


def data(batch=5, dtype=torch.float64):
    return (torch.randn(batch, 6, dtype=dtype),
            [torch.randn(batch, 2, dtype=dtype), torch.randn(batch, 3, dtype=dtype)])


def test_round_trip_with_condition_indices():
    seq = build()
    x, c = data()
    z, log_jac_det = seq(x, c=c)
    x_rec, log_jac_det_rev = seq(z, c=c, rev=True)
    torch.testing.assert_close(x_rec, x, atol=1e-12, rtol=0)
    torch.testing.assert_close(log_jac_det, -log_jac_det_rev, atol=1e-12, rtol=0)
    assert seq.conditions == [1, None, 0, (1, 0), None]
    assert seq.dims_c == [(2,), (3,)] and seq.dims_in == [(6,)]
    assert seq.shapes == [(6,)] * 6 and len(seq) == 5
    assert seq.output_dims() == [(6,)] == seq.output_dims([(6,)]) == seq.output_dims(((6,),))


def test_sum_of_blocks_equals_total_log_det():
    seq = build()
    x, c = data()
    total = torch.zeros(5, dtype=torch.float64)
    h = x
    for block, cond in zip(seq, seq.conditions):
        conds = None if cond is None else [c[i] for i in ((cond,) if isinstance(cond, int)
                                                           else cond)]
        (h,), log_jac_det = block([h], c=conds)
        total = total + log_jac_det
    z, log_jac_det = seq(x, c=c)
    assert torch.equal(z, h)
    torch.testing.assert_close(log_jac_det, total, atol=1e-12, rtol=0)


def test_slices_share_blocks_and_remap_conditions():
    seq = build()
    x, c = data()
    head, tail = seq[:2], seq[2:]
    assert head[0] is seq[0] and tail[-1] is seq[-1]
    assert head.conditions == [0, None] and head.dims_c == [(3,)]
    assert tail.conditions == [0, (1, 0), None] and tail.dims_c == [(2,), (3,)]
    h, ld1 = head(x, c=[c[1]])
    z, ld2 = tail(h, c=[c[0], c[1]])
    z_full, ld_full = seq(x, c=c)
    torch.testing.assert_close(z, z_full, atol=1e-12, rtol=0)
    torch.testing.assert_close(ld1 + ld2, ld_full, atol=1e-12, rtol=0)
    backwards = seq[::-1]
    assert isinstance(backwards[0], Fm.Inverse)
    x_rec, ld_back = backwards(z_full, c=_remapped(seq, c))
    torch.testing.assert_close(x_rec, x, atol=1e-12, rtol=0)
    torch.testing.assert_close(ld_back, -ld_full, atol=1e-12, rtol=0)
    assert len(seq[3:3]) == 0


def _remapped(seq, c):
    """Conditions of seq[::-1], ordered by first appearance from the last block backwards."""
    order = []
    for cond in reversed(seq.conditions):
        for i in () if cond is None else ((cond,) if isinstance(cond, int) else cond):
            if i not in order:
                order.append(i)
    return [c[i] for i in order]


def test_setitem_replaces_or_rejects():
    seq = build()
    replacement = Fm.PermuteRandom([(6,)], seed=5).double()
    seq[1] = replacement
    assert seq[1] is replacement
    with pytest.raises(inn.ModuleArgumentError, match=r"block 1 .*input shapes"):
        seq[1] = Fm.PermuteRandom([(5,)])
    with pytest.raises(inn.ModuleArgumentError, match="condition shapes"):
        seq[1] = Fm.GLOWCouplingBlock([(6,)], [(3,)], subnet_constructor=mlp_subnet)
    with pytest.raises(inn.ModuleArgumentError, match="slices"):
        seq[0:2] = replacement


def test_volume_preserving_chain_keeps_float64_log_det():
    seq = Ff.SequenceINN(4)
    seq.append(Fm.PermuteRandom)
    seq.append(Fm.PermuteRandom)
    _, log_jac_det = seq(torch.randn(3, 4, dtype=torch.float64))
    assert log_jac_det.dtype == torch.float64 and torch.equal(log_jac_det, torch.zeros(3).double())


def test_bare_tensor_condition_means_one_condition():
    seq = Ff.SequenceINN(4)
    seq.append(Fm.GLOWCouplingBlock, cond=0, cond_shape=(2,), subnet_constructor=mlp_subnet)
    x, c = torch.randn(5, 4), torch.randn(5, 2)
    assert torch.equal(seq(x, c=c)[0], seq(x, c=[c])[0])


def test_force_tuple_output_and_list_input():
    seq = Ff.SequenceINN(4, force_tuple_output=True)
    seq.append(Fm.PermuteRandom, seed=1)
    out, _ = seq([torch.randn(2, 4)])
    assert isinstance(out, tuple) and len(out) == 1


def test_jac_false_tolerates_none_log_dets():
    seq = Ff.SequenceINN(3)
    seq.append(_NoneLogDet)
    seq.append(Fm.PermuteRandom)
    z, log_jac_det = seq(torch.randn(2, 3, dtype=torch.float64), jac=False)
    assert torch.equal(log_jac_det, torch.zeros(2, dtype=torch.float64))


class _NoneLogDet(Fm.InvertibleModule):
    def forward(self, x, rev=False, jac=True):
        return (x[0] * (0.5 if rev else 2.0),), None

    def output_dims(self, input_dims):
        return input_dims


def test_sequence_inside_sequence_and_graph():
    inner = Ff.SequenceINN(4)
    inner.append(Fm.GLOWCouplingBlock, cond=0, cond_shape=(2,), subnet_constructor=mlp_subnet)
    outer = Ff.SequenceINN(4)
    outer.append(Fm.PermuteRandom, seed=2)
    outer.append(inner, cond=0)
    x, c = torch.randn(3, 4), torch.randn(3, 2)
    z, log_jac_det = outer(x, c=[c])
    x_rec, _ = outer(z, c=[c], rev=True)
    torch.testing.assert_close(x_rec, x, atol=1e-6, rtol=0)
    assert outer.dims_c == [(2,)]
    assert len(list(outer.parameters())) == len(list(inner.parameters()))
