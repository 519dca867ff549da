"""Cases that raised raw Python/torch errors (or none) before: each now raises a named InnError."""

import pytest
import torch
import torch.nn as nn
from cases import conv_subnet, mlp_subnet

import inn
import inn.framework as Ff
import inn.modules as Fm
from inn.transformers import Affine


def none_subnet(c_in, c_out):
    nn.Linear(c_in, c_out)  # forgot to return it


class Swapped(Fm.InvertibleModule):
    def forward(self, x, rev=False, jac=True):
        return x[0].new_zeros(x[0].shape[0]), (x[0],)

    def output_dims(self, input_dims):
        return input_dims


def swapped_in_graph():
    x = Ff.InputNode(4, name="x")
    s = Ff.Node(x, Swapped, {}, name="swapped")
    Ff.GraphINN([x, s, Ff.OutputNode(s)])(torch.randn(3, 4))


def two_blocks():
    seq = Ff.SequenceINN(4)
    seq.append(Fm.PermuteRandom)
    seq.append(Fm.PermuteRandom)
    return seq


def assign_out_of_range():
    two_blocks()[2] = Fm.PermuteRandom([(4,)])


MODULE_ARGUMENT_CASES = [
    ("rqs_split_len_0", lambda: Fm.RationalQuadraticSpline([(3,)], subnet_constructor=mlp_subnet,
                                                           split_len=0),
     r"RationalQuadraticSpline: the split \(0, 3\) of 3 channels leaves part 0 empty.*"
     r"\[1, 2\]"),
    ("rqs_split_len_c", lambda: Fm.RationalQuadraticSpline([(3,)], subnet_constructor=mlp_subnet,
                                                           split_len=3), r"part 1 empty"),
    ("nice_split_len_0", lambda: Fm.NICECouplingBlock([(4,)], subnet_constructor=mlp_subnet,
                                                      split_len=0), r"NICECouplingBlock.*empty"),
    ("gin_split_len_c", lambda: Fm.GINCouplingBlock([(4,)], subnet_constructor=mlp_subnet,
                                                    split_len=4), r"GINCouplingBlock.*empty"),
    ("one_sided_split_len_0", lambda: Fm.AffineCouplingOneSided(
        [(4,)], subnet_constructor=mlp_subnet, split_len=0), r"AffineCouplingOneSided.*empty"),
    ("glow_fraction_rounds_to_0", lambda: Fm.GLOWCouplingBlock(
        [(1,)], subnet_constructor=mlp_subnet), r"split \(0, 1\)"),
    ("coupling_block_conv_split_len_0", lambda: Fm.CouplingBlock(
        [(4, 4, 4)], transformer=Affine, subnet_constructor=conv_subnet, split_len=0),
     r"CouplingBlock.*part 0 empty"),
    ("glow_clamp_inf", lambda: Fm.GLOWCouplingBlock([(4,)], subnet_constructor=mlp_subnet,
                                                    clamp=float("inf")),
     r"clamp must be non-negative, got inf; it must be a finite real number"),
    ("gin_clamp_inf", lambda: Fm.GINCouplingBlock([(4,)], subnet_constructor=mlp_subnet,
                                                  clamp=float("inf")), r"clamp.*inf"),
    ("one_sided_clamp_inf", lambda: Fm.AffineCouplingOneSided(
        [(4,)], subnet_constructor=mlp_subnet, clamp=float("inf")), r"clamp.*inf"),
    ("cond_affine_clamp_inf", lambda: Fm.ConditionalAffineTransform(
        [(4,)], [(2,)], subnet_constructor=mlp_subnet, clamp=float("inf")), r"clamp.*inf"),
    ("clamp_string", lambda: Fm.GLOWCouplingBlock([(4,)], subnet_constructor=mlp_subnet,
                                                  clamp="2"), r"clamp.*got '2'"),
    ("all_in_one_clamp_nan", lambda: Fm.AllInOneBlock([(4,)], subnet_constructor=mlp_subnet,
                                                      affine_clamping=float("nan")),
     r"affine_clamping.*nan"),
    ("subnet_returns_none", lambda: Fm.GLOWCouplingBlock([(4,)], subnet_constructor=none_subnet),
     r"GLOWCouplingBlock: subnet_constructor\(2, 4\) returned NoneType, expected an nn.Module"),
    ("spline_subnet_returns_none", lambda: Fm.ElementwiseRationalQuadraticSpline(
        [(4,)], [(2,)], subnet_constructor=none_subnet), r"returned NoneType"),
    ("permute_seed_negative", lambda: Fm.PermuteRandom([(4,)], seed=-1),
     r"PermuteRandom: seed must be None or an int in \[0, 2\*\*32 - 1\], got -1"),
    ("permute_seed_float", lambda: Fm.PermuteRandom([(4,)], seed=1.5), r"seed.*1.5"),
    ("householder_float", lambda: Fm.AllInOneBlock(
        [(4,)], subnet_constructor=mlp_subnet, learned_householder_permutation=1.5),
     r"AllInOneBlock: learned_householder_permutation must be an int >= 0, got 1.5"),
]


