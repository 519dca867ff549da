"""Misspelt keywords name the public class and the node or block, list what is accepted and
suggest the closest keyword; the error is an InnError and a TypeError (what Python raises)."""

import warnings

import pytest
import torch
from cases import mlp_subnet

import inn
import inn.framework as Ff
import inn.modules as Fm
from inn.keywords import accepted_keywords


def seq4():
    return Ff.SequenceINN(4)


CASES = [
    ("append_subnet", lambda: seq4().append(Fm.GLOWCouplingBlock, subnet_constuctor=mlp_subnet),
     r"SequenceINN block 0 \(GLOWCouplingBlock\) got an unexpected keyword argument "
     r"'subnet_constuctor'; did you mean 'subnet_constructor'\? Accepted keywords: "
     r"subnet_constructor, clamp, clamp_activation, split_len, cond, cond_shape\."),
    ("append_clamp", lambda: seq4().append(Fm.GLOWCouplingBlock, subnet_constructor=mlp_subnet,
                                           clmap=2.0),
     r"block 0 \(GLOWCouplingBlock\).*'clmap'; did you mean 'clamp'\?"),
    ("append_cond_shape", lambda: seq4().append(Fm.GLOWCouplingBlock, cond=0, cond_shap=(2,),
                                                subnet_constructor=mlp_subnet),
     r"block 0 \(GLOWCouplingBlock\).*'cond_shap'; did you mean 'cond_shape'\?"),
    ("append_second_block", lambda: _two_blocks(),
     r"SequenceINN block 1 \(PermuteRandom\).*'sed'; did you mean 'seed'\?"),
    ("node_module_args", lambda: Ff.Node(Ff.InputNode(4), Fm.GLOWCouplingBlock,
                                         {"subnet_constuctor": mlp_subnet}, name="glow"),
     r"Node 'glow' \(GLOWCouplingBlock\): GLOWCouplingBlock got an unexpected keyword "
     r"argument 'subnet_constuctor'; did you mean 'subnet_constructor'\?.*dims_in, dims_c"),
    ("node_own_keyword", lambda: Ff.Node(Ff.InputNode(4), Fm.PermuteRandom, {}, nmae="p"),
     r"Node got an unexpected keyword argument 'nmae'; did you mean 'name'\? Accepted "
     r"keywords: inputs, module_type, module_args, conditions, name\."),
    ("input_node", lambda: Ff.InputNode(4, nam="x"), r"InputNode.*'nam'; did you mean 'name'"),
    ("direct_private_base", lambda: Fm.GINCouplingBlock([(4,)], subnet_constructor=mlp_subnet,
                                                        clamp_activaton="TANH"),
     r"^GINCouplingBlock got an unexpected keyword argument 'clamp_activaton'; did you mean "
     r"'clamp_activation'\?"),
    ("kwargs_forwarding_class", lambda: Fm.InvertibleSigmoid([(4,)], dimsc=None),
     r"InvertibleSigmoid.*'dimsc'; did you mean 'dims_c'\?"),
    ("deprecated_alias", lambda: Fm.SplitChannel([(4,)], section_size=2),
     r"SplitChannel.*'section_size'; did you mean 'section_sizes'\?"),
    ("container", lambda: Ff.SequenceINN(4, force_tuple=True),
     r"SequenceINN.*'force_tuple'; did you mean 'force_tuple_output'\?"),
    ("graph", lambda: Ff.GraphINN([], verbos=True), r"GraphINN.*'verbos'; did you mean 'verbose'"),
    ("feed_forward_module_args", lambda: Ff.FeedForwardNode(
        Ff.ConditionNode(2), (3,), torch.nn.Linear, {"in_feature": 2, "out_features": 3},
        name="ff"),
     r"Node 'ff' \(Linear\) got an unexpected keyword argument 'in_feature'; did you mean "
     r"'in_features'\?"),
    ("no_close_match", lambda: Fm.PermuteRandom([(4,)], zzz=1),
     r"PermuteRandom got an unexpected keyword argument 'zzz'\. Accepted keywords: dims_in, "
     r"dims_c, seed\."),
]


