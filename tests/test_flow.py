"""inn.Flow: log_prob, sample, sample_and_log_prob, fit and the Distribution view."""

import math

import pytest
import torch
import torch.nn as nn
from cases import mlp_subnet
from torch.distributions import Independent, Normal
from torch.utils.data import DataLoader, TensorDataset

import inn
import inn.framework as Ff
import inn.modules as Fm


def chain(dim=2, cond=None):
    seq = Ff.SequenceINN(dim)
    for k in range(3):
        if cond is None:
            seq.append(Fm.GLOWCouplingBlock, subnet_constructor=mlp_subnet)
        else:
            seq.append(Fm.GLOWCouplingBlock, cond=0, cond_shape=(cond,),
                       subnet_constructor=mlp_subnet)
        seq.append(Fm.PermuteRandom, seed=k)
    return seq


def test_log_prob_is_change_of_variables():
    flow = inn.Flow(chain()).double()
    x = torch.randn(6, 2, dtype=torch.float64)
    z, log_jac_det = flow.transform(x)
    expected = -0.5 * (z**2).sum(1) - math.log(2 * math.pi) + log_jac_det
    torch.testing.assert_close(flow.log_prob(x), expected, atol=1e-12, rtol=0)
    torch.testing.assert_close(flow(x), expected, atol=1e-12, rtol=0)
    assert flow.log_prob(x).dtype == torch.float64


def test_sample_and_log_prob_agree():
    flow = inn.Flow(chain()).double()
    x, log_prob = flow.sample_and_log_prob(7)
    assert x.shape == (7, 2) and x.dtype == torch.float64
    torch.testing.assert_close(log_prob, flow.log_prob(x), atol=1e-10, rtol=0)
    assert flow.sample((2, 3)).shape == (2, 3, 2)
    samples, log_probs = flow.sample_and_log_prob((2, 3))
    assert samples.shape == (2, 3, 2) and log_probs.shape == (2, 3)


def test_conditional_flow_needs_matching_batches():
    flow = inn.Flow(chain(cond=1))
    c = torch.randn(5, 1)
    assert flow.sample(5, c=[c]).shape == (5, 2)
    with pytest.raises(inn.ShapeError, match=r"batch size 5.*3 samples"):
        flow.sample(3, c=[c])


def test_custom_and_learned_bases():
    base = Independent(Normal(torch.zeros(2), 2 * torch.ones(2)), 1)
    flow = inn.Flow(chain(), base=base)
    x = torch.randn(4, 2)
    z, log_jac_det = flow.transform(x)
    torch.testing.assert_close(flow.log_prob(x), base.log_prob(z) + log_jac_det)
    with pytest.raises(inn.ModuleArgumentError, match="event_shape"):
        inn.Flow(chain(), base=Independent(Normal(torch.zeros(3), torch.ones(3)), 1))
    concat = Fm.Concat([(2,), (2,)])
    with pytest.raises(inn.ModuleArgumentError, match="one input and at least one output"):
        inn.Flow(concat)


def test_fit_reduces_nll_and_restores_mode():
    torch.manual_seed(0)
    data = torch.randn(256, 2) * torch.tensor([2.0, 0.5]) + torch.tensor([1.0, -1.0])
    flow = inn.Flow(chain())
    flow.eval()
    before = -flow.log_prob(data).mean().item()
    history = flow.fit(data, epochs=4, batch_size=32, lr=5e-3, val_data=data[:64],
                       progress=False)
    assert len(history["loss"]) == 4 and len(history["val_loss"]) == 4
    assert history["loss"][-1] < before - 0.3
    assert not flow.training


def test_fit_data_forms_optimizer_factory_scheduler_callback():
    x, c = torch.randn(64, 2), torch.randn(64, 1)
    flow = inn.Flow(chain(cond=1))
    seen = []
    history = flow.fit(DataLoader(TensorDataset(x, c), batch_size=16), epochs=5,
                       optimizer=lambda params: torch.optim.SGD(params, lr=1e-3),
                       scheduler=lambda opt: torch.optim.lr_scheduler.StepLR(opt, 1),
                       callback=lambda epoch, h: seen.append(epoch) or epoch == 1,
                       progress=False)
    assert seen == [0, 1] and len(history["loss"]) == 2
    flow.fit((x, c), epochs=1, batch_size=32, progress=False)
    flow.fit(TensorDataset(x, c), epochs=1, progress=False, clip_grad_norm=1.0)
    with pytest.raises(inn.ModuleArgumentError, match="data must be"):
        flow.fit("not data", progress=False)


