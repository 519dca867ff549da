"""SequenceINN runs its registered children at call time, as GraphINN does: functional_call,
module assignment, deepcopy, slicing views and DataParallel act on what runs."""

import copy

import torch
import torch.nn as nn
from torch.func import functional_call

import inn.framework as Ff
import inn.modules as Fm
from inn.nn import mlp_subnet


def chain():
    torch.manual_seed(0)
    seq = Ff.SequenceINN(4)
    seq.append(Fm.GLOWCouplingBlock, subnet_constructor=mlp_subnet(8, zero_init=False))
    seq.append(Fm.PermuteRandom, seed=1)
    seq.append(Fm.RNVPCouplingBlock, subnet_constructor=mlp_subnet(8, zero_init=False))
    return seq.double()


def data():
    return torch.randn(5, 4, generator=torch.Generator().manual_seed(3), dtype=torch.float64)


def test_functional_call_uses_the_given_parameters():
    seq, x = chain(), data()
    zeros = {name: torch.zeros_like(p) for name, p in seq.named_parameters()}
    z, log_jac_det = functional_call(seq, zeros, (x,))
    perm = seq[1].perm
    torch.testing.assert_close(z, x[:, perm], atol=0, rtol=0)  # couplings became identities
    assert torch.equal(log_jac_det, torch.zeros(5, dtype=torch.float64))
    assert not torch.allclose(seq(x)[0], z)
    # and gradients flow to the substituted tensors
    ones = {name: torch.full_like(p, 0.01, requires_grad=True)
            for name, p in seq.named_parameters()}
    z, log_jac_det = functional_call(seq, ones, (x,))
    (z.sum() + log_jac_det.sum()).backward()
    assert all(t.grad is not None and t.grad.abs().sum() > 0 for t in ones.values())


def test_assigned_module_runs_directly_through_module_list():
    seq, x = chain(), data()
    replacement = Fm.NICECouplingBlock([(4,)], subnet_constructor=mlp_subnet(
        8, zero_init=False)).double()
    seq.module_list[2] = replacement  # not through __setitem__: still what runs
    (h,), _ = seq[0]([x])
    (h,), _ = seq[1]([h])
    (expected,), _ = replacement([h])
    torch.testing.assert_close(seq(x)[0], expected, atol=1e-12, rtol=0)


def test_deepcopy_runs_its_own_modules():
    seq, x = chain(), data()
    clone = copy.deepcopy(seq)
    with torch.no_grad():
        for p in clone.parameters():
            p.add_(0.5)
    assert not torch.allclose(seq(x)[0], clone(x)[0])
    torch.testing.assert_close(clone(clone(x)[0], rev=True)[0], x, atol=1e-12, rtol=0)


def test_data_parallel_wrapper_matches():
    seq, x = chain(), data()
    wrapped = nn.DataParallel(seq)
    z, log_jac_det = wrapped(x)
    assert torch.equal(z, seq(x)[0]) and torch.equal(log_jac_det, seq(x)[1])
