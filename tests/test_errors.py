"""Every error case of API.md's table for the framework and core modules: the error family, the
builtin FrEIA users catch, and a message that names the node and the expected vs actual value."""

import pytest
import torch
from cases import mlp_subnet

import inn
import inn.framework as Ff
import inn.modules as Fm


def glow(inputs, conditions=None, name=None, **kwargs):
    return Ff.Node(inputs, Fm.GLOWCouplingBlock, {"subnet_constructor": mlp_subnet, **kwargs},
                   conditions=conditions, name=name)


# -- graph construction ----------------------------------------------------------------------

def cycle_through_own_input():
    x = Ff.InputNode(4, name="x")
    a = glow(x, conditions=[x.out0], name="a")
    Ff.GraphINN([x, a, Ff.OutputNode(a)])


def cycle_through_feed_forward():
    x = Ff.InputNode(4, name="x")
    ff = Ff.FeedForwardNode(x, (4,), torch.nn.Identity(), name="ff")
    a = glow(x, conditions=[ff], name="a")
    Ff.GraphINN([x, ff, a, Ff.OutputNode(a)])


def unconsumed_split_half():
    x = Ff.InputNode(4, name="x")
    s = Ff.Node(x, Fm.Split, {}, name="s")
    Ff.GraphINN([x, s, Ff.OutputNode(s.out0)])


def unused_input_node():
    x, y = Ff.InputNode(4, name="x"), Ff.InputNode(4, name="unused")
    a = glow(x, name="a")
    Ff.GraphINN([x, y, a, Ff.OutputNode(a)])


def dead_end_feed_forward():
    x, c = Ff.InputNode(4, name="x"), Ff.ConditionNode(2, name="c")
    ff = Ff.FeedForwardNode(c, (3,), torch.nn.Identity(), name="dead_ff")
    a = glow(x, name="a")
    Ff.GraphINN([x, c, ff, a, Ff.OutputNode(a)])


def unused_condition_node():
    x, c = Ff.InputNode(4, name="x"), Ff.ConditionNode(2, name="lonely")
    a = glow(x, name="a")
    Ff.GraphINN([x, c, a, Ff.OutputNode(a)])


def node_missing_from_list():
    x = Ff.InputNode(4, name="x")
    a = glow(x, name="a")
    b = glow(a, name="missing_b")
    Ff.GraphINN([x, a, Ff.OutputNode(b)])


def condition_missing_from_list():
    x, c = Ff.InputNode(4, name="x"), Ff.ConditionNode(2, name="absent_c")
    a = glow(x, conditions=c, name="a")
    Ff.GraphINN([x, a, Ff.OutputNode(a)])


def duplicate_node():
    x = Ff.InputNode(4, name="x")
    a = glow(x, name="twice")
    Ff.GraphINN([x, a, a, Ff.OutputNode(a)])


def output_consumed_twice():
    x = Ff.InputNode(4, name="x")
    glow(x, name="first")
    glow(x, name="second")


def output_node_with_two_inputs():
    x = Ff.InputNode(4, name="x")
    s = Ff.Node(x, Fm.Split, {}, name="s")
    Ff.OutputNode([s.out0, s.out1], name="out")


def condition_as_input():
    c = Ff.ConditionNode(4, name="cond")
    glow(c, name="reader")


def feed_forward_as_input():
    c = Ff.ConditionNode(4, name="cond")
    ff = Ff.FeedForwardNode(c, (4,), torch.nn.Identity(), name="ff")
    glow(ff, name="reader")


def output_as_input():
    x = Ff.InputNode(4, name="x")
    out = Ff.OutputNode(x, name="out")
    glow(out, name="reader")


def instance_with_module_args():
    x = Ff.InputNode(4, name="x")
    Ff.Node(x, Fm.PermuteRandom([(4,)]), {"seed": 1}, name="prebuilt")


def instance_with_wrong_dims():
    x = Ff.InputNode(4, name="x")
    Ff.Node(x, Fm.PermuteRandom([(5,)]), name="prebuilt")


