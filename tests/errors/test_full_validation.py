"""``set_validation("full")`` finds NaN/Inf in inputs, outputs and log-dets and names the first
block that produced one; True/False keep their meaning."""

import pytest
import torch
from cases import mlp_subnet

import inn
import inn.framework as Ff
import inn.modules as Fm


class Explodes(Fm.InvertibleModule):
    """Finite inputs, but its output (or its log-det) becomes inf."""

    def __init__(self, dims_in, where="output"):
        super().__init__(dims_in)
        self.where = where

    def forward(self, x, rev=False, jac=True):
        out = x[0] * float("inf") if self.where == "output" else x[0]
        log_det = torch.full((x[0].shape[0],), float("nan") if self.where == "log_det" else 0.0)
        return (out,), log_det

    def output_dims(self, input_dims):
        return input_dims


def chain(where="output"):
    seq = Ff.SequenceINN(4)
    seq.append(Fm.GLOWCouplingBlock, subnet_constructor=mlp_subnet)
    seq.append(Explodes, where=where)
    seq.append(Fm.GLOWCouplingBlock, subnet_constructor=mlp_subnet)  # would spread the NaN
    return seq


def graph_with_nan_block():
    x = Ff.InputNode(4, name="x")
    a = Ff.Node(x, Fm.ActNorm, {}, name="norm")
    b = Ff.Node(a, Fm.GLOWCouplingBlock, {"subnet_constructor": mlp_subnet}, name="glow")
    net = Ff.GraphINN([x, a, b, Ff.OutputNode(b)])
    with torch.no_grad():
        net.module_list[1].subnet1[0].weight.fill_(float("nan"))
    return net


X = torch.randn(6, 4)


@pytest.mark.parametrize(("build", "call", "pattern"), [
    (chain, lambda net: net(X), r"SequenceINN block 1 \(Explodes\): Explodes \(the first block "
     r"to produce a non-finite value\) output 0 contains NaN or Inf \(24 of 24 values\)"),
    (lambda: chain("log_det"), lambda net: net(X), r"block 1 \(Explodes\).*log-det contains"),
    (chain, lambda net: net(torch.full((6, 4), float("nan"))),
     r"SequenceINN input 0 contains NaN or Inf"),
    (chain, lambda net: net(X, rev=True), r"block 1 \(Explodes\).*reconstructed input 0"),
    (graph_with_nan_block, lambda net: net(X), r"Node 'glow' \(GLOWCouplingBlock\)"),
    (lambda: Fm.PermuteRandom([(4,)], seed=0),
     lambda m: m([X.clone().index_fill_(1, torch.tensor([1]), float("inf"))]),
     r"PermuteRandom input 0 contains NaN or Inf \(6 of 24 values\)"),
])
def test_full_validation_names_the_first_non_finite_block(build, call, pattern):
    net = build()
    call(net)  # default validation: NaN/Inf pass silently (the checks cost host syncs)
    with inn.set_validation("full"), pytest.raises(inn.NonFiniteError, match=pattern) as info:
        call(net)
    assert isinstance(info.value, FloatingPointError)


def test_full_validation_condition_and_switch_states():
    seq = Ff.SequenceINN(4)
    seq.append(Fm.GLOWCouplingBlock, cond=0, cond_shape=(2,), subnet_constructor=mlp_subnet)
    with inn.set_validation("full"):
        assert inn.validation_enabled()
        with pytest.raises(inn.NonFiniteError, match=r"SequenceINN condition 0"):
            seq(X, c=[torch.full((6, 2), float("inf"))])
        z, _ = seq(X, c=[torch.randn(6, 2)])  # finite: runs as usual
        with inn.set_validation(False):
            assert not inn.validation_enabled()
    assert inn.validation_enabled() and repr(inn.set_validation(True)) == "set_validation(True)"
    with pytest.raises(ValueError, match="True, False or 'full'"):
        inn.set_validation("ful")
