"""Which blocks take a backward rule of their own, and that the others get the same gradients.

The registry's float64 tests pin each rule's gradients; these tests pin when a rule applies, so
that a block with hooks, a parametrization or a subclass falls back to the general step (and a
refactoring cannot silently send every block down the general step).
"""

from __future__ import annotations

import pytest
import torch
import torch.nn as nn
from helpers import assert_same_gradients, gradients
from torch.nn.utils import parametrize

import inn
import inn.framework as Ff
import inn.modules as Fm
from inn.backprop import rules
from inn.backprop.all_in_one import backward_all_in_one
from inn.backprop.coupling import backward_coupling
from inn.backprop.transformer_step import _plain_affine
from inn.transformers import Affine

SHAPE = (4, 3, 3)


def _conv1x1() -> Fm.Fixed1x1Conv:
    generator = torch.Generator().manual_seed(3)
    matrix, _ = torch.linalg.qr(torch.randn(4, 4, generator=generator, dtype=torch.float64))
    return Fm.Fixed1x1Conv([SHAPE], M=matrix)


def _act_norm() -> Fm.ActNorm:
    norm = Fm.ActNorm([SHAPE]).double()
    with torch.no_grad():
        norm.loc.normal_()
        norm.log_scale.normal_(std=0.3)
    norm.is_initialized.fill_(True)
    return norm


def _output() -> torch.Tensor:
    return torch.randn(2, *SHAPE, dtype=torch.float64)


def test_built_in_linear_blocks_and_couplings_take_their_rules():
    coupling = Fm.GLOWCouplingBlock([SHAPE], subnet_constructor=lambda i, o: nn.Conv2d(i, o, 1))
    assert rules.backward_rule(coupling, _output().float()) is backward_coupling
    assert rules.backward_rule(_act_norm(), _output()) is rules._act_norm
    assert rules.backward_rule(_conv1x1(), _output()) is rules._conv1x1
    linear = Fm.InvertibleLinear([SHAPE], seed=0).double()
    assert rules.backward_rule(linear, _output()) is rules._invertible_linear
    assert rules.backward_rule(linear, _output().float()) is None  # dtypes differ


class _SubclassedActNorm(Fm.ActNorm):
    pass


@pytest.mark.parametrize("change", ["hook", "parametrization", "subclass", "dtype"])
def test_changed_blocks_take_the_general_step(change):
    norm = _act_norm()
    output = _output()
    if change == "hook":
        norm.register_forward_hook(lambda module, args, out: None)
    elif change == "parametrization":
        parametrize.register_parametrization(norm, "log_scale", nn.Identity())
    elif change == "subclass":
        norm = _SubclassedActNorm([SHAPE]).double()
    else:
        output = output.float()
    assert rules.backward_rule(norm, output) is None


def test_only_plain_affine_transformers_share_the_clamp():
    parameters, output = torch.zeros(2, 8, 3), torch.zeros(2, 4, 3)
    assert _plain_affine(Affine(clamp=2.0), output, parameters)
    assert not _plain_affine(Affine(clamp=2.0, pre_scale=0.1), output, parameters)
    assert not _plain_affine(Affine(clamp=2.0, center_log_scale="channel"), output, parameters)
    assert not _plain_affine(Affine(clamp=2.0), output, torch.zeros(2, 6, 3))


@pytest.mark.parametrize("rev", [False, True])
def test_general_step_and_rules_give_standard_gradients(rev):
    """A hooked ActNorm (general step) next to plain ActNorm and 1x1 convolutions (rules)."""
    torch.manual_seed(0)
    net = Ff.SequenceINN(*SHAPE)
    for _ in range(2):
        net.append(Fm.ActNorm)
        net.append(Fm.Fixed1x1Conv, M=torch.linalg.qr(torch.randn(4, 4))[0])
    net = net.double()
    for block in net.module_list:
        if isinstance(block, Fm.ActNorm):
            with torch.no_grad():
                block.loc.normal_()
                block.log_scale.normal_(std=0.3)
            block.is_initialized.fill_(True)
            block._initialized = True
    net.module_list[2].register_forward_hook(lambda module, args, out: None)
    x = [torch.randn(3, *SHAPE, dtype=torch.float64)]
    standard = gradients(net, x, [], memory_efficient=False, rev=rev)
    efficient = gradients(net, x, [], memory_efficient=True, rev=rev)
    assert_same_gradients(standard, efficient)


def test_coupling_blocks_of_the_presets_evaluate_each_subnet_once():
    glow = inn.flows.Glow((3, 8, 8), levels=1, steps=1, hidden_channels=8)
    couplings = [b for b in glow.transform.module_list if isinstance(b, Fm.CouplingBlock)]
    assert couplings and all(rules.backward_rule(b, _output()) is backward_coupling
                             for b in couplings)
    masked = Fm.CouplingBlock([(2, 2)], transformer=Affine(), subnet_constructor=nn.Linear,
                              mask=torch.tensor([[True, False], [False, True]]))
    assert rules.backward_rule(masked, _output()) is None  # the element-mask step is its own


def test_all_in_one_blocks_evaluate_their_subnet_once():
    block = Fm.AllInOneBlock([SHAPE], subnet_constructor=lambda i, o: nn.Conv2d(i, o, 1),
                             permute_soft=True, reverse_permutation=True)
    assert rules.backward_rule(block, _output().float()) is backward_all_in_one
    block.register_forward_pre_hook(lambda module, args: None)
    assert rules.backward_rule(block, _output().float()) is None
