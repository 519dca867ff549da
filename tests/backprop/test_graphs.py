"""Memory-efficient backprop on whole networks: float64 gradients equal standard backprop.

Covers a graph with a jointly trained feed-forward condition network, an early exit that is
also read as a condition, a block output read as a condition after the block that rebuilds it,
an approximate block (kept, not inverted) in the middle, nested containers (memory-efficient
and not), parameters shared between blocks, ``rev=True`` training, ``jac=False``, losses that
ignore some outputs, ``loss.backward()`` with gradient accumulation, and a conditioning
network outside the INN.
"""

import pytest
import torch
import torch.nn as nn
from cases import mlp_subnet
from helpers import assert_same_gradients, gradients, loss_of, twin

import inn.framework as Ff
import inn.modules as Fm
from inn.backprop import check_recomputation

B = 5


def glow(inputs, conditions=None, name=None):
    return Ff.Node(inputs, Fm.GLOWCouplingBlock, {"subnet_constructor": mlp_subnet},
                   conditions=conditions, name=name)


def nested_sequence(memory_efficient):
    seq = Ff.SequenceINN(4, memory_efficient=memory_efficient)
    seq.append(Fm.RNVPCouplingBlock, subnet_constructor=mlp_subnet, cond=0, cond_shape=(5,))
    seq.append(Fm.PermuteRandom, seed=2)
    seq.append(Fm.NICECouplingBlock, subnet_constructor=mlp_subnet)
    return seq


def perturb(net):
    generator = torch.Generator().manual_seed(11)
    with torch.no_grad():
        for p in net.parameters():
            p.add_(0.2 * torch.randn(p.shape, generator=generator, dtype=p.dtype))
    return net


def rich_graph():
    """Inputs x (8,), condition c (3,); outputs: an early exit (4,) and z (4,)."""
    torch.manual_seed(0)
    x, c = Ff.InputNode(8, name="x"), Ff.ConditionNode(3, name="c")
    ff = Ff.FeedForwardNode(c, (5,), nn.Sequential(nn.Linear(3, 16), nn.Tanh(),
                                                   nn.Linear(16, 5)), name="condition net")
    first = glow(x, conditions=ff, name="glow0")
    perm = Ff.Node(first, Fm.PermuteRandom, {"seed": 1}, name="perm")
    split = Ff.Node(perm, Fm.Split, {"section_sizes": [4, 4]}, name="split")
    second = glow(split.out1, conditions=[split.out0], name="glow1")  # reads the early exit
    norm = Ff.Node(second, Fm.ActNorm, {}, name="actnorm")
    approximate = Ff.Node(norm, Fm.IResNetLayer, {"internal_size": 6}, name="iresnet")
    inner = Ff.Node(approximate, nested_sequence(True), {}, conditions=ff, name="nested")
    halves = Ff.Node(inner, Fm.Split, {"section_sizes": [2, 2]}, name="halves")
    left = glow(halves.out0, name="left")
    # reads the left half, which backward rebuilds (inverting "left") only after this node
    right = glow(halves.out1, conditions=[halves.out0], name="right")
    merge = Ff.Node([left, right], Fm.Concat, {}, name="merge")
    plain = Ff.Node(merge, nested_sequence(False), {}, conditions=ff, name="nested plain")
    nodes = [x, c, ff, first, perm, split, second, norm, approximate, inner, halves, left,
             right, merge, plain, Ff.OutputNode(split.out0, name="exit"),
             Ff.OutputNode(plain, name="z")]
    net = Ff.GraphINN(nodes).double()
    with torch.no_grad():
        net(torch.randn(32, 8, dtype=torch.float64), c=torch.randn(32, 3, dtype=torch.float64))
    return perturb(net)


def shared_sequence():
    """A chain that uses one coupling instance twice, with conditions, and a nested graph."""
    torch.manual_seed(0)
    shared = Fm.GLOWCouplingBlock([(6,)], dims_c=[(2,)], subnet_constructor=mlp_subnet)
    inner_in = Ff.InputNode(6, name="in")
    inner = Ff.Node(inner_in, Fm.AffineCouplingOneSided, {"subnet_constructor": mlp_subnet})
    graph = Ff.GraphINN([inner_in, inner, Ff.OutputNode(inner)], memory_efficient=True)
    seq = Ff.SequenceINN(6)
    seq.append(shared, cond=0)
    seq.append(Fm.PermuteRandom, seed=3)
    seq.append(graph)
    seq.append(Fm.RationalQuadraticSpline, subnet_constructor=mlp_subnet, cond=1,
               cond_shape=(3,))
    seq.append(shared, cond=0)
    return perturb(seq.double())


def inputs(net, seed=0):
    generator = torch.Generator().manual_seed(seed)
    x = [torch.randn(B, *s, generator=generator, dtype=torch.float64) for s in net.dims_in]
    c = [torch.randn(B, *s, generator=generator, dtype=torch.float64) for s in net.dims_c]
    return x, c


NETS = {"graph": rich_graph, "sequence": shared_sequence}