def _two_blocks():
    seq = seq4()
    seq.append(Fm.PermuteRandom, seed=1)
    seq.append(Fm.PermuteRandom, sed=2)


@pytest.mark.parametrize(("trigger", "pattern"), [pytest.param(*c[1:], id=c[0]) for c in CASES])
def test_keyword_typos_name_class_and_suggest(trigger, pattern):
    with pytest.raises(inn.ArgumentTypeError, match=pattern) as info:
        trigger()
    assert isinstance(info.value, TypeError) and isinstance(info.value, inn.InnError)


def test_every_builtin_module_has_a_closed_keyword_list():
    """Every public module class resolves its **kwargs chain, so every typo is caught."""
    for name in Fm.__all__:
        cls = getattr(Fm, name)
        if isinstance(cls, type) and issubclass(cls, Fm.InvertibleModule):
            if cls in (Fm.InvertibleModule, Fm.CouplingBase, Fm.Inverse):
                continue
            accepted = accepted_keywords(cls)
            assert accepted is not None and "dims_in" in accepted, name


def test_valid_keywords_still_work_and_warnings_point_at_the_caller():
    seq = seq4()
    seq.append(Fm.GLOWCouplingBlock, cond=0, cond_shape=(2,), subnet_constructor=mlp_subnet,
               clamp=1.5)
    seq(torch.randn(3, 4), c=[torch.randn(3, 2)])
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        Fm.SplitChannel([(4,)])
    assert caught[0].filename == __file__  # the keyword check adds no frame before __init__


def test_user_module_typos_are_caught_too():
    class Scale(Fm.InvertibleModule):
        def __init__(self, dims_in, dims_c=None, factor=2.0):
            super().__init__(dims_in, dims_c)
            self.factor = factor

        def output_dims(self, input_dims):
            return input_dims

    with pytest.raises(inn.ArgumentTypeError, match=r"Scale.*'facter'; did you mean 'factor'"):
        Scale([(3,)], facter=3.0)


@pytest.mark.parametrize(("trigger", "pattern"), [
    (lambda: Fm.CouplingBlock([(4,)], subnet_constructor=mlp_subnet),
     r"CouplingBlock\(\.\.\.\): missing a required argument: 'transformer'"),
    (lambda: Fm.GLOWCouplingBlock(subnet_constructor=mlp_subnet),
     r"GLOWCouplingBlock\(\.\.\.\): missing a required argument: 'dims_in'"),
    (lambda: Fm.PermuteRandom([(4,)], None, 1, 2),
     r"PermuteRandom\(\.\.\.\): too many positional arguments"),
    (lambda: Ff.Node(Ff.InputNode(3)), r"Node\(\.\.\.\): missing a required argument"),
])
def test_missing_and_surplus_arguments_name_the_public_class(trigger, pattern):
    with pytest.raises(inn.ArgumentTypeError, match=pattern):
        trigger()


def test_constructor_signatures_stay_documented():
    """Sphinx reads ``__new__`` if it is a function; the checking ``__new__`` is not one, so the
    documented signature stays that of ``__init__``; copies skip the check."""
    import copy
    import inspect
    import pickle

    for cls in (Fm.GLOWCouplingBlock, Fm.InvertibleModule, Ff.Node, Ff.InputNode):
        assert not (inspect.isfunction(cls.__new__) or inspect.ismethod(cls.__new__))
    assert "subnet_constructor" in inspect.signature(Fm.GLOWCouplingBlock).parameters
    module = Fm.PermuteRandom([(4,)], seed=1)
    for clone in (copy.deepcopy(module), pickle.loads(pickle.dumps(module))):
        assert torch.equal(clone.perm, module.perm)
