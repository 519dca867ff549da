"""GraphINN contract: ordering, multiple inputs and outputs, conditions in both directions,
feed-forward nodes, intermediate outputs, nesting, helpers."""

import warnings

import pytest
import torch
import torch.nn as nn
from cases import mlp_subnet

import inn
import inn.framework as Ff
import inn.modules as Fm


def glow(inputs, conditions=None, name=None, **kwargs):
    return Ff.Node(inputs, Fm.GLOWCouplingBlock, {"subnet_constructor": mlp_subnet, **kwargs},
                   conditions=conditions, name=name)


def perturbed(net):
    with torch.no_grad():
        for p in net.parameters():
            p.add_(0.2 * torch.randn_like(p))
    return net.double()


def assert_inverts(net, x, c=None):
    z, log_jac_det = net(x, c=c)
    x_rec, log_jac_det_rev = net(z, c=c, rev=True)
    for a, b in zip(x if isinstance(x, (list, tuple)) else [x],
                    x_rec if isinstance(x_rec, (list, tuple)) else [x_rec]):
        torch.testing.assert_close(b, a, atol=1e-10, rtol=0)
    torch.testing.assert_close(log_jac_det, -log_jac_det_rev, atol=1e-10, rtol=0)
    return z, log_jac_det


def two_input_net(force_tuple_output=False):
    a, b = Ff.InputNode(3, name="a"), Ff.InputNode(5, name="b")
    c1, c2 = Ff.ConditionNode(2, name="c1"), Ff.ConditionNode(4, name="c2")
    merge = Ff.Node([a, b.out0], Fm.Concat, {}, name="merge")
    coupling = glow(merge, conditions=[c1, c2], name="glow")
    split = Ff.Node(coupling, Fm.Split, {"section_sizes": [6, 2]}, name="split")
    second = glow(split.out1, conditions=[split.out0, c1], name="glow2")
    nodes = [a, b, c1, c2, merge, coupling, split, second,
             Ff.OutputNode(split.out0, name="z1"), Ff.OutputNode(second, name="z2")]
    return perturbed(Ff.GraphINN(nodes, force_tuple_output=force_tuple_output)), nodes


def test_multi_input_multi_output_round_trip():
    net, _ = two_input_net()
    x = [torch.randn(4, 3, dtype=torch.float64), torch.randn(4, 5, dtype=torch.float64)]
    c = [torch.randn(4, 2, dtype=torch.float64), torch.randn(4, 4, dtype=torch.float64)]
    (z1, z2), log_jac_det = assert_inverts(net, x, c)
    assert z1.shape == (4, 6) and z2.shape == (4, 2)
    assert net.dims_in == [(3,), (5,)] and net.dims_c == [(2,), (4,)]
    assert net.output_dims() == [(6,), (2,)]
    assert log_jac_det.shape == (4,) and log_jac_det.dtype == torch.float64


def test_log_det_matches_numerical_estimate():
    net, _ = two_input_net()
    x = [torch.randn(2, 3, dtype=torch.float64), torch.randn(2, 5, dtype=torch.float64)]
    c = [torch.randn(2, 2, dtype=torch.float64), torch.randn(2, 4, dtype=torch.float64)]
    _, log_jac_det = net(x, c=c)
    torch.testing.assert_close(net.log_jacobian_numerical(x, c=c, h=1e-5), log_jac_det,
                               atol=1e-6, rtol=0)


def test_inputs_conditions_outputs_follow_node_list_order():
    a, b = Ff.InputNode(3, name="a"), Ff.InputNode(5, name="b")
    c1, c2 = Ff.ConditionNode(2, name="c1"), Ff.ConditionNode(4, name="c2")
    merge = Ff.Node([a, b], Fm.Concat, {}, name="merge")
    coupling = glow(merge, conditions=[c1, c2], name="glow")
    split = Ff.Node(coupling, Fm.Split, {"section_sizes": [6, 2]})
    o1, o2 = Ff.OutputNode(split.out0, name="o1"), Ff.OutputNode(split.out1, name="o2")
    net = Ff.GraphINN([o2, c2, split, b, coupling, merge, c1, a, o1])
    assert net.dims_in == [(5,), (3,)]
    assert net.dims_c == [(4,), (2,)]
    assert net.output_dims() == [(2,), (6,)]
    x = [torch.randn(4, 5), torch.randn(4, 3)]
    z2, z1 = net(x, c=[torch.randn(4, 4), torch.randn(4, 2)])[0]
    assert z2.shape == (4, 2) and z1.shape == (4, 6)
    assert [n.name for n in net.in_nodes] == ["b", "a"]
    assert [n.name for n in net.out_nodes] == ["o2", "o1"]


