"""GraphINN.module_list follows FrEIA 0.2's order: FrEIA graph checkpoints load with strict=True,
and load_freia_state_dict maps the rest (FrEIA's set-order ties) by type and shapes."""

import pytest
import torch
import torch.nn as nn

import inn
import inn.framework as Ff
import inn.modules as Fm

freia = pytest.importorskip("FrEIA")
import FrEIA.framework as FFf  # noqa: E402
import FrEIA.modules as FFm  # noqa: E402


def subnet(c_in, c_out):
    return nn.Sequential(nn.Linear(c_in, 8), nn.Tanh(), nn.Linear(8, c_out))


def early_exit(F, M, late_side=True):
    """Issue 10's minimal case: x -> Split; out1 -> PermuteRandom ("side");
    out0 -> GLOW -> GLOW -> GLOW; Concat(side, last GLOW) -> OutputNode."""
    x = F.InputNode(4, name="x")
    split = F.Node(x, M.Split, {}, name="split")
    side = F.Node(split.out1, M.PermuteRandom, {"seed": 0}, name="side")
    chain, previous = [], split.out0
    for k in range(3):
        previous = F.Node(previous, M.GLOWCouplingBlock, {"subnet_constructor": subnet},
                          name=f"glow{k}")
        chain.append(previous)
    cat = F.Node([side.out0, chain[-1].out0], M.Concat, {}, name="cat")
    main = [x, split, *chain, cat, F.OutputNode(cat, name="z")]
    return [*main, side] if late_side else [x, split, side, *chain, *main[-2:]]


def two_outputs(F, M):
    """An early exit to its own OutputNode: FrEIA's order is deterministic here."""
    x = F.InputNode(4, name="x")
    split = F.Node(x, M.Split, {}, name="split")
    g1 = F.Node(split.out0, M.GLOWCouplingBlock, {"subnet_constructor": subnet}, name="g1")
    g2 = F.Node(g1, M.GLOWCouplingBlock, {"subnet_constructor": subnet}, name="g2")
    side = F.Node(split.out1, M.PermuteRandom, {"seed": 0}, name="side")
    return [x, split, g1, g2, side, F.OutputNode(g2, name="z0"), F.OutputNode(side, name="z1")]


def conditional_chain(F, M):
    x, c = F.InputNode(4, name="x"), F.ConditionNode(2, name="c")
    a = F.Node(x, M.GLOWCouplingBlock, {"subnet_constructor": subnet}, conditions=c, name="a")
    n = F.Node(a, M.ActNorm, {}, name="n")
    p = F.Node(n, M.PermuteRandom, {"seed": 2}, name="p")
    b = F.Node(p, M.GLOWCouplingBlock, {"subnet_constructor": subnet}, name="b")
    return [x, c, b, p, n, a, F.OutputNode(b, name="z")]


def types(net):
    return [type(m).__name__ for m in net.module_list]


def build(builder, **kwargs):
    torch.manual_seed(0)
    ours = Ff.GraphINN(builder(Ff, Fm, **kwargs))
    theirs = FFf.GraphINN(builder(FFf, FFm, **kwargs))
    return ours, theirs


def perturbed_state(net):
    trained = {name for name, p in net.named_parameters() if p.requires_grad}
    generator = torch.Generator().manual_seed(5)
    return {k: v + 0.1 * torch.randn(v.shape, generator=generator) if k in trained else v
            for k, v in net.state_dict().items()}


def assert_same_map(ours, theirs, inputs=1):
    xs = [torch.randn(6, 4) for _ in range(inputs)]
    c = [torch.randn(6, 2)] if ours.dims_c else None
    out, log_jac_det = ours(xs, c=c)
    ref, ref_log_jac_det = theirs(xs, c=c)
    for a, b in zip(out if isinstance(out, tuple) else (out,),
                    ref if isinstance(ref, tuple) else (ref,)):
        torch.testing.assert_close(a, b, atol=1e-5, rtol=1e-5)
    torch.testing.assert_close(log_jac_det, ref_log_jac_det, atol=1e-4, rtol=1e-5)


@pytest.mark.parametrize("builder", [two_outputs, conditional_chain])
def test_deterministic_freia_orders_match_and_load_strictly(builder):
    ours, theirs = build(builder)
    assert types(ours) == types(theirs)
    theirs.load_state_dict(perturbed_state(theirs))
    ours.load_state_dict(theirs.state_dict(), strict=True)
    theirs.eval(), ours.eval()
    assert_same_map(ours, theirs)


@pytest.mark.parametrize("late_side", [True, False], ids=["side-last", "side-early"])
def test_minimal_early_exit_loads_freia_checkpoint_strictly(late_side):
    expected = ["Split", "GLOWCouplingBlock", "GLOWCouplingBlock", "GLOWCouplingBlock",
                "PermuteRandom", "Concat"]
    torch.manual_seed(0)
    ours = Ff.GraphINN(early_exit(Ff, Fm, late_side))
    assert types(ours) == expected  # whatever the node-list order
    # FrEIA iterates a set at the Concat: retry until it takes the tie as we do (it does so
    # most of the time); the other order is load_freia_state_dict's job (next test).
    for _ in range(50):
        theirs = FFf.GraphINN(early_exit(FFf, FFm, late_side))
        if types(theirs) == expected:
            break
    assert types(theirs) == expected
    theirs.load_state_dict(perturbed_state(theirs))
    ours.load_state_dict(theirs.state_dict(), strict=True)
    assert_same_map(ours, theirs)


def test_loader_maps_freia_tie_orders_by_type_and_shapes():
    torch.manual_seed(0)
    ours = Ff.GraphINN(early_exit(Ff, Fm))
    for _ in range(50):
        theirs = FFf.GraphINN(early_exit(FFf, FFm))
        if types(theirs) == types(ours):
            break
    theirs.load_state_dict(perturbed_state(theirs))
    # FrEIA's other tie order: the side branch between the 2nd and 3rd GLOW
    order = [0, 1, 2, 4, 3, 5]
    shuffled = {}
    for key, value in theirs.state_dict().items():
        _, index, rest = key.split(".", 2)
        shuffled[f"module_list.{order.index(int(index))}.{rest}"] = value
    with pytest.raises(RuntimeError):
        ours.load_state_dict(shuffled, strict=True)
    mapping = Ff.load_freia_state_dict(ours, shuffled)
    assert mapping == [-1, 1, 2, 4, 3, -1]
    assert_same_map(ours, theirs)
    assert Ff.load_freia_state_dict(ours, theirs) == [-1, 1, 2, 3, 4, -1]  # plain load works
    with pytest.raises(inn.ModuleArgumentError, match="not of the form"):
        Ff.load_freia_state_dict(ours, {"weird.key": torch.zeros(1)})
    with pytest.raises(inn.ModuleArgumentError, match="no block of the checkpoint fits"):
        Ff.load_freia_state_dict(ours, {k: v for k, v in shuffled.items()
                                        if not k.startswith("module_list.4.")})
