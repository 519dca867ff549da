"""inn.testing.check_module: passes good modules, names every failed property of bad ones."""

import math

import pytest
import torch
from cases import mlp_subnet

import inn
import inn.modules as Fm
from inn.testing import check_module


class Scale(Fm.InvertibleModule):
    """A FrEIA-style user module: y = 2x, 0-dim log-det; ``wrong`` breaks its log-det."""

    def __init__(self, dims_in, wrong=False):
        super().__init__(dims_in)
        self.wrong = wrong

    def forward(self, x, rev=False, jac=True):
        factor = 0.5 if rev else 2.0
        log_det = torch.tensor(x[0][0].numel() * math.log(2.0), dtype=x[0].dtype)
        if self.wrong:
            log_det = -log_det if not rev else log_det  # wrong sign forward
        return (x[0] * factor,), -log_det if rev else log_det

    def output_dims(self, input_dims):
        return input_dims


class Leaky(Fm.InvertibleModule):
    """Adds the batch mean: invertible per batch, but samples leak into each other."""

    def __init__(self, dims_in):
        super().__init__(dims_in)
        self.weight = torch.nn.Parameter(torch.ones(()))

    def forward(self, x, rev=False, jac=True):
        shift = self.weight * x[0].mean(0, keepdim=True)
        y = x[0] - shift / 2 if rev else x[0] + shift
        return (y,), x[0].new_zeros(x[0].shape[0])

    def output_dims(self, input_dims):
        return input_dims


def test_good_module_passes_with_a_report():
    block = Fm.GLOWCouplingBlock([(4,)], [(2,)], subnet_constructor=mlp_subnet)
    report = check_module(block)
    assert ("log-det equals autograd slogdet", "inverse") in report.passed
    assert ("gradients reach parameters, inputs and conditions", "graph") in report.passed
    assert "checks passed" in str(report)


def test_class_with_dims_and_given_inputs():
    report = check_module(Scale, dims_in=[(3,)], x=torch.randn(5, 3))
    assert len(report.passed) == 19
    check_module(Fm.ActNorm([(2, 4, 4)]), x=torch.randn(6, 2, 4, 4) + 3)


def test_broken_log_det_is_reported_with_every_failure():
    with pytest.raises(inn.ModuleCheckError) as info:
        check_module(Scale([(3,)], wrong=True))
    message = str(info.value)
    assert "log-det equals autograd slogdet [plain]" in message
    assert "round trip and log-dets cancel [graph]" in message
    assert isinstance(info.value, AssertionError) and isinstance(info.value, inn.InnError)


def test_leaking_samples_are_reported():
    with pytest.raises(inn.ModuleCheckError, match="leaks into the output"):
        check_module(Leaky([(2,)]))


def test_float32_rounding_in_a_log_det_is_caught():
    """log(2) computed in float32 is off by 6e-9 per feature: the float64 check sees it."""

    class Sloppy(Scale):
        def forward(self, x, rev=False, jac=True):
            (y,), _ = super().forward(x, rev, jac)
            log_det = x[0][0].numel() * torch.log(torch.tensor(2.0)).item()
            return (y,), -log_det if rev else log_det

    with pytest.raises(inn.ModuleCheckError, match=r"slogdet.*off by"):
        check_module(Sloppy([(3,)]))


def test_class_without_dims_raises():
    with pytest.raises(inn.ModuleArgumentError, match="dims_in"):
        check_module(Scale)
