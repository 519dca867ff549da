"""The subnet constructors of ``inn.nn``: shapes, identity start, and argument errors."""

import pytest
import torch
import torch.nn as nn

import inn.modules as Fm
from inn.errors import ModuleArgumentError
from inn.nn import conv_subnet, mlp_subnet


@pytest.mark.parametrize("hidden", [(), 7, (5, 6)])
def test_mlp_subnet_layers_and_zero_start(hidden):
    net = mlp_subnet(hidden, activation=nn.Tanh)(3, 4)
    linears = [m for m in net if isinstance(m, nn.Linear)]
    widths = (hidden,) if isinstance(hidden, int) else hidden
    assert [layer.out_features for layer in linears] == [*widths, 4]
    assert sum(isinstance(m, nn.Tanh) for m in net) == len(widths)
    assert net(torch.randn(2, 3)).abs().max() == 0  # zero-initialised last layer
    assert mlp_subnet(hidden, zero_init=False)(3, 4)(torch.randn(2, 3)).abs().max() > 0


@pytest.mark.parametrize("dims", [1, 2, 3])
def test_conv_subnet_keeps_the_spatial_shape(dims):
    net = conv_subnet((4,), kernel_size=5, dims=dims, zero_init=False)(2, 3)
    out = net(torch.randn(2, 2, *[6] * dims))
    assert out.shape == (2, 3, *[6] * dims) and out.abs().max() > 0


def test_zero_initialised_subnets_start_couplings_at_the_identity():
    x = torch.randn(4, 2, 6, 6)
    block = Fm.GLOWCouplingBlock([(2, 6, 6)], subnet_constructor=conv_subnet(8))
    assert torch.equal(block([x])[0][0], x)


@pytest.mark.parametrize(("factory", "match"), [
    (lambda: mlp_subnet((16, 0)), r"mlp_subnet: hidden_features must be .*positive ints.*0"),
    (lambda: mlp_subnet("wide"), r"mlp_subnet: hidden_features must be .*'wide'"),
    (lambda: conv_subnet(-3), r"conv_subnet: hidden_features must be .*-3"),
    (lambda: conv_subnet(8, kernel_size=4), r"conv_subnet: kernel_size must be odd, got 4"),
    (lambda: conv_subnet(8, dims=4), r"conv_subnet: dims must be 1, 2 or 3, got 4"),
])
def test_subnet_constructor_errors(factory, match):
    with pytest.raises(ModuleArgumentError, match=match):
        factory()