@pytest.mark.parametrize("rev", [False, True], ids=["forward", "rev"])
@pytest.mark.parametrize("jac", [True, False], ids=["jac", "no-jac"])
@pytest.mark.parametrize("kind", sorted(NETS))
def test_gradients_equal_standard_backprop(kind, rev, jac):
    net = NETS[kind]()
    x, c = inputs(net)
    if rev:
        with torch.no_grad():
            z, _ = net(x if len(x) > 1 else x[0], c=c)
        x = list(z) if isinstance(z, tuple) else [z]
    efficient_net = twin(net)  # IResNetLayer's probes come from its own generator
    standard = gradients(net, x, c, False, rev=rev, jac=jac)
    with check_recomputation(rtol=1e-9) as report:
        efficient = gradients(efficient_net, x, c, True, rev=rev, jac=jac)
    assert_same_gradients(standard, efficient)
    assert len(report.blocks) >= 5  # blocks were rebuilt, not kept


def test_graph_saves_the_condition_read_after_its_rebuild():
    """Backward processes "right" before "left", which rebuilds the left half."""
    from inn.backprop.schedule import graph_schedule, layout

    net = rich_graph()
    schedule = graph_schedule(net._plan, rev=False)
    blocks = list(net.module_list)
    exact = tuple(not t.feed_forward and getattr(blocks[t.block], "exact_inverse", False)
                  for t in schedule.tasks)
    plan = layout(schedule, exact)
    halves = next(n for n in net.node_list if n.name == "halves")
    ff = next(n for n in net.node_list if n.name == "condition net")
    # the left half, and the feed-forward output (a condition no inversion rebuilds)
    assert plan.saved == {net._plan.slot_of[(halves, 0)], net._plan.slot_of[(ff, 0)]}
    names = [t.node.name for t, inverts in zip(schedule.tasks, plan.inverts) if not inverts]
    assert names == ["condition net", "iresnet"]


def test_loss_of_some_outputs_only():
    graph = rich_graph()
    x, c = inputs(graph)
    grads = []
    for memory_efficient in (False, True):
        net = twin(graph)
        net.memory_efficient = memory_efficient
        xx = x[0].clone().requires_grad_()
        (_, z), log_jac_det = net(xx, c=c)
        grads.append(torch.autograd.grad((z * z).sum(), [xx, *net.parameters()],
                                         allow_unused=True))
    assert_same_gradients(*grads)


def test_backward_accumulates_like_standard_backprop():
    """Two ``loss.backward()`` calls (different batches) add up in ``.grad`` alike."""
    results = []
    for memory_efficient in (False, True):
        net = shared_sequence()
        net.memory_efficient = memory_efficient
        for seed in (0, 1):
            x, c = inputs(net, seed)
            z, log_jac_det = net(x[0], c=c)
            loss_of([z], log_jac_det).backward()
        results.append([p.grad for p in net.parameters()])
    assert_same_gradients(*results)


def test_conditioning_network_outside_the_inn():
    encoder = nn.Sequential(nn.Linear(7, 12), nn.Tanh(), nn.Linear(12, 2)).double()
    results = []
    for memory_efficient in (False, True):
        net = shared_sequence()
        net.memory_efficient = memory_efficient
        x, c = inputs(net)
        generator = torch.Generator().manual_seed(4)
        features = torch.randn(B, 7, dtype=torch.float64, generator=generator)
        z, log_jac_det = net(x[0], c=[encoder(features), c[1]])
        encoder.zero_grad()
        loss_of([z], log_jac_det).backward()
        results.append([p.grad.clone() for p in encoder.parameters()])
    assert_same_gradients(*results)


def test_memory_efficient_is_off_by_default_and_settable():
    seq = Ff.SequenceINN(4)
    assert seq.memory_efficient is False
    seq.memory_efficient = True
    graph_in = Ff.InputNode(4)
    graph = Ff.GraphINN([graph_in, Ff.OutputNode(graph_in)], memory_efficient=True)
    assert graph.memory_efficient is True


def test_no_grad_calls_take_the_standard_path():
    net = shared_sequence()
    net.memory_efficient = True
    x, c = inputs(net)
    with torch.no_grad():
        z, log_jac_det = net(x[0], c=c)
    assert z.grad_fn is None and log_jac_det.grad_fn is None
    net.memory_efficient = False
    z_standard, log_jac_det_standard = net(x[0], c=c)
    assert torch.equal(z, z_standard.detach())
    assert torch.equal(log_jac_det, log_jac_det_standard.detach())


def test_exact_inverse_of_containers_follows_their_blocks():
    net = rich_graph()
    assert net.exact_inverse is False  # the IResNetLayer
    assert shared_sequence().exact_inverse is True
    assert Fm.Inverse(Fm.IResNetLayer([(3,)])).exact_inverse is False


def test_second_backward_with_retain_graph():
    net = shared_sequence()  # every block exact: a second backward recomputes again
    x, c = inputs(net)
    x = x[0].requires_grad_()
    for memory_efficient in (False, True):
        net.memory_efficient = memory_efficient
        x.grad = None
        z, log_jac_det = net(x, c=c)
        loss = loss_of([z], log_jac_det)
        loss.backward(retain_graph=True)
        first = x.grad.clone()
        loss.backward()
        torch.testing.assert_close(x.grad, 2 * first, rtol=1e-12, atol=0)
    graph = rich_graph()  # kept graphs of approximate blocks are freed after the first
    graph.memory_efficient = True
    (exit_, z), log_jac_det = graph(inputs(graph)[0][0], c=inputs(graph)[1])
    loss = loss_of([exit_, z], log_jac_det)
    loss.backward(retain_graph=True)
    with pytest.raises(RuntimeError, match="second backward pass"):
        loss.backward()
