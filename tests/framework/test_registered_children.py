"""Containers run their registered children at call time, so wrappers act on what runs."""

import copy

import pytest
import torch
import torch.nn as nn
from torch.func import functional_call
from torch.nn.utils import parametrize

import inn.framework as Ff
import inn.modules as Fm


def subnet(c_in, c_out):
    return nn.Sequential(nn.Linear(c_in, 16), nn.Tanh(), nn.Linear(16, c_out))


def graph_with_condition():
    torch.manual_seed(0)
    x, c = Ff.InputNode(4, name="x"), Ff.ConditionNode(2, name="c")
    feed = Ff.FeedForwardNode(c, (3,), nn.Linear, {"in_features": 2, "out_features": 3},
                              name="ff")
    first = Ff.Node(x, Fm.GLOWCouplingBlock, {"subnet_constructor": subnet}, conditions=feed,
                    name="first")
    perm = Ff.Node(first, Fm.PermuteRandom, {"seed": 1}, name="perm")
    second = Ff.Node(perm, Fm.RNVPCouplingBlock, {"subnet_constructor": subnet}, name="second")
    net = Ff.GraphINN([x, c, feed, first, perm, second, Ff.OutputNode(second, name="z")])
    with torch.no_grad():
        for p in net.parameters():
            p.add_(0.1 * torch.randn_like(p))
    return net


def inputs():
    generator = torch.Generator().manual_seed(3)
    return torch.randn(5, 4, generator=generator), torch.randn(5, 2, generator=generator)


def test_functional_call_uses_the_given_parameters():
    net = graph_with_condition()
    x, c = inputs()
    params = {name: torch.zeros_like(p) for name, p in net.named_parameters()}
    # zero weights: couplings are the identity, only the permutation acts
    z, log_jac_det = functional_call(net, params, (x,), {"c": [c]})
    perm = net.get_module_by_name("perm")
    torch.testing.assert_close(z, x[:, perm.perm], atol=0, rtol=0)
    torch.testing.assert_close(log_jac_det, torch.zeros(5), atol=0, rtol=0)
    z_own, _ = net(x, c=[c])
    assert not torch.allclose(z_own, z)


def test_assigned_module_runs():
    net = graph_with_condition()
    x, c = inputs()
    index = list(net.module_list).index(net.get_module_by_name("second"))
    replacement = Fm.RNVPCouplingBlock([(4,)], subnet_constructor=subnet)
    net.module_list[index] = replacement
    assert net.get_module_by_name("second") is replacement
    z, _ = net(x, c=[c])
    (z_perm,), _ = net.module_list[1]([x], c=[net.module_list[0](c)])
    (z_perm,), _ = net.get_module_by_name("perm")([z_perm])
    (expected,), _ = replacement([z_perm])
    torch.testing.assert_close(z, expected, atol=1e-12, rtol=0)


def test_deepcopy_runs_its_own_modules():
    net = graph_with_condition()
    clone = copy.deepcopy(net)
    x, c = inputs()
    with torch.no_grad():
        for p in clone.parameters():
            p.add_(1.0)
    assert not torch.allclose(net(x, c=[c])[0], clone(x, c=[c])[0])
    for p in clone.parameters():
        assert all(p is not q for q in net.parameters())


class Doubled(nn.Module):
    def forward(self, weight):
        return 2 * weight


@pytest.mark.parametrize("container", ["graph", "sequence"])
def test_parametrization_acts_on_the_call(container):
    torch.manual_seed(0)
    if container == "graph":
        net = graph_with_condition()
        x, c = inputs()
        call = lambda: net(x, c=[c])[0]  # noqa: E731
        linear = net.get_module_by_name("second").subnet_t1[0]
    else:
        net = Ff.SequenceINN(4)
        net.append(Fm.RNVPCouplingBlock, subnet_constructor=subnet)
        x, _ = inputs()
        call = lambda: net(x)[0]  # noqa: E731
        linear = net[0].subnet_t1[0]
    with torch.no_grad():
        for p in net.parameters():
            p.add_(0.1)
    before = call()
    parametrize.register_parametrization(linear, "weight", Doubled())
    assert not torch.allclose(before, call())


def test_data_parallel_on_cpu_matches():
    net = graph_with_condition()
    x, c = inputs()
    wrapped = nn.DataParallel(net)
    torch.testing.assert_close(wrapped(x, c=[c])[0], net(x, c=[c])[0], atol=0, rtol=0)
