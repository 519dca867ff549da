"""inn.distributions: push-forward and pull-back densities, and the torch Transform wrapper."""

import math

import pytest
import torch
from cases import mlp_subnet
from torch.distributions import TransformedDistribution

import inn
import inn.framework as Ff
import inn.modules as Fm
from inn.distributions import (
    ModuleTransform,
    PullBackDistribution,
    PushForwardDistribution,
    StandardNormalDistribution,
)


def flow():
    seq = Ff.SequenceINN(3)
    for _ in range(2):
        seq.append(Fm.GLOWCouplingBlock, subnet_constructor=mlp_subnet)
        seq.append(Fm.PermuteRandom)
    return seq.double()


def test_standard_normal():
    d = StandardNormalDistribution(2, 3, dtype=torch.float64)
    assert d.event_shape == (2, 3) and d.sample((4,)).dtype == torch.float64
    torch.testing.assert_close(d.log_prob(torch.zeros(2, 3, dtype=torch.float64)),
                               torch.tensor(-3 * math.log(2 * math.pi), dtype=torch.float64))


def test_pull_back_density_is_change_of_variables():
    net = flow()
    base = StandardNormalDistribution(3, dtype=torch.float64)
    p = PullBackDistribution(base, net)
    x = torch.randn(6, 3, dtype=torch.float64)
    z, log_jac_det = net(x)
    torch.testing.assert_close(p.log_prob(x), base.log_prob(z) + log_jac_det)
    samples = p.sample((2, 5))
    assert samples.shape == (2, 5, 3) and not samples.requires_grad
    assert p.log_prob(samples).shape == (2, 5)
    assert p.rsample((4,)).requires_grad
    with pytest.raises(inn.ShapeError, match=r"\(B, 3\)"):
        p.log_prob(torch.randn(4, 2, dtype=torch.float64))


def test_push_forward_is_inverse_of_pull_back():
    net = flow()
    base = StandardNormalDistribution(3, dtype=torch.float64)
    push = PushForwardDistribution(base, net)
    z = torch.randn(5, 3, dtype=torch.float64)
    x, _ = net(z, rev=True)
    torch.testing.assert_close(push.log_prob(z), PullBackDistribution(
        base, Fm.Inverse(net)).log_prob(z))
    push.force_to(torch.float32)
    assert push.sample((2,)).dtype == torch.float32
    assert x.shape == z.shape


def test_module_transform_with_transformed_distribution():
    net = flow()
    t = ModuleTransform(net)
    base = StandardNormalDistribution(3, dtype=torch.float64)
    d = TransformedDistribution(base, [t.inv])
    x = torch.randn(4, 3, dtype=torch.float64)
    expected = PullBackDistribution(base, net).log_prob(x)
    torch.testing.assert_close(d.log_prob(x), expected)
    assert t.forward_shape((7, 3)) == (7, 3) and t.inverse_shape((3,)) == (3,)


def test_conditional_distribution():
    seq = Ff.SequenceINN(2)
    seq.append(Fm.GLOWCouplingBlock, cond=0, cond_shape=(1,), subnet_constructor=mlp_subnet)
    p = PullBackDistribution(StandardNormalDistribution(2), seq)
    c = [torch.randn(5, 1)]
    assert p.sample((5,), conditions=c).shape == (5, 2)
    assert p.log_prob(torch.randn(5, 2), conditions=c).shape == (5,)
