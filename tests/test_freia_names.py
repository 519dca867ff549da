"""Every public name of FrEIA exists in ``inn`` (and in its star imports), with FrEIA's arguments.

Checked against the installed FrEIA (skipped when absent) and against FrEIA master's ``__all__``
lists, written out here so the check runs without FrEIA.
"""

import importlib.util
import inspect

import pytest

import inn
import inn.distributions
import inn.framework
import inn.modules
import inn.utils

# FrEIA master, FrEIA/modules/__init__.py: __all__ (duplicates removed).
FREIA_MASTER_MODULES = [
    "ActNorm", "AffineCouplingOneSided", "AllInOneBlock", "Concat", "ConcatChannel",
    "ConditionalAffineTransform", "ElementwiseRationalQuadraticSpline", "Fixed1x1Conv",
    "FixedLinearTransform", "Flatten", "GINCouplingBlock", "GLOWCouplingBlock",
    "GaussianMixtureModel", "HaarDownsampling", "HaarUpsampling", "HouseholderPerm",
    "IResNetLayer", "IRevNetDownsampling", "IRevNetUpsampling", "InvAutoAct", "InvAutoActFixed",
    "InvAutoActTwoSided", "InvAutoConv2D", "InvAutoFC", "InvertibleModule", "InvertibleSigmoid",
    "LearnedElementwiseScaling", "LinearSpline", "NICECouplingBlock", "OrthogonalTransform",
    "PermuteRandom", "RNVPCouplingBlock", "RationalQuadraticSpline", "Reshape", "Split",
    "SplitChannel",
]
# FrEIA master, FrEIA/framework/__init__.py: __all__ (duplicates removed).
FREIA_MASTER_FRAMEWORK = [
    "ConditionNode", "FeedForwardNode", "GraphINN", "InputNode", "Node", "OutputNode",
    "ReversibleGraphNet", "ReversibleSequential", "SequenceINN", "collect_nodes",
]
# FrEIA master's public functions of FrEIA/utils.py and names of FrEIA/distributions.
FREIA_MASTER_UTILS = [
    "f_except", "force_to", "output_dims_compatible", "plot_graph", "sum_except",
    "sum_except_batch", "tuple_free_batch_forward", "tuple_free_forward",
]
FREIA_MASTER_DISTRIBUTIONS = [
    "PullBackDistribution", "PushForwardDistribution", "StandardNormalDistribution",
]

# Names still missing when this test was written, each expected to fail until it lands
# (strict: an unexpected pass fails, so the entry must then be removed).
PENDING: set[str] = set()


def _names(package, names):
    return [pytest.param(package, name, id=f"{package.__name__}.{name}",
                         marks=[pytest.mark.xfail(strict=True, reason="not implemented yet")]
                         if name in PENDING else [])
            for name in names]


@pytest.mark.parametrize(("package", "name"),
                         _names(inn.modules, FREIA_MASTER_MODULES)
                         + _names(inn.framework, FREIA_MASTER_FRAMEWORK))
def test_freia_master_name_is_exported_by_inn(package, name):
    assert name in dir(package)
    assert name in package.__all__, "star imports must export FrEIA's __all__"
    assert getattr(inn, name) is getattr(package, name), "inn re-exports it at top level"
    assert name in inn.__all__


@pytest.mark.parametrize(("package", "name"),
                         _names(inn.utils, FREIA_MASTER_UTILS)
                         + _names(inn.distributions, FREIA_MASTER_DISTRIBUTIONS))
def test_freia_master_helper_exists(package, name):
    assert callable(getattr(package, name))


def test_star_imports_cover_freia_master():
    modules, framework = {}, {}
    exec("from inn.modules import *", modules)
    exec("from inn.framework import *", framework)
    assert set(FREIA_MASTER_MODULES) - set(PENDING) <= set(modules)
    assert set(FREIA_MASTER_FRAMEWORK) - set(PENDING) <= set(framework)


@pytest.mark.parametrize("subpackage", ["modules", "framework"])
def test_installed_freia_all_is_a_subset_of_inn(subpackage):
    freia = pytest.importorskip(f"FrEIA.{subpackage}")
    ours = getattr(inn, subpackage)
    assert set(freia.__all__) - PENDING <= set(dir(ours))
    assert set(freia.__all__) - PENDING <= set(ours.__all__)


def _freia_classes():
    """FrEIA's module classes, or a placeholder that skips when FrEIA is not installed."""
    if importlib.util.find_spec("FrEIA") is None:
        return ["FrEIA-not-installed"]
    import FrEIA.modules as freia

    return [name for name in sorted(set(freia.__all__))
            if inspect.isclass(getattr(freia, name)) and name not in PENDING]


@pytest.mark.parametrize("name", _freia_classes())
def test_constructor_takes_freias_arguments_with_freias_defaults(name):
    freia = pytest.importorskip("FrEIA.modules")
    theirs = inspect.signature(getattr(freia, name).__init__).parameters
    ours = inspect.signature(getattr(inn.modules, name).__init__).parameters
    if any(p.kind is p.VAR_KEYWORD for p in ours.values()) and len(ours) <= 3:
        return  # a (*args, **kwargs) pass-through, e.g. a deprecated alias
    for arg, param in theirs.items():
        if param.kind in (param.VAR_POSITIONAL, param.VAR_KEYWORD):
            continue
        assert arg in ours, f"{name} lacks FrEIA's argument {arg!r}"
        if arg in ("self", "dims_in", "dims_c") or param.default is param.empty:
            continue
        assert ours[arg].default == param.default, (
            f"{name}({arg}=...) defaults to {ours[arg].default!r}, FrEIA to {param.default!r}")
