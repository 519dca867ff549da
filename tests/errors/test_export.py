"""TorchScript is refused with a pointer to torch.compile / torch.export; torch.export works for
SequenceINN and GraphINN of couplings, forward and reverse, with conditions."""

import re
from pathlib import Path

import pytest
import torch
from cases import mlp_subnet

import inn
import inn.framework as Ff
import inn.modules as Fm


def sequence():
    seq = Ff.SequenceINN(4)
    seq.append(Fm.GLOWCouplingBlock, subnet_constructor=mlp_subnet)
    seq.append(Fm.PermuteRandom, seed=0)
    seq.append(Fm.RNVPCouplingBlock, cond=0, cond_shape=(2,), subnet_constructor=mlp_subnet)
    return seq.double()


def graph():
    x, c = Ff.InputNode(4, name="x"), Ff.ConditionNode(2, name="c")
    s = Ff.Node(x, Fm.Split, {}, name="split")
    a = Ff.Node(s.out0, Fm.AllInOneBlock, {"subnet_constructor": mlp_subnet}, conditions=c,
                name="aio")
    b = Ff.Node(s.out1, Fm.NICECouplingBlock, {"subnet_constructor": mlp_subnet}, name="nice")
    m = Ff.Node([a.out0, b.out0], Fm.Concat, {}, name="concat")
    g = Ff.Node(m, Fm.GLOWCouplingBlock, {"subnet_constructor": mlp_subnet}, name="glow")
    return Ff.GraphINN([x, c, s, a, b, m, g, Ff.OutputNode(g, name="z")]).double()


@pytest.mark.parametrize("build", [sequence, graph, lambda: Fm.ActNorm([(4,)])])
def test_torchscript_is_refused_with_a_pointer(build):
    with pytest.raises(inn.TorchScriptError, match=r"torch.compile.*torch.export.export"):
        torch.jit.script(build())


@pytest.mark.parametrize("build", [sequence, graph])
def test_torch_export_matches_eager_both_directions(build):
    torch.manual_seed(1)
    net = build()
    for p in net.parameters():  # leave the identity initialisation
        p.data.add_(0.2 * torch.randn_like(p))
    x, c = torch.randn(5, 4, dtype=torch.float64), torch.randn(5, 2, dtype=torch.float64)
    z, log_jac_det = net(x, c=[c])
    forward = torch.export.export(net, (x,), {"c": [c]}).module()
    z_exported, log_det_exported = forward(x, c=[c])
    torch.testing.assert_close(z_exported, z, rtol=0, atol=1e-12)
    torch.testing.assert_close(log_det_exported, log_jac_det, rtol=0, atol=1e-12)
    reverse = torch.export.export(net, (z,), {"c": [c], "rev": True}).module()
    x_back, log_det_back = reverse(z, c=[c], rev=True)
    torch.testing.assert_close(x_back, x, rtol=0, atol=1e-9)
    torch.testing.assert_close(log_det_back, -log_jac_det, rtol=0, atol=1e-9)


def test_export_guide_runs():
    guide = (Path(__file__).parents[2] / "docs" / "howto" / "export.md").read_text()
    namespace = {}
    for block in re.findall(r"```python\n(.*?)```", guide, flags=re.S):
        exec(compile(block, "docs/howto/export.md", "exec"), namespace)
    torch.testing.assert_close(namespace["x_back"], namespace["x"], rtol=0, atol=1e-5)
    torch.testing.assert_close(namespace["minus_log_jac_det"], -namespace["log_jac_det"])