GRAPH_CASES = [
    ("cycle_own_input", cycle_through_own_input, inn.CycleError, r"reverse.*Node 'a'"),
    ("cycle_feed_forward", cycle_through_feed_forward, inn.CycleError, r"reverse.*'ff'"),
    ("unconsumed_split", unconsumed_split_half, inn.DanglingError, r"Output 1 of Node 's'"),
    ("unused_input", unused_input_node, inn.DanglingError, r"InputNode 'unused'"),
    ("dead_end_ff", dead_end_feed_forward, inn.DanglingError, r"FeedForwardNode 'dead_ff'"),
    ("unused_condition", unused_condition_node, inn.DanglingError, r"ConditionNode 'lonely'"),
    ("missing_node", node_missing_from_list, inn.GraphError, r"Node 'missing_b'.*missing"),
    ("missing_condition", condition_missing_from_list, inn.GraphError,
     r"Node 'a'.*ConditionNode 'absent_c'.*missing"),
    ("duplicate", duplicate_node, inn.GraphError, r"Node 'twice'.*more than once"),
    ("consumed_twice", output_consumed_twice, inn.GraphError,
     r"Output 0 of InputNode 'x'.*Node 'first'.*Node 'second'"),
    ("output_two_inputs", output_node_with_two_inputs, inn.GraphError,
     r"OutputNode 'out'.*exactly one input, got 2"),
    ("condition_as_input", condition_as_input, inn.NodeTypeError,
     r"Node 'reader'.*ConditionNode 'cond'"),
    ("ff_as_input", feed_forward_as_input, inn.NodeTypeError, r"Node 'reader'.*FeedForwardNode"),
    ("output_as_input", output_as_input, inn.NodeTypeError, r"Node 'reader'.*OutputNode 'out'"),
    ("tensor_as_input", lambda: glow(torch.zeros(3), name="t"), inn.NodeTypeError,
     r"Node 't'.*Tensor"),
    ("tensor_as_condition", lambda: glow(Ff.InputNode(4), conditions=[torch.zeros(2)],
                                         name="t"), inn.NodeTypeError, r"Node 't'.*Tensor"),
    ("no_such_output", lambda: glow((Ff.InputNode(4, name="x"), 1), name="t"), inn.GraphError,
     r"output 1 of InputNode 'x'"),
    ("input_node_no_shape", lambda: Ff.InputNode(), inn.GraphError, r"InputNode needs a shape"),
    ("input_node_float", lambda: Ff.InputNode(2.5), inn.GraphError, r"InputNode shape"),
    ("condition_node_no_shape", lambda: Ff.ConditionNode(), inn.GraphError, r"ConditionNode"),
    ("instance_args", instance_with_module_args, inn.ModuleArgumentError,
     r"Node 'prebuilt'.*module_args"),
    ("instance_dims", instance_with_wrong_dims, inn.ModuleArgumentError,
     r"Node 'prebuilt'.*\[\(5,\)\].*\[\(4,\)\]"),
    ("module_type_not_class", lambda: Ff.Node(Ff.InputNode(4), "GLOW", name="s"),
     inn.NodeTypeError, r"Node 's'.*str"),
    ("module_ctor_error_named", lambda: glow(Ff.InputNode(4), name="bad", split_len=7),
     inn.ModuleArgumentError, r"Node 'bad' \(GLOWCouplingBlock\).*split_len"),
    ("graph_without_output", lambda: Ff.GraphINN([Ff.InputNode(4)]), inn.GraphError,
     r"OutputNode"),
    ("non_node_in_list", lambda: Ff.GraphINN([3]), inn.NodeTypeError, r"int"),
]


@pytest.mark.parametrize(("trigger", "error", "pattern"),
                         [pytest.param(*row[1:], id=row[0]) for row in GRAPH_CASES])
def test_graph_construction_errors(trigger, error, pattern):
    with pytest.raises(error, match=pattern):
        trigger()


def test_error_families_keep_freia_builtins():
    assert issubclass(inn.GraphError, ValueError)
    assert issubclass(inn.DanglingError, TypeError) and issubclass(inn.CycleError, ValueError)
    assert issubclass(inn.NodeTypeError, TypeError)
    assert issubclass(inn.ConditionError, ValueError) and issubclass(inn.ConditionError, TypeError)
    assert issubclass(inn.ShapeError, RuntimeError) and issubclass(inn.ShapeError, ValueError)
    for name in ["GraphError", "CycleError", "DanglingError", "NodeTypeError",
                 "ModuleArgumentError", "InputCountError", "ConditionError", "ShapeError"]:
        assert issubclass(getattr(inn.errors, name), inn.InnError)


# -- SequenceINN construction ----------------------------------------------------------------

def seq4():
    return Ff.SequenceINN(4)