def test_topological_orders_respect_dependencies():
    net, _ = two_input_net()
    fwd = net.node_list_fwd
    for node in fwd:
        for source, _ in node.inputs + node.conditions:
            assert fwd.index(source) < fwd.index(node)
    rev = net.node_list_rev
    for node in rev:
        for consumer in node.outputs:
            if consumer is not None:
                assert rev.index(consumer[0]) < rev.index(node)
    assert net.node_list is net.node_list_fwd
    assert len(net.module_list) == 4


def test_condition_on_input_node_and_split_half_works_in_reverse():
    x = Ff.InputNode(4, name="x")
    first = glow(x, name="first")
    split = Ff.Node(first, Fm.Split, {}, name="split")
    cond_on_half = glow(split.out1, conditions=[split.out0], name="cond_on_half")
    other = Ff.InputNode(6, name="other")
    cond_on_input = glow(other, conditions=[x], name="cond_on_input")
    merge = Ff.Node([split.out0, cond_on_half], Fm.Concat, {}, name="merge")
    net = perturbed(Ff.GraphINN([x, other, first, split, cond_on_half, cond_on_input, merge,
                                 Ff.OutputNode(merge), Ff.OutputNode(cond_on_input)]))
    assert_inverts(net, [torch.randn(3, 4, dtype=torch.float64),
                         torch.randn(3, 6, dtype=torch.float64)])


def test_feed_forward_node_conditions_and_gradients():
    x, c = Ff.InputNode(4, name="x"), Ff.ConditionNode(3, name="c")
    features = Ff.FeedForwardNode(c, (5,), nn.Linear, {"in_features": 3, "out_features": 5},
                                  name="features")
    from_input = Ff.FeedForwardNode([x, features], (2,), _Mix(), name="mix")
    first = glow(x, conditions=[features], name="first")
    other = Ff.InputNode(4, name="other")
    second = glow(other, conditions=[from_input], name="second")
    net = perturbed(Ff.GraphINN([x, c, other, features, from_input, first, second,
                                 Ff.OutputNode(first), Ff.OutputNode(second)]))
    x_val = [torch.randn(3, 4, dtype=torch.float64), torch.randn(3, 4, dtype=torch.float64)]
    c_val = [torch.randn(3, 3, dtype=torch.float64)]
    (z1, z2), log_jac_det = assert_inverts(net, x_val, c_val)
    (z1.sum() + z2.sum() + log_jac_det.sum()).backward()
    assert features.module.weight.grad is not None
    assert len(net.ff_nodes) == 2 and len(net.module_list) == 4


class _Mix(nn.Module):
    """A feed-forward module of two conditions."""

    def __init__(self):
        super().__init__()
        self.linear = nn.Linear(9, 2)

    def forward(self, a, b):
        return self.linear(torch.cat([a, b], dim=1))


def test_intermediate_outputs_forward_and_reverse():
    net, nodes = two_input_net()
    a, b, c1, c2, merge, coupling, split, second, z1, z2 = nodes
    x = [torch.randn(2, 3, dtype=torch.float64), torch.randn(2, 5, dtype=torch.float64)]
    c = [torch.randn(2, 2, dtype=torch.float64), torch.randn(2, 4, dtype=torch.float64)]
    outs, jacobians = net(x, c=c, intermediate_outputs=True)
    assert torch.equal(outs[(a, 0)], x[0]) and torch.equal(outs[(c2, 0)], c[1])
    assert outs[(merge, 0)].shape == (2, 8)
    (out1, out2), total = net(x, c=c)
    assert torch.equal(outs[(z1, 0)], out1) and torch.equal(outs[(z2, 0)], out2)
    assert set(jacobians) == {merge, coupling, split, second}
    torch.testing.assert_close(sum(jacobians.values()), total, atol=1e-12, rtol=0)

    rev, rev_jacobians = net([out1, out2], c=c, rev=True, intermediate_outputs=True)
    torch.testing.assert_close(rev[(a, 0)], x[0], atol=1e-10, rtol=0)
    torch.testing.assert_close(rev[(merge, 1)], x[1], atol=1e-10, rtol=0)  # merge's input 1
    assert torch.equal(rev[(z2, 0)], out2)
    torch.testing.assert_close(rev[(coupling, 0)], outs[(merge, 0)], atol=1e-10, rtol=0)
    _, no_jac = net(x, c=c, intermediate_outputs=True, jac=False)
    assert no_jac is None and rev_jacobians is not None


