"""User modules written the way FrEIA's "Invertible Operations" page teaches run unchanged.

The modules below are our own, in that style: ``forward(self, x, rev=False, jac=True)`` without a
``c`` argument, a 0-dim log-det summed over features and a fixed random factor held as a plain
tensor attribute; and a two-input conditional module returning the float ``0.`` as log-det and
reading its condition as ``c[0][i]``, fed a bare ``(B,)`` tensor for a ``ConditionNode(1)``.
"""

import torch

import inn.framework as Ff
import inn.modules as Fm


class ScaleByFixedFactors(Fm.InvertibleModule):
    """Multiply each feature by 1, 2 or 3, chosen at random once."""

    def __init__(self, dims_in):
        super().__init__(dims_in)
        self.factors = torch.randint(1, 4, size=(1, dims_in[0][0]))

    def forward(self, x, rev=False, jac=True):
        x = x[0]
        log_factors = self.factors.log().sum()  # 0-dim, the same for every sample
        if rev:
            return (x / self.factors,), -log_factors
        return (x * self.factors,), log_factors

    def output_dims(self, input_dims):
        return input_dims


class SwapIfPositive(Fm.InvertibleModule):
    """Swap two inputs for the samples whose condition is positive (its own inverse)."""

    def __init__(self, dims_in, dims_c):
        super().__init__(dims_in, dims_c=dims_c)

    def forward(self, x, c, rev=False, jac=True):
        first, second = x
        new_first, new_second = first.clone(), second.clone()
        for i in range(first.shape[0]):
            if c[0][i] > 0:
                new_first[i], new_second[i] = second[i], first[i]
        return (new_first, new_second), 0.0

    def output_dims(self, input_dims):
        return input_dims


def test_sequence_of_unconditional_user_modules():
    torch.manual_seed(1)
    net = Ff.SequenceINN(2)
    for _ in range(2):
        net.append(ScaleByFixedFactors)
    x = torch.randn(10, 2)
    z, log_jac_det = net(x)
    expected = x * net[0].factors * net[1].factors
    torch.testing.assert_close(z, expected)
    assert log_jac_det.shape == (10,)
    total_factor = net[0].factors * net[1].factors
    torch.testing.assert_close(log_jac_det, total_factor.log().sum().expand(10))
    x_rev, log_jac_det_rev = net(z, rev=True)
    torch.testing.assert_close(x_rev, x)
    torch.testing.assert_close(log_jac_det_rev, -log_jac_det)


def test_graph_with_conditional_two_input_user_module():
    torch.manual_seed(2)
    in1, in2 = Ff.InputNode(2, name="in1"), Ff.InputNode(2, name="in2")
    cond = Ff.ConditionNode(1, name="cond")
    scale1 = Ff.Node(in1.out0, ScaleByFixedFactors, {}, name="scale1")
    swap = Ff.Node([scale1.out0, in2.out0], SwapIfPositive, {}, conditions=cond, name="swap")
    scale2 = Ff.Node(swap.out1, ScaleByFixedFactors, {}, name="scale2")
    net = Ff.GraphINN([in1, in2, cond, scale1, swap, scale2,
                       Ff.OutputNode(swap.out0, name="out1"),
                       Ff.OutputNode(scale2.out0, name="out2")])
    x1, x2, c = torch.randn(10, 2), torch.randn(10, 2), torch.randn(10)
    (z1, z2), log_jac_det = net([x1, x2], c=c)
    positive = (c > 0)[:, None]
    scaled = x1 * scale1.module.factors
    torch.testing.assert_close(z1, torch.where(positive, x2, scaled))
    torch.testing.assert_close(z2, torch.where(positive, scaled, x2) * scale2.module.factors)
    assert log_jac_det.shape == (10,)
    (x1_rev, x2_rev), log_jac_det_rev = net([z1, z2], c=c, rev=True, jac=False)
    torch.testing.assert_close(x1_rev, x1)
    torch.testing.assert_close(x2_rev, x2)
    assert torch.equal(log_jac_det_rev, torch.zeros(10))
