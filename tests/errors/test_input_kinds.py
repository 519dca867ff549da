"""Inputs of the wrong kind, dtype or device get one clear InputTypeError each, saying how to
convert them; integer and complex tensors never produce truncated or mixed results."""

import numpy as np
import pytest
import torch
from cases import mlp_subnet

import inn
import inn.framework as Ff
import inn.modules as Fm


def sequence():
    seq = Ff.SequenceINN(4)
    seq.append(Fm.GLOWCouplingBlock, cond=0, cond_shape=(2,), subnet_constructor=mlp_subnet)
    return seq


def graph():
    x, c = Ff.InputNode(4, name="x"), Ff.ConditionNode(2, name="c")
    a = Ff.Node(x, Fm.GLOWCouplingBlock, {"subnet_constructor": mlp_subnet}, conditions=c)
    return Ff.GraphINN([x, c, a, Ff.OutputNode(a, name="z")])


def _feed_forward_graph():
    x, c = Ff.InputNode(4, name="x"), Ff.ConditionNode(2, name="c")
    ff = Ff.FeedForwardNode(c, (3,), torch.nn.Linear(2, 3), name="ff")
    a = Ff.Node(x, Fm.GLOWCouplingBlock, {"subnet_constructor": mlp_subnet}, conditions=ff)
    return Ff.GraphINN([x, c, ff, a, Ff.OutputNode(a, name="z")])


X, C = torch.randn(8, 4), torch.randn(8, 2)

CASES = [
    ("numpy_sequence", lambda: sequence()(X.numpy(), c=[C]),
     r"SequenceINN inputs: expected a tensor or a list/tuple of tensors, got a numpy array of "
     r"shape \(8, 4\) \(convert it with torch.as_tensor"),
    ("numpy_graph", lambda: graph()(X.numpy(), c=[C]), r"GraphINN inputs:.*numpy array"),
    ("numpy_module", lambda: Fm.PermuteRandom([(4,)])(np.zeros((2, 4))),
     r"PermuteRandom inputs:.*numpy array"),
    ("numpy_in_list", lambda: graph()([X.numpy()], c=[C]),
     r"GraphINN input 0 \(InputNode 'x'\): expected a tensor, got a numpy array"),
    ("dict", lambda: sequence()({"x": X}, c=[C]), r"SequenceINN inputs:.*a dict \(pass the "
     r"tensors as a list"),
    ("dict_conditions", lambda: graph()(X, c={"c": C}), r"GraphINN conditions:.*a dict"),
    ("list_of_numbers", lambda: sequence()([1.0, 2.0, 3.0, 4.0], c=[C]),
     r"SequenceINN input 0: expected a tensor, got a number \(1.0; pass a tensor"),
    ("list_of_numbers_graph", lambda: graph()([1.0, 2.0], c=[C]),
     r"GraphINN input 0 \(InputNode 'x'\): expected a tensor, got a number"),
    ("string", lambda: sequence()("x", c=[C]), r"SequenceINN inputs:.*got a str"),
    ("int_condition", lambda: sequence()(X, c=1), r"SequenceINN conditions:.*a number \(1;"),
    ("none_in_conditions", lambda: sequence()(X, c=[None]),
     r"SequenceINN condition 0: expected a tensor, got a NoneType"),
    ("numpy_condition_for_feed_forward", lambda: _feed_forward_graph()(X, c=[C.numpy()]),
     r"GraphINN condition 0 \(ConditionNode 'c'\): expected a tensor, got a numpy array"),
    ("float64_into_float32", lambda: sequence()(X.double(), c=[C]),
     r"SequenceINN input 0: got dtype torch.float64, but SequenceINN computes in torch.float32; "
     r"convert the input with x.float\(\), or the network with net.to\(torch.float64\)"),
    ("half_into_float32", lambda: graph()(X.half(), c=[C]),
     r"input 0 \(InputNode 'x'\): got dtype torch.float16.*x.float\(\)"),
    ("float32_into_float64", lambda: sequence().double()(X, c=[C.double()]),
     r"got dtype torch.float32, but SequenceINN computes in torch.float64; convert the input "
     r"with x.to\(torch.float64\)"),
    ("float64_condition", lambda: graph()(X, c=[C.double()]),
     r"GraphINN condition 0 \(ConditionNode 'c'\): got dtype torch.float64"),
    ("int_into_float32", lambda: sequence()(X.long(), c=[C]),
     r"expected a floating-point tensor, got dtype torch.int64.*\.to\(torch.float32\)"),
    ("int_into_actnorm", lambda: Fm.ActNorm([(4,)])([torch.arange(8).reshape(2, 4)]),
     r"ActNorm input 0: expected a floating-point tensor, got dtype torch.int64"),
    ("uint8_into_sigmoid_reverse", lambda: Fm.InvertibleSigmoid([(4,)])(
        [torch.arange(8, dtype=torch.uint8).reshape(2, 4)], rev=True),
     r"InvertibleSigmoid output to invert 0: expected a floating-point tensor, got dtype "
     r"torch.uint8"),
    ("complex_permute", lambda: Fm.PermuteRandom([(4,)])([torch.randn(2, 4, dtype=torch.cfloat)]),
     r"PermuteRandom input 0:.*torch.complex64"),
    ("complex_concat",
     lambda: Fm.Concat([(2,), (2,)])([torch.randn(2, 2, dtype=torch.cfloat)] * 2),
     r"Concat input 0:.*complex64"),
    ("complex_actnorm", lambda: Fm.ActNorm([(4,)])([torch.randn(2, 4, dtype=torch.cfloat)]),
     r"ActNorm input 0:.*complex64"),
    ("complex_condition", lambda: graph()(X, c=[C.to(torch.cfloat)]),
     r"condition 0 \(ConditionNode 'c'\).*complex64"),
    ("wrong_device", lambda: sequence().to("meta")(X, c=[C.to("meta")]),
     r"SequenceINN input 0: the tensor is on device cpu, but SequenceINN is on meta; move it "
     r"with x.to\('meta'\)"),
    ("wrong_device_condition", lambda: graph().to("meta")(X.to("meta"), c=[C]),
     r"condition 0 \(ConditionNode 'c'\): the tensor is on device cpu"),
]