def test_jac_false_returns_zeros_and_single_output_is_bare():
    x = Ff.InputNode(4)
    node = glow(x)
    net = Ff.GraphINN([x, node, Ff.OutputNode(node)])
    z, log_jac_det = net(torch.randn(5, 4), jac=False)
    assert isinstance(z, torch.Tensor) and torch.equal(log_jac_det, torch.zeros(5))
    x = Ff.InputNode(4)
    node = glow(x)
    tuple_net = Ff.GraphINN([x, node, Ff.OutputNode(node)], force_tuple_output=True)
    z, _ = tuple_net(torch.randn(5, 4))
    assert isinstance(z, tuple) and len(z) == 1


def test_bare_tensor_condition_and_vector_condition_node():
    x, c = Ff.InputNode(4), Ff.ConditionNode(1)
    node = glow(x, conditions=c)
    net = perturbed(Ff.GraphINN([x, c, node, Ff.OutputNode(node)]))
    x_val, c_val = torch.randn(6, 4, dtype=torch.float64), torch.randn(6, dtype=torch.float64)
    z, log_jac_det = assert_inverts(net, x_val, c_val)
    z2, log_jac_det2 = net(x_val, c=[c_val[:, None]])
    assert torch.equal(z, z2) and torch.equal(log_jac_det, log_jac_det2)


@pytest.mark.parametrize("inner_tuple", [False, True])
def test_nested_graph_and_sequence_as_nodes(inner_tuple):
    ix, ic = Ff.InputNode(4, name="ix"), Ff.ConditionNode(2, name="ic")
    inner_node = glow(ix, conditions=ic, name="inner_glow")
    inner = Ff.GraphINN([ix, ic, inner_node, Ff.OutputNode(inner_node)],
                        force_tuple_output=inner_tuple)
    seq = Ff.SequenceINN(4, force_tuple_output=inner_tuple)
    seq.append(Fm.GLOWCouplingBlock, cond=0, cond_shape=(2,), subnet_constructor=mlp_subnet)
    seq.append(Fm.PermuteRandom, seed=0)

    x, c = Ff.InputNode(4, name="x"), Ff.ConditionNode(2, name="c")
    first = Ff.Node(x, inner, conditions=c, name="graph_in_graph")
    second = Ff.Node(first, seq, conditions=[c], name="seq_in_graph")
    outer = perturbed(Ff.GraphINN([x, c, first, second, Ff.OutputNode(second)]))
    n_params = sum(p.numel() for p in outer.parameters())
    assert n_params == sum(p.numel() for p in inner.parameters()) + sum(
        p.numel() for p in seq.parameters())
    x_val, c_val = torch.randn(3, 4, dtype=torch.float64), torch.randn(3, 2, dtype=torch.float64)
    z, log_jac_det = assert_inverts(outer, x_val, [c_val])
    z_inner, ld_inner = inner(x_val, c=[c_val])
    z_inner = z_inner[0] if inner_tuple else z_inner
    z_seq, ld_seq = seq(z_inner, c=[c_val])
    z_seq = z_seq[0] if inner_tuple else z_seq
    torch.testing.assert_close(z, z_seq, atol=1e-12, rtol=0)
    torch.testing.assert_close(log_jac_det, ld_inner + ld_seq, atol=1e-12, rtol=0)

    outer_seq = Ff.SequenceINN(4)
    outer_seq.append(inner, cond=0)
    outer_seq.append(seq, cond=0)
    z2, log_jac_det2 = outer_seq(x_val, c=[c_val])
    torch.testing.assert_close(z2, z, atol=1e-12, rtol=0)
    torch.testing.assert_close(log_jac_det2, log_jac_det, atol=1e-12, rtol=0)


def test_multi_output_graph_as_node():
    ix = Ff.InputNode(6, name="ix")
    split = Ff.Node(ix, Fm.Split, {}, name="split")
    inner = Ff.GraphINN([ix, split, Ff.OutputNode(split.out0), Ff.OutputNode(split.out1)])
    x = Ff.InputNode(6)
    node = Ff.Node(x, inner, name="inner")
    merge = Ff.Node([node.out1, node.out0], Fm.Concat, {})
    net = Ff.GraphINN([x, node, merge, Ff.OutputNode(merge)])
    x_val = torch.arange(12.0).reshape(2, 6)
    z, _ = net(x_val)
    assert torch.equal(z, torch.cat([x_val[:, 3:], x_val[:, :3]], dim=1))
    assert torch.equal(net(z, rev=True)[0], x_val)