@pytest.mark.parametrize(("trigger", "pattern"),
                         [pytest.param(*c[1:], id=c[0]) for c in MODULE_ARGUMENT_CASES])
def test_module_arguments(trigger, pattern):
    with pytest.raises(inn.ModuleArgumentError, match=pattern):
        trigger()


OTHER_CASES = [
    ("dims_int", lambda: Fm.GLOWCouplingBlock(4, subnet_constructor=mlp_subnet),
     inn.ArgumentTypeError, r"GLOWCouplingBlock: Invalid dimension specification 4:.*a single "
     r"int; write the shapes as a list of tuples, e.g. \[\(4,\)\]"),
    ("dims_str", lambda: Fm.PermuteRandom("4"), inn.ArgumentTypeError,
     r"PermuteRandom: .*'4'.*single str"),
    ("dims_c_str", lambda: Fm.GLOWCouplingBlock([(4,)], "2", subnet_constructor=mlp_subnet),
     inn.ArgumentTypeError, r"GLOWCouplingBlock: .*'2'"),
    ("graph_of_a_node", lambda: Ff.GraphINN(Ff.InputNode(4, name="x")), inn.NodeTypeError,
     r"GraphINN takes a list of nodes, got an InputNode; pass every node"),
    ("sequence_index", lambda: two_blocks()[5], inn.BlockIndexError,
     r"SequenceINN has 2 block\(s\), valid indices are -2..1 \(or a slice\), got 5"),
    ("sequence_negative_index", lambda: two_blocks()[-3], inn.BlockIndexError, r"got -3"),
    ("sequence_str_index", lambda: two_blocks()["0"], inn.BlockIndexError, r"got a str"),
    ("sequence_assign", assign_out_of_range, inn.BlockIndexError, r"got 2"),
    ("swapped_sequence", lambda: _swapped_sequence(), inn.InputCountError,
     r"SequenceINN block 0 \(Swapped\): Swapped returned \(log_jac_det, outputs\) in swapped "
     r"order"),
    ("swapped_graph", swapped_in_graph, inn.InputCountError, r"Node 'swapped'.*swapped order"),
    ("invertible_linear_batch_0", lambda: Fm.InvertibleLinear([(4,)])([torch.randn(0, 4)]),
     inn.ShapeError, r"InvertibleLinear input 0: the batch is empty \(batch size 0\)"),
    ("haar_batch_0", lambda: Fm.HaarDownsampling([(4, 4, 4)])([torch.randn(0, 4, 4, 4)]),
     inn.ShapeError, r"HaarDownsampling input 0: the batch is empty"),
    ("sequence_batch_0", lambda: two_blocks()(torch.randn(0, 4)), inn.ShapeError,
     r"SequenceINN input 0: the batch is empty"),
]


def _swapped_sequence():
    seq = Ff.SequenceINN(4)
    seq.append(Swapped)
    seq(torch.randn(3, 4))
    return seq


@pytest.mark.parametrize(("trigger", "error", "pattern"),
                         [pytest.param(*c[1:], id=c[0]) for c in OTHER_CASES])
def test_other_raw_errors(trigger, error, pattern):
    with pytest.raises(error, match=pattern):
        trigger()


@pytest.mark.parametrize("memory_efficient", [False, True])
def test_condition_node_1_vector_reaches_a_feed_forward_linear(memory_efficient):
    x, c = Ff.InputNode(4, name="x"), Ff.ConditionNode(1, name="c")
    ff = Ff.FeedForwardNode(c, (3,), nn.Linear, {"in_features": 1, "out_features": 3}, name="ff")
    a = Ff.Node(x, Fm.GLOWCouplingBlock, {"subnet_constructor": mlp_subnet}, conditions=ff)
    direct = Ff.Node(a, Fm.GLOWCouplingBlock, {"subnet_constructor": mlp_subnet}, conditions=c)
    net = Ff.GraphINN([x, c, ff, a, direct, Ff.OutputNode(direct)],
                      memory_efficient=memory_efficient)
    x_in, cond = torch.randn(5, 4, requires_grad=True), torch.randn(5)
    z, log_jac_det = net(x_in, c=[cond])
    z_column, log_det_column = net(x_in, c=[cond[:, None]])
    assert torch.equal(z, z_column) and torch.equal(log_jac_det, log_det_column)
    (z.sum() + log_jac_det.sum()).backward()
    assert x_in.grad is not None


def test_actnorm_single_sample_init_says_why():
    """Found by the fuzzer: a batch of 1 gave 'zero standard deviation' (the std was NaN)."""
    with pytest.raises(inn.ModuleArgumentError,
                       match=r"ActNorm cannot initialise from 1 value per channel \(data of "
                             r"shape \(1, 4\)\).*init_data"):
        Fm.ActNorm([(4,)])([torch.randn(1, 4)])
