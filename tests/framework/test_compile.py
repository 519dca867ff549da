"""``torch.compile``: every registry module traces into one graph inside the containers, a
compiled network compiles once for all batch sizes, and ``compile_blocks`` compiles identical
blocks once.

Compilations are counted with a custom backend (public API: a callable that receives each
graph dynamo produces), so a recompile or a graph break shows up as an extra call.
"""

import os

import pytest
import torch
import torch.nn as nn
from cases import CASES, mlp_subnet
from subjects import build, wrap

import inn
import inn.framework as Ff
import inn.modules as Fm

NAMES = sorted(CASES)

# Modules documented as not traceable with fullgraph=True, with the reason (see their docstrings).
UNTRACEABLE = {
    name: "IResNetLayer: its log-det series calls torch.autograd.grad inside forward"
    for name in NAMES if name.startswith("iresnet")
} | {
    name: "OrthogonalTransform: its backward-pass counter changes the module during backward"
    for name in NAMES if name.startswith("orthogonal")
}

# One configuration per module family (registry file), with conditions where the family has them.
FAMILIES = {
    "activations": "inv_auto_act",
    "approximate": "invauto_fc",
    "autoregressive": "maf_cond",
    "core": "glow_cond",
    "core-elementary": "actnorm",
    "coupling": "all_in_one_cond",
    "elementary": "invertible_linear_lu",
    "fixed": "householder_cond",
    "gmm": "gmm_fixed_component",
    "reshapes": "haar_down",
    "splines": "rq_spline_cond",
    "splines-coupling": "spline_coupling_cond",
}


class CountingBackend:
    """A ``torch.compile`` backend that counts the graphs it is given and runs them eagerly."""

    def __init__(self):
        self.graphs = 0

    def __call__(self, graph_module, example_inputs):
        self.graphs += 1
        return graph_module.forward


def _round_trip(net, x, c, jac=True):
    z, log_jac_det = net(x, c=c, jac=jac)
    z_in = z if isinstance(z, torch.Tensor) else list(z)
    x_rec, log_jac_det_rev = net(z_in, c=c, rev=True, jac=jac)
    return z, log_jac_det, x_rec, log_jac_det_rev


def _subject(name, form):
    module, x, c = build(CASES[name])
    return wrap(module, form), list(x), list(c) or None


def _assert_same(actual, expected):
    for a, b in zip(actual, expected, strict=True):
        if isinstance(a, torch.Tensor):
            torch.testing.assert_close(a, b, atol=1e-12, rtol=0)
        else:
            _assert_same(a, b)


@pytest.mark.parametrize("name", NAMES)
def test_every_module_traces_whole_in_a_graph(name):
    """Forward and reverse with log-dets, conditions included, in one graph (tracing only)."""
    net, x, c = _subject(name, "graph")
    torch.compiler.reset()
    compiled = torch.compile(_round_trip, fullgraph=True, backend="eager")
    if name in UNTRACEABLE:
        with pytest.raises(Exception, match=r"(?i)unsupported|graph break|not supported"):
            compiled(net, x, c)
        return
    _assert_same(compiled(net, x, c), _round_trip(net, x, c))


def test_untraceable_layers_trace_where_their_docstrings_say():
    net, x, c = _subject("iresnet", "graph")
    torch.compiler.reset()
    compiled = torch.compile(lambda t: net(t, jac=False)[0], fullgraph=True, backend="eager")
    torch.testing.assert_close(compiled(x), net(x, jac=False)[0], atol=1e-12, rtol=0)
    net, x, c = _subject("orthogonal", "graph")
    torch.compiler.reset()
    compiled = torch.compile(_round_trip, fullgraph=True, backend="eager")
    with torch.no_grad():
        _assert_same(compiled(net, x, c), _round_trip(net, x, c))


def _both_modes(net, x, c):
    return _round_trip(net, x, c, jac=True), _round_trip(net, x, c, jac=False)


@pytest.mark.parametrize("form", ["sequence", "graph"])
@pytest.mark.parametrize("family", sorted(FAMILIES))
def test_families_trace_in_both_containers_with_and_without_log_det(family, form):
    name = FAMILIES[family]
    if form == "sequence" and not CASES[name].sequence:
        pytest.skip("not a single-input block")
    net, x, c = _subject(name, form)
    torch.compiler.reset()
    backend = CountingBackend()
    compiled = torch.compile(_both_modes, fullgraph=True, backend=backend)
    _assert_same(compiled(net, x, c), _both_modes(net, x, c))
    assert backend.graphs == 1


def test_compiles_with_inductor():
    """A small network with conditions, forward and reverse, through inductor's code generation."""
    net, x, c = _subject("glow_cond", "sequence")
    torch.compiler.reset()
    _assert_same(torch.compile(_round_trip, fullgraph=True)(net, x, c), _round_trip(net, x, c))


@pytest.mark.skipif(not os.environ.get("INN_TEST_INDUCTOR"),
                    reason="minutes of C++ compilation; set INN_TEST_INDUCTOR=1 to run")
@pytest.mark.parametrize("family", sorted(FAMILIES))
def test_families_compile_with_inductor(family):
    name = FAMILIES[family]
    net, x, c = _subject(name, "sequence" if CASES[name].sequence else "graph")
    torch.compiler.reset()
    _assert_same(torch.compile(_round_trip, fullgraph=True)(net, x, c), _round_trip(net, x, c))


def _glow_chain(depth, classes=(Fm.GLOWCouplingBlock,)):
    net = Ff.SequenceINN(4)
    for k in range(depth):
        for cls in classes:
            kwargs = {"seed": k} if cls is Fm.PermuteRandom else {"subnet_constructor": mlp_subnet}
            net.append(cls, **({} if cls is Fm.ActNorm else kwargs))
    return net