@pytest.mark.parametrize(("trigger", "pattern"), [pytest.param(*c[1:], id=c[0]) for c in CASES])
def test_wrong_input_kinds_raise_input_type_error(trigger, pattern):
    with pytest.raises(inn.InputTypeError, match=pattern) as info:
        trigger()
    assert isinstance(info.value, TypeError) and isinstance(info.value, RuntimeError)


def test_integer_labels_as_conditions_still_reach_a_feed_forward_embedding():
    x, labels = Ff.InputNode(4, name="x"), Ff.ConditionNode(1, name="labels")
    embed = Ff.FeedForwardNode(labels, (3,), torch.nn.Embedding(5, 3), name="embed")
    a = Ff.Node(x, Fm.GLOWCouplingBlock, {"subnet_constructor": mlp_subnet}, conditions=embed)
    net = Ff.GraphINN([x, labels, embed, a, Ff.OutputNode(a)])
    z, _ = net(X, c=[torch.randint(0, 5, (8,))])
    assert z.shape == (8, 4)


def test_modules_with_cast_kernels_accept_any_float_dtype():
    haar = Fm.HaarDownsampling([(2, 4, 4)])  # built in float32, its kernel is cast per call
    (z,), _ = haar([torch.randn(3, 2, 4, 4, dtype=torch.float64)])
    assert z.dtype == torch.float64


def test_moving_a_submodule_alone_is_seen_by_the_dtype_check():
    seq = sequence()
    seq(X, c=[C])  # caches the reference tensor
    seq.module_list[0].double()
    z, log_jac_det = seq(X.double(), c=[C.double()])
    assert z.dtype == log_jac_det.dtype == torch.float64


def test_validation_off_skips_the_kind_checks():
    with inn.set_validation(False), pytest.raises(RuntimeError) as info:
        sequence()(X.double(), c=[C])
    assert not isinstance(info.value, inn.InnError)  # torch's own error: checks were off


def test_appending_after_a_call_updates_the_dtype_check():
    seq = Ff.SequenceINN(4)
    seq.append(Fm.PermuteRandom, seed=0)
    seq(X.double())  # no floating state yet: any float dtype
    seq.append(Fm.GLOWCouplingBlock, subnet_constructor=mlp_subnet)
    with pytest.raises(inn.InputTypeError, match=r"got dtype torch.float64.*torch.float32"):
        seq(X.double())
