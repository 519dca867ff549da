"""Tensors saved for backward do not grow with depth in memory-efficient mode.

Counted with ``torch.autograd.graph.saved_tensors_hooks`` over distinct storages, parameters
and buffers excluded: what standard backprop keeps as activations.
"""

import pytest
import torch
from cases import conv_subnet, mlp_subnet

import inn.framework as Ff
import inn.modules as Fm


def saved_bytes(net, x, c):
    own = {t.untyped_storage().data_ptr() for t in [*net.parameters(), *net.buffers()]}
    storages = {}

    def pack(t):
        storage = t.untyped_storage()
        if storage.data_ptr() not in own:
            storages[storage.data_ptr()] = storage.nbytes()
        return t

    with torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
        net(x, c=c)
    return sum(storages.values())


def chain(depth):
    net = Ff.SequenceINN(8)
    for k in range(depth):
        net.append(Fm.ActNorm)
        net.append(Fm.GLOWCouplingBlock, subnet_constructor=mlp_subnet, cond=0, cond_shape=(3,))
        net.append(Fm.PermuteRandom, seed=k)
    return net, torch.randn(32, 8), [torch.randn(32, 3)]


def multiscale(depth):
    """Two levels with an early exit, conv couplings and a condition."""
    nodes = [Ff.InputNode(4, 8, 8), Ff.ConditionNode(2, 4, 4)]
    nodes.append(Ff.Node(nodes[0], Fm.IRevNetDownsampling, {}))
    for level in range(2):
        for _ in range(depth):
            nodes.append(Ff.Node(nodes[-1], Fm.ActNorm, {}))
            nodes.append(Ff.Node(nodes[-1], Fm.GLOWCouplingBlock,
                                 {"subnet_constructor": conv_subnet}, conditions=nodes[1]))
        if level == 0:
            split = Ff.Node(nodes[-1], Fm.Split, {"section_sizes": [8, 8]})
            nodes += [split, Ff.OutputNode(split.out0)]
            nodes.append(Ff.Node(split.out1, Fm.GLOWCouplingBlock,
                                 {"subnet_constructor": conv_subnet}))
    nodes.append(Ff.OutputNode(nodes[-1]))
    return Ff.GraphINN(nodes), torch.randn(16, 4, 8, 8), [torch.randn(16, 2, 4, 4)]


@pytest.mark.parametrize("build", [chain, multiscale], ids=["sequence", "multiscale graph"])
def test_saved_bytes_are_flat_in_depth(build):
    figures = {}
    for depth in (2, 16):
        torch.manual_seed(0)
        net, x, c = build(depth)
        with torch.no_grad():
            net(x, c=c)  # ActNorm initialisation
        net.memory_efficient = False
        standard = saved_bytes(net, x, c)
        net.memory_efficient = True
        figures[depth] = standard, saved_bytes(net, x, c)
    (standard_2, efficient_2), (standard_16, efficient_16) = figures[2], figures[16]
    assert efficient_16 == efficient_2  # outputs and conditions only
    assert standard_16 > 6 * standard_2
    assert efficient_16 < 0.05 * standard_16