SEQUENCE_CASES = [
    ("instance_wrong_dims", lambda: seq4().append(Fm.PermuteRandom([(5,)])),
     r"block 0 \(PermuteRandom\).*\[\(5,\)\].*\[\(4,\)\]"),
    ("instance_kwargs", lambda: seq4().append(Fm.PermuteRandom([(4,)]), seed=3),
     r"block 0 \(PermuteRandom\).*kwargs"),
    ("multi_output", lambda: seq4().append(Fm.Split), r"block 0 \(Split\).*2 outputs"),
    ("cond_without_shape", lambda: seq4().append(Fm.GLOWCouplingBlock, cond=0,
                                                 subnet_constructor=mlp_subnet),
     r"block 0 \(GLOWCouplingBlock\).*cond_shape"),
    ("conditional_instance_without_cond",
     lambda: seq4().append(Fm.GLOWCouplingBlock([(4,)], [(2,)], subnet_constructor=mlp_subnet)),
     r"block 0.*no cond index"),
    ("cond_for_unconditional_instance",
     lambda: seq4().append(Fm.PermuteRandom([(4,)]), cond=0), r"block 0.*takes 0"),
    ("negative_cond", lambda: seq4().append(Fm.PermuteRandom, cond=-1), r"non-negative"),
    ("bad_dims", lambda: Ff.SequenceINN((4,)), r"ints"),
    ("ctor_error_named", lambda: seq4().append(
        Fm.GLOWCouplingBlock, subnet_constructor=mlp_subnet, clamp_activation="X"),
     r"block 0 \(GLOWCouplingBlock\).*clamp_activation"),
]


@pytest.mark.parametrize(("trigger", "pattern"),
                         [pytest.param(*row[1:], id=row[0]) for row in SEQUENCE_CASES])
def test_sequence_construction_errors(trigger, pattern):
    with pytest.raises(inn.ModuleArgumentError, match=pattern):
        trigger()


def test_conflicting_condition_shapes():
    seq = seq4()
    seq.append(Fm.GLOWCouplingBlock, cond=0, cond_shape=(2,), subnet_constructor=mlp_subnet)
    with pytest.raises(inn.ModuleArgumentError, match=r"block 1.*condition 0.*\(2,\).*\(3,\)"):
        seq.append(Fm.GLOWCouplingBlock, cond=0, cond_shape=(3,), subnet_constructor=mlp_subnet)
    assert len(seq) == 1  # a rejected block leaves the chain unchanged


# -- module arguments --------------------------------------------------------------------------

MODULE_CASES = [
    ("unknown_clamp_activation", lambda: Fm.GLOWCouplingBlock(
        [(4,)], subnet_constructor=mlp_subnet, clamp_activation="RELU"),
     r"clamp_activation.*RELU"),
    ("clamp_activation_type", lambda: Fm.RNVPCouplingBlock(
        [(4,)], subnet_constructor=mlp_subnet, clamp_activation=3), r"clamp_activation"),
    ("split_len_float", lambda: Fm.GLOWCouplingBlock(
        [(4,)], subnet_constructor=mlp_subnet, split_len=1.5), r"split_len.*\[0, 1\].*1.5"),
    ("split_len_int", lambda: Fm.NICECouplingBlock(
        [(4,)], subnet_constructor=mlp_subnet, split_len=5), r"split_len.*\[0, 4\].*5"),
    ("split_len_negative", lambda: Fm.RNVPCouplingBlock(
        [(4,)], subnet_constructor=mlp_subnet, split_len=-1), r"split_len"),
    ("missing_subnet", lambda: Fm.GLOWCouplingBlock([(4,)]), r"GLOWCouplingBlock.*subnet_constr"),
    ("condition_spatial_dims", lambda: Fm.GLOWCouplingBlock(
        [(4, 8, 8)], [(2, 4, 4)], subnet_constructor=mlp_subnet), r"condition 0.*spatial"),
    ("coupling_two_inputs", lambda: Fm.GLOWCouplingBlock(
        [(4,), (4,)], subnet_constructor=mlp_subnet), r"exactly one input"),
    ("negative_clamp", lambda: Fm.GLOWCouplingBlock(
        [(4,)], subnet_constructor=mlp_subnet, clamp=-1.0), r"clamp.*-1"),
    ("split_sections_too_large", lambda: Fm.Split([(4,)], section_sizes=[3, 3]),
     r"add up to 6.*4"),
    ("split_int_too_large", lambda: Fm.Split([(4,)], section_sizes=4), r"\[1, 3\]"),
    ("split_n_sections", lambda: Fm.Split([(4,)], n_sections=1), r"n_sections.*>= 2"),
    ("split_dim", lambda: Fm.Split([(4,)], dim=1), r"dim.*\[0, 0\]"),
    ("concat_incompatible", lambda: Fm.Concat([(2, 3), (2, 4)]), r"agree.*dim=0"),
    ("concat_single", lambda: Fm.Concat([(2,)]), r"at least two"),
    ("permute_conditions", lambda: Fm.PermuteRandom([(4,)], [(2,)]), r"no conditions"),
    ("actnorm_conditions", lambda: Fm.ActNorm([(4,)], [(2,)]), r"no conditions"),
    ("actnorm_zero_std", lambda: Fm.ActNorm([(2,)], init_data=torch.ones(5, 2)),
     r"zero standard deviation"),
]