def test_fit_stops_on_non_finite_loss():
    flow = inn.Flow(chain())
    with pytest.raises(FloatingPointError, match="loss became nan"):
        flow.fit(torch.full((8, 2), float("nan")), epochs=1, progress=False)


def test_fit_prints_per_epoch_lines_without_tqdm(capsys, monkeypatch):
    import builtins

    real_import = builtins.__import__

    def no_tqdm(name, *args, **kwargs):
        if name.startswith("tqdm"):
            raise ImportError(name)
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_tqdm)
    inn.Flow(chain()).fit(torch.randn(32, 2), epochs=2, batch_size=16)
    assert "epoch 2/2: loss" in capsys.readouterr().out


def test_distribution_view():
    flow = inn.Flow(chain()).double()
    dist = flow.distribution()
    assert dist.batch_shape == () and dist.event_shape == (2,)
    samples = dist.sample((4, 3))
    assert samples.shape == (4, 3, 2) and not samples.requires_grad
    torch.testing.assert_close(dist.log_prob(samples),
                               flow.log_prob(samples.reshape(-1, 2)).reshape(4, 3))
    assert dist.rsample((2,)).requires_grad

    cond_flow = inn.Flow(chain(cond=1)).double()
    c = torch.randn(5, 1, dtype=torch.float64)
    cond_dist = cond_flow.distribution(c=[c])
    assert cond_dist.batch_shape == (5,)
    draws = cond_dist.sample((3,))
    assert draws.shape == (3, 5, 2)
    expected = torch.stack([cond_flow.log_prob(draws[i], c=[c]) for i in range(3)])
    torch.testing.assert_close(cond_dist.log_prob(draws), expected, atol=1e-12, rtol=0)
    with pytest.raises(inn.ShapeError, match="expected a value of shape"):
        cond_dist.log_prob(torch.randn(3, 4, 2, dtype=torch.float64))


def test_flow_moves_with_to():
    flow = inn.Flow(chain()).to(torch.float64)
    assert flow.sample(2).dtype == torch.float64
    assert isinstance(flow.base, nn.Module)


def multiscale_graph():
    """One input (4,), a coupling, a split: two outputs (1,) and (3,)."""
    x = Ff.InputNode(4, name="x")
    block = Ff.Node(x, Fm.GLOWCouplingBlock, {"subnet_constructor": mlp_subnet}, name="block")
    split = Ff.Node(block, Fm.Split, {"section_sizes": [1, 3]}, name="split")
    outs = [Ff.OutputNode(split.out0, name="z0"), Ff.OutputNode(split.out1, name="z1")]
    return Ff.GraphINN([x, block, split, *outs])


def test_multi_output_flow_sums_one_base_term_per_output():
    graph = multiscale_graph().double()
    base1 = Independent(Normal(torch.ones(3, dtype=torch.float64),
                               2 * torch.ones(3, dtype=torch.float64)), 1)
    flow = inn.Flow(graph, base=[None, base1]).double()
    x = torch.randn(6, 4, dtype=torch.float64)
    (z0, z1), log_jac_det = graph(x)
    first = -0.5 * (z0**2).sum(1) - 0.5 * math.log(2 * math.pi)
    torch.testing.assert_close(flow.log_prob(x), first + base1.log_prob(z1) + log_jac_det,
                               atol=1e-12, rtol=0)
    samples, log_prob = flow.sample_and_log_prob(7)
    assert samples.shape == (7, 4)
    torch.testing.assert_close(log_prob, flow.log_prob(samples), atol=1e-10, rtol=0)
    assert flow.sample((2, 3)).shape == (2, 3, 4)
    assert flow.event_shape == (torch.Size([1]), torch.Size([3]))


def test_multi_output_flow_checks_its_bases():
    with pytest.raises(inn.ModuleArgumentError, match="list of 2 bases"):
        inn.Flow(multiscale_graph(), base=[None])
    wrong = Independent(Normal(torch.zeros(2), torch.ones(2)), 1)
    with pytest.raises(inn.ModuleArgumentError, match="output 1"):
        inn.Flow(multiscale_graph(), base=[None, wrong])


@pytest.mark.parametrize("n", [2.5, -1, True, "3", (2, -1), None])
def test_sample_rejects_bad_counts(n):
    flow = inn.Flow(chain())
    with pytest.raises(inn.ShapeError, match="non-negative int"):
        flow.sample(n)
    with pytest.raises(inn.ShapeError, match="non-negative int"):
        flow.sample_and_log_prob(n)
