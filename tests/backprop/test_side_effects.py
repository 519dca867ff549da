"""Recomputation repeats the forward pass without side effects: ActNorm initialises once,
dropout masks are replayed, batch-norm statistics are updated once, and the global random state
ends where standard backprop leaves it. Plus ``exact_inverse`` declarations and the
``check_recomputation`` debug switch."""

import inspect

import pytest
import torch
import torch.nn as nn
from helpers import assert_same_gradients, gradients, twin

import inn.framework as Ff
import inn.modules as Fm
from inn.backprop import check_recomputation
from inn.errors import RecomputationError


def chain(subnet, depth=3, actnorm=False):
    torch.manual_seed(0)
    net = Ff.SequenceINN(6)
    for k in range(depth):
        if actnorm:
            net.append(Fm.ActNorm)
        net.append(Fm.GLOWCouplingBlock, subnet_constructor=subnet, cond=0, cond_shape=(2,))
        net.append(Fm.PermuteRandom, seed=k)
    return net.double()


def data(seed=0):
    generator = torch.Generator().manual_seed(seed)
    return ([torch.randn(16, 6, generator=generator, dtype=torch.float64)],
            [torch.randn(16, 2, generator=generator, dtype=torch.float64)])


def mlp(c_in, c_out):
    return nn.Sequential(nn.Linear(c_in, 16), nn.Tanh(), nn.Linear(16, c_out))


@pytest.mark.parametrize("rev", [False, True], ids=["forward", "rev"])
def test_actnorm_initialises_once_never_during_recomputation(rev, monkeypatch):
    standard_net = chain(mlp, actnorm=True)
    efficient_net = twin(standard_net)
    calls = []
    original = Fm.ActNorm.initialize
    monkeypatch.setattr(Fm.ActNorm, "initialize",
                        lambda self, batch: (calls.append(self), original(self, batch))[1])
    x, c = data()
    standard = gradients(standard_net, x, c, False, rev=rev)
    assert len(calls) == 3
    efficient = gradients(efficient_net, x, c, True, rev=rev)
    assert len(calls) == 6 and len(set(map(id, calls))) == 6  # each ActNorm once
    assert_same_gradients(standard, efficient)
    for a, b in zip(standard_net.state_dict().values(), efficient_net.state_dict().values()):
        assert torch.equal(a, b)


def test_dropout_masks_are_replayed():
    def dropout_mlp(c_in, c_out):
        return nn.Sequential(nn.Linear(c_in, 16), nn.Dropout(0.3), nn.Tanh(),
                             nn.Linear(16, c_out))

    net = chain(dropout_mlp)
    x, c = data()
    torch.manual_seed(1)
    standard = gradients(net, x, c, False)
    after_standard = torch.get_rng_state()
    torch.manual_seed(1)
    with check_recomputation() as report:
        efficient = gradients(net, x, c, True)
    assert torch.equal(torch.get_rng_state(), after_standard)
    assert_same_gradients(standard, efficient)
    # random blocks keep their inputs (no inversion); the permutations are still inverted
    assert len(report.blocks) == 3


def test_batch_norm_statistics_are_updated_once():
    def batch_norm_mlp(c_in, c_out):
        # no bias before the batch norm: its gradient is zero up to rounding
        return nn.Sequential(nn.Linear(c_in, 16, bias=False), nn.BatchNorm1d(16), nn.Tanh(),
                             nn.Linear(16, c_out))

    standard_net = chain(batch_norm_mlp)
    efficient_net = twin(standard_net)
    x, c = data()
    standard = gradients(standard_net, x, c, False)
    with check_recomputation(rtol=1e-9) as report:
        efficient = gradients(efficient_net, x, c, True)
    assert_same_gradients(standard, efficient)
    assert len(report.blocks) == 6  # batch norm in training mode is exactly invertible
    for (name, a), b in zip(standard_net.state_dict().items(),
                            efficient_net.state_dict().values()):
        assert torch.equal(a, b), name
    assert standard_net.state_dict()["module_list.0.subnet1.1.num_batches_tracked"] == 1


class Doubling(Fm.InvertibleModule):
    """A user module: y = 2x, with a deliberately inexact inverse."""

    def __init__(self, dims_in, error=0.0):
        super().__init__(dims_in)
        self.error = error

    def _forward(self, x, c, jac):
        return (2 * x[0],), x[0].new_full((x[0].shape[0],), 6 * 0.6931471805599453)

    def _inverse(self, z, c, jac):
        return (z[0] / 2 + self.error,), z[0].new_full((z[0].shape[0],), -6 * 0.6931471805599453)

    def output_dims(self, input_dims):
        return input_dims


class ExactDoubling(Doubling):
    exact_inverse = True


def test_user_modules_are_kept_unless_they_opt_in():
    assert Doubling.exact_inverse is False and ExactDoubling.exact_inverse is True
    for cls, rebuilt in ((Doubling, 0), (ExactDoubling, 1)):
        net = Ff.SequenceINN(6, memory_efficient=True)
        net.append(cls([(6,)]))
        x = torch.randn(4, 6, requires_grad=True)
        with check_recomputation() as report:
            z, log_jac_det = net(x)
            (z.sum() - log_jac_det.sum()).backward()
        assert len(report.blocks) == rebuilt
        assert torch.equal(x.grad, torch.full_like(x, 2.0))


def test_check_recomputation_names_the_block_whose_inverse_is_inexact():
    net = Ff.SequenceINN(6, memory_efficient=True)
    net.append(Fm.PermuteRandom, seed=0)
    net.append(ExactDoubling([(6,)], error=1e-3))
    net.append(Fm.PermuteRandom, seed=1)
    x = torch.randn(4, 6, requires_grad=True)
    with check_recomputation() as report:
        z, _ = net(x)
        z.sum().backward()
    assert report.blocks[0].block.startswith("SequenceINN block 2")
    assert report.blocks[1].max_abs_error == pytest.approx(1e-3, rel=1e-3)
    with check_recomputation(rtol=1e-5):
        z, _ = net(x)
        with pytest.raises(RecomputationError, match=r"SequenceINN block 1 \(ExactDoubling\)"):
            z.sum().backward()


def test_every_built_in_module_declares_exact_inverse():
    approximate = {"IResNetLayer", "InvAutoFC", "InvAutoConv2D", "InvAutoAct",
                   "InvAutoActFixed", "InvAutoActTwoSided", "UniformDequantization"}
    for name, cls in vars(Fm).items():
        if not (inspect.isclass(cls) and issubclass(cls, Fm.InvertibleModule)) \
                or cls is Fm.InvertibleModule:
            continue
        declared = next(k for k in cls.__mro__ if "exact_inverse" in vars(k))
        assert declared is not Fm.InvertibleModule, f"{name} does not declare exact_inverse"
        if name not in ("Inverse",):
            assert cls.exact_inverse is (name not in approximate), name