@pytest.mark.parametrize(("trigger", "pattern"),
                         [pytest.param(*row[1:], id=row[0]) for row in MODULE_CASES])
def test_module_argument_errors(trigger, pattern):
    with pytest.raises(inn.ModuleArgumentError, match=pattern):
        trigger()


def test_bare_int_dims_suggest_wrapping():
    with pytest.raises(inn.ArgumentTypeError, match=r"PermuteRandom.*wrapped in a list"):
        Fm.PermuteRandom([5])
    assert Fm.PermuteRandom([torch.Size([3, 2])]).dims_in == [(3, 2)]
    assert Fm.PermuteRandom([[4]]).dims_in == [(4,)]
    assert Fm.PermuteRandom(((2,),)).dims_c == []


# -- call time ---------------------------------------------------------------------------------

def graph():
    x1, x2 = Ff.InputNode(4, name="x1"), Ff.InputNode(3, 2, name="x2")
    c = Ff.ConditionNode(2, name="c")
    a = glow(x1, conditions=c, name="a")
    return Ff.GraphINN([x1, x2, c, a, Ff.OutputNode(a, name="z1"), Ff.OutputNode(x2, name="z2")])


def sequence():
    seq = Ff.SequenceINN(4)
    seq.append(Fm.GLOWCouplingBlock, cond=0, cond_shape=(2,), subnet_constructor=mlp_subnet)
    seq.append(Fm.PermuteRandom)
    return seq


X1, X2, C = torch.randn(5, 4), torch.randn(5, 3, 2), torch.randn(5, 2)

CALL_CASES = [
    ("graph_one_input_of_two", lambda: graph()([X1], c=[C]), inn.InputCountError,
     r"GraphINN: expected 2 inputs, got 1"),
    ("graph_rev_count", lambda: graph()([X1], c=[C], rev=True), inn.InputCountError,
     r"expected 2 outputs to invert, got 1"),
    ("seq_two_tensors", lambda: sequence()([X1, X1], c=[C]), inn.InputCountError,
     r"exactly one input tensor, got 2"),
    ("graph_missing_condition", lambda: graph()([X1, X2]), inn.ConditionError,
     r"expected 1 condition, got 0"),
    ("graph_empty_conditions", lambda: graph()([X1, X2], c=[]), inn.ConditionError,
     r"expected 1 condition"),
    ("graph_extra_condition", lambda: graph()([X1, X2], c=[C, C]), inn.ConditionError,
     r"expected 1 condition, got 2"),
    ("graph_missing_condition_rev", lambda: graph()([X1, X2], rev=True), inn.ConditionError,
     r"expected 1 condition"),
    ("seq_missing_condition", lambda: sequence()(X1), inn.ConditionError, r"expected 1"),
    ("seq_unused_condition", lambda: sequence()(X1, c=[C, C]), inn.ConditionError,
     r"conditions \[1\] would be unused"),
    ("unconditional_seq_given_condition", lambda: _plain_sequence()(X1, c=[C]),
     inn.ConditionError, r"takes no conditions"),
    ("graph_input_features", lambda: graph()([torch.randn(5, 5), X2], c=[C]), inn.ShapeError,
     r"GraphINN input 0 \(InputNode 'x1'\): expected shape \(B, 4\), got \(5, 5\)"),
    ("graph_missing_axis", lambda: graph()([X1, torch.randn(5, 3)], c=[C]), inn.ShapeError,
     r"input 1 \(InputNode 'x2'\): expected shape \(B, 3, 2\), got \(5, 3\)"),
    ("graph_batch_mismatch", lambda: graph()([X1, torch.randn(4, 3, 2)], c=[C]),
     inn.ShapeError, r"input 1: batch size 4 differs from the batch size 5"),
    ("graph_rev_shape", lambda: graph()([torch.randn(5, 3), X2], c=[C], rev=True),
     inn.ShapeError, r"output to invert 0 \(OutputNode 'z1'\)"),
    ("graph_condition_shape", lambda: graph()([X1, X2], c=[torch.randn(5, 3)]), inn.ShapeError,
     r"condition 0 \(ConditionNode 'c'\): expected shape \(B, 2\), got \(5, 3\)"),
    ("graph_condition_batch_one", lambda: graph()([X1, X2], c=[torch.randn(1, 2)]),
     inn.ShapeError, r"ConditionNode 'c'.*batch size 1.*batch size 5"),
    ("graph_condition_no_batch_axis", lambda: graph()([X1, X2], c=[torch.randn(2)]),
     inn.ShapeError, r"expected shape \(B, 2\), got \(2,\)"),
    ("seq_input_shape", lambda: sequence()(torch.randn(5, 3), c=[C]), inn.ShapeError,
     r"SequenceINN input 0: expected shape \(B, 4\), got \(5, 3\)"),
    ("seq_condition_batch_one", lambda: sequence()(X1, c=[torch.randn(1, 2)]), inn.ShapeError,
     r"condition 0.*batch size 1.*batch size 5"),
    ("permutation_wrong_shape", lambda: Fm.PermuteRandom([(4,)])([torch.randn(5, 3)]),
     inn.ShapeError, r"PermuteRandom input 0: expected shape \(B, 4\), got \(5, 3\)"),
    ("permutation_rev_shape", lambda: Fm.PermuteRandom([(4,)])([torch.randn(5, 3)], rev=True),
     inn.ShapeError, r"output to invert 0"),
    ("module_condition_batch", lambda: Fm.GLOWCouplingBlock(
        [(4,)], [(2,)], subnet_constructor=mlp_subnet)([X1], c=[torch.randn(1, 2)]),
     inn.ShapeError, r"GLOWCouplingBlock condition 0.*batch size 1"),
    ("module_missing_condition", lambda: Fm.GLOWCouplingBlock(
        [(4,)], [(2,)], subnet_constructor=mlp_subnet)([X1]), inn.ConditionError,
     r"GLOWCouplingBlock: expected 1 condition, got 0"),
    ("module_extra_condition", lambda: Fm.GLOWCouplingBlock(
        [(4,)], subnet_constructor=mlp_subnet)([X1], c=[C]), inn.ConditionError,
     r"GLOWCouplingBlock takes no conditions"),
    ("module_non_tensor", lambda: Fm.PermuteRandom([(4,)])(["x"]), inn.InputTypeError,
     r"PermuteRandom input 0: expected a tensor, got a str"),
    ("graph_none_condition", lambda: graph()([X1, X2], c=[None]), inn.InputTypeError,
     r"GraphINN condition 0 \(ConditionNode 'c'\): expected a tensor, got a NoneType"),
]


