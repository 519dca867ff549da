"""Whole models pickle: torch.save / torch.load of networks built with inn.nn's subnet helpers."""

import io
import pickle

import torch
from cases import CASES
from subjects import build

import inn
import inn.framework as Ff
import inn.modules as Fm
from inn.nn import conv_subnet, mlp_subnet


def _round_trip(model):
    buffer = io.BytesIO()
    torch.save(model, buffer)
    buffer.seek(0)
    return torch.load(buffer, weights_only=False)


def _perturb(model):
    with torch.no_grad():
        for p in model.parameters():
            if p.is_floating_point():
                p.add_(0.1 * torch.randn_like(p))


def test_graph_with_conv_subnet_saves_and_loads_whole():
    x = Ff.InputNode(4, 6, 6, name="x")
    glow = Ff.Node(x, Fm.GLOWCouplingBlock, {"subnet_constructor": conv_subnet(8)}, name="glow")
    act = Ff.Node(glow, Fm.ActNorm, {}, name="act")
    net = Ff.GraphINN([x, glow, act, Ff.OutputNode(act, name="z")]).double()
    data = torch.randn(3, 4, 6, 6, dtype=torch.float64)
    net(data)  # initialise ActNorm
    _perturb(net)
    loaded = _round_trip(net)
    z, log_jac_det = net(data)
    z_loaded, log_jac_det_loaded = loaded(data)
    assert torch.equal(z, z_loaded) and torch.equal(log_jac_det, log_jac_det_loaded)
    assert loaded.get_module_by_name("glow") is loaded.module_list[0]


def test_flow_with_mlp_subnet_saves_and_loads_whole():
    seq = Ff.SequenceINN(4)
    for k in range(2):
        seq.append(Fm.AllInOneBlock, subnet_constructor=mlp_subnet((16, 16), zero_init=False))
        seq.append(Fm.PermuteRandom, seed=k)
    flow = inn.Flow(seq).double()
    loaded = _round_trip(flow)
    data = torch.randn(5, 4, dtype=torch.float64)
    assert torch.equal(flow.log_prob(data), loaded.log_prob(data))
    # the constructors themselves pickle, and rebuild the same architecture
    for helper in (mlp_subnet(8), conv_subnet((4, 4), kernel_size=5, dims=1)):
        clone = pickle.loads(pickle.dumps(helper))
        assert clone == helper and str(clone(3, 2)) == str(helper(3, 2))


def test_every_registry_case_pickles():
    failures = []
    for name, case in sorted(CASES.items()):
        module, _, _ = build(case)
        try:
            pickle.dumps(module)
        except Exception as error:  # collect them all, report together
            failures.append(f"{name}: {error!r}")
    assert not failures, failures