def test_node_inputs_forms_names_and_printing():
    x = Ff.InputNode(6, name="x")
    split = Ff.Node(x.out0, Fm.Split, {}, name="split")
    a = glow((split, 0), name="a")
    b = glow([split.out1], name="b")
    merge = Ff.Node([a, (b, 0)], Fm.Concat, None, name="merge")
    assert split.out1 == (split, 1)
    assert merge.inputs == [(a, 0), (b, 0)]
    assert split.outputs == [(a, 0), (b, 0)]
    assert str(split) == "Node 'split': [(6,)] -> Split -> [(3,), (3,)]"
    assert repr(split) == "Node 'split'"
    assert len(Ff.InputNode(3).name) == 6
    with pytest.raises(AttributeError, match="no output 2"):
        split.out2  # noqa: B018
    out = Ff.OutputNode(merge, name="z")
    net = Ff.GraphINN(Ff.collect_nodes(x))
    assert net.get_node_by_name("a") is a and net.get_module_by_name("a") is a.module
    assert net.get_node_by_name("nope") is None and net.get_module_by_name("nope") is None
    assert out in net.node_list


def test_user_modules_log_det_forms_are_broadcast():
    x = Ff.InputNode(3)
    nodes = [x]
    for log_det in [None, 0.5, torch.tensor(0.25), torch.tensor(0.125, dtype=torch.float32)]:
        nodes.append(Ff.Node(nodes[-1], _ScalarLogDet, {"log_det": log_det}))
    nodes.append(Ff.OutputNode(nodes[-1]))
    net = Ff.GraphINN(nodes)
    z, log_jac_det = net(torch.randn(4, 3, dtype=torch.float64))
    assert log_jac_det.dtype == torch.float64
    assert torch.equal(log_jac_det, torch.full((4,), 0.875, dtype=torch.float64))
    _, log_jac_det = net(z, rev=True, jac=False)
    assert torch.equal(log_jac_det, torch.zeros(4, dtype=torch.float64))


class _ScalarLogDet(Fm.InvertibleModule):
    """A FrEIA-style identity module returning a scalar log-det of a chosen type."""

    def __init__(self, dims_in, log_det=None):
        super().__init__(dims_in)
        self.log_det = log_det

    def forward(self, x, rev=False, jac=True):
        return (x[0] + 0,), self.log_det

    def output_dims(self, input_dims):
        return input_dims


def test_deprecated_names_and_alias():
    x = Ff.InputNode(4)
    node = glow(x)
    out = Ff.OutputNode(node)
    with pytest.warns(DeprecationWarning, match="GraphINN"):
        net = Ff.ReversibleGraphNet([x, node, out], verbose=False)
    with pytest.warns(DeprecationWarning, match="returns a tuple"):
        z, _ = net(torch.randn(2, 4))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with pytest.raises(ValueError, match="ind_in"):
            Ff.ReversibleGraphNet([x, node, out], ind_in=[0])
    graph = Ff.GraphINN([x, node, out])
    with pytest.warns(DeprecationWarning, match="x_or_z"):
        z2, _ = graph(x=torch.ones(2, 4))
    with pytest.warns(DeprecationWarning, match="SequenceINN"):
        seq = Ff.ReversibleSequential(4)
    assert isinstance(seq, Ff.SequenceINN)


def test_verbose_prints(capsys):
    x = Ff.InputNode(4)
    node = glow(x, name="printed")
    Ff.GraphINN([x, node, Ff.OutputNode(node)], verbose=True)
    assert "GLOWCouplingBlock" in capsys.readouterr().out


def test_plot_without_graphviz_or_directory(tmp_path):
    x = Ff.InputNode(4)
    node = glow(x)
    net = Ff.GraphINN([x, node, Ff.OutputNode(node)])
    with pytest.raises(FileNotFoundError, match="does not exist"):
        net.plot(str(tmp_path / "missing"), "graph")
    try:
        import graphviz  # noqa: F401
    except ImportError:
        with pytest.raises(ImportError, match=r"inn\[plot\]"):
            net.plot(str(tmp_path), "graph")
    else:
        import shutil

        if shutil.which("dot") is None:
            with pytest.raises(RuntimeError, match="dot"):
                net.plot(str(tmp_path), "graph")
        else:
            net.plot(str(tmp_path), "graph")
            assert (tmp_path / "graph").exists()
            assert (tmp_path / "graph.pdf").exists()


def test_validation_switch():
    x = Ff.InputNode(4)
    node = glow(x)
    net = Ff.GraphINN([x, node, Ff.OutputNode(node)])
    with pytest.raises(inn.ShapeError):
        net(torch.randn(2, 5))
    with inn.set_validation(False):
        assert not inn.validation_enabled()
        with pytest.raises(RuntimeError) as info:
            net(torch.randn(2, 5))
        assert not isinstance(info.value, inn.ShapeError)
    assert inn.validation_enabled()