@pytest.mark.parametrize("validate", [True, False])
def test_compiled_net_compiles_once_for_all_batch_sizes(validate):
    net = _glow_chain(3, (Fm.GLOWCouplingBlock, Fm.PermuteRandom))
    backend = CountingBackend()
    torch.compiler.reset()
    compiled = torch.compile(net, fullgraph=True, dynamic=True, backend=backend)
    with inn.set_validation(validate):
        for batch in (8, 8, 16, 3, 64):
            x = torch.randn(batch, 4)
            z, log_jac_det = compiled(x)
            torch.testing.assert_close(z, net(x)[0], atol=1e-6, rtol=0)
        assert backend.graphs == 1
        # a module class this process has not run yet, run eagerly elsewhere, changes nothing
        Fm.RNVPCouplingBlock([(4,)], subnet_constructor=mlp_subnet)(torch.randn(2, 4))
        Ff.SequenceINN(4)(torch.randn(2, 4))
        compiled(torch.randn(8, 4))
        compiled(torch.randn(5, 4))
        assert backend.graphs == 1
        compiled(z.detach(), rev=True)
        compiled(torch.randn(7, 4), rev=True)
        assert backend.graphs == 2


def test_compiled_net_raises_inn_errors_for_wrong_shapes():
    net = _glow_chain(2)
    torch.compiler.reset()
    compiled = torch.compile(net, dynamic=True, backend="eager")
    compiled(torch.randn(3, 4))
    with pytest.raises(inn.ShapeError, match=r"expected shape \(B, 4\), got \(3, 5\)"):
        compiled(torch.randn(3, 5))


def test_compiled_graph_net_with_conditions_compiles_once():
    x, c = Ff.InputNode(4, name="x"), Ff.ConditionNode(2, name="c")
    glow = Ff.Node(x, Fm.GLOWCouplingBlock, {"subnet_constructor": mlp_subnet}, conditions=c)
    perm = Ff.Node(glow, Fm.PermuteRandom, {"seed": 0})
    net = Ff.GraphINN([x, c, glow, perm, Ff.OutputNode(perm)])
    backend = CountingBackend()
    torch.compiler.reset()
    compiled = torch.compile(net, fullgraph=True, dynamic=True, backend=backend)
    for batch in (8, 8, 16, 5):
        compiled(torch.randn(batch, 4), c=[torch.randn(batch, 2)])
    assert backend.graphs == 1


def test_compile_blocks_compiles_identical_blocks_once():
    classes = (Fm.GLOWCouplingBlock, Fm.PermuteRandom)
    counts = {}
    for depth in (2, 8):
        net = _glow_chain(depth, classes)
        reference = _glow_chain(depth, classes)
        reference.load_state_dict(net.state_dict())
        backend = CountingBackend()
        torch.compiler.reset()
        assert net.compile_blocks(backend=backend, dynamic=True) is net
        for batch in (8, 8, 5):
            x = torch.randn(batch, 4)
            z, log_jac_det = net(x)
            z_ref, log_jac_det_ref = reference(x)
            torch.testing.assert_close(z, z_ref, atol=1e-6, rtol=0)
            torch.testing.assert_close(log_jac_det, log_jac_det_ref, atol=1e-5, rtol=0)
        with torch.no_grad():
            x_rec, _ = net(z, rev=True)
        torch.testing.assert_close(x_rec, x, atol=1e-5, rtol=0)
        counts[depth] = backend.graphs
    assert counts[8] == counts[2] >= len(classes)


def test_compile_blocks_reaches_nested_containers_and_graphs():
    def build():
        x_node = Ff.InputNode(4, name="x")
        outer = Ff.Node(x_node, _glow_chain(2), name="inner")
        glow = Ff.Node(outer, Fm.GLOWCouplingBlock, {"subnet_constructor": mlp_subnet})
        return Ff.GraphINN([x_node, outer, glow, Ff.OutputNode(glow)])

    net, reference = build(), build()
    reference.load_state_dict(net.state_dict())
    inner = net.module_list[0]
    x = torch.randn(6, 4)
    expected, expected_log_det = reference(x)
    backend = CountingBackend()
    torch.compiler.reset()
    net.compile_blocks(backend=backend)
    z, log_jac_det = net(x)
    torch.testing.assert_close(z, expected, atol=1e-6, rtol=0)
    torch.testing.assert_close(log_jac_det, expected_log_det, atol=1e-5, rtol=0)
    assert "forward" not in inner.__dict__  # nested containers compile their blocks instead
    assert all("forward" in block.__dict__ for block in inner)
    # the three GLOW blocks share their graphs: one for the first block, whose input does not
    # require grad, one for the two others
    assert backend.graphs == 2


def test_compile_blocks_keeps_hooks_and_validation():
    net = _glow_chain(2).compile_blocks(backend=CountingBackend())
    seen = []
    net[1].register_forward_pre_hook(lambda module, args: seen.append(1))
    net(torch.randn(3, 4))
    assert seen == [1]
    with pytest.raises(inn.ShapeError, match=r"\(B, 4\)"):
        net(torch.randn(3, 5))


def test_subnet_of_a_compiled_block_is_an_ordinary_module():
    """``compile_blocks`` changes how blocks run, never their parameters or state dict."""
    net = _glow_chain(2)
    keys = list(net.state_dict())
    net.compile_blocks(backend=CountingBackend())
    assert list(net.state_dict()) == keys
    assert all(isinstance(m, nn.Module) for m in net.modules())