def _plain_sequence():
    seq = Ff.SequenceINN(4)
    seq.append(Fm.PermuteRandom)
    return seq


@pytest.mark.parametrize(("trigger", "error", "pattern"),
                         [pytest.param(*row[1:], id=row[0]) for row in CALL_CASES])
def test_call_errors(trigger, error, pattern):
    with pytest.raises(error, match=pattern):
        trigger()


class _Explodes(Fm.InvertibleModule):
    def forward(self, x, rev=False, jac=True):
        raise KeyError("inner detail")

    def output_dims(self, input_dims):
        return input_dims


class _ValueErrorInside(Fm.InvertibleModule):
    def forward(self, x, rev=False, jac=True):
        raise ValueError("inner detail")

    def output_dims(self, input_dims):
        return input_dims


@pytest.mark.parametrize(("module", "error"), [(_Explodes, KeyError),
                                               (_ValueErrorInside, ValueError)])
def test_errors_inside_modules_keep_their_type_and_gain_the_node(module, error):
    x = Ff.InputNode(3, name="x")
    node = Ff.Node(x, module, {}, name="boom")
    net = Ff.GraphINN([x, node, Ff.OutputNode(node)])
    with pytest.raises(error, match=r"Node 'boom' \(" + module.__name__ + r"\).*inner detail"
                       ) as info:
        net(torch.randn(2, 3))
    assert type(info.value) is error and info.value.__cause__ is not None
    seq = Ff.SequenceINN(3)
    seq.append(module)
    with pytest.raises(error, match=r"SequenceINN block 0 \(" + module.__name__):
        seq(torch.randn(2, 3))


def test_wrong_output_count_from_user_module():
    class TwoForOne(Fm.InvertibleModule):
        def forward(self, x, rev=False, jac=True):
            return (x[0], x[0]), 0.0

        def output_dims(self, input_dims):
            return input_dims

    x = Ff.InputNode(3)
    node = Ff.Node(x, TwoForOne, {}, name="liar")
    net = Ff.GraphINN([x, node, Ff.OutputNode(node)])
    with pytest.raises(inn.InputCountError, match=r"Node 'liar'.*returned 2 tensors.*1"):
        net(torch.randn(2, 3))
