"""inn.flows: every preset trains (two moons; Glow on digits), samples, checks its arguments."""

import math

import pytest
import torch

import inn
from inn import datasets, flows

TINY = {"transforms": 2, "hidden_features": (16, 16)}
VECTOR_PRESETS = {
    "RealNVP": flows.RealNVP, "NICE": flows.NICE, "NSF": flows.NSF,
    "NSF-AR": lambda *a, **k: flows.NSF(*a, autoregressive=True, **k),
    "MAF": flows.MAF, "IAF": flows.IAF,
}


def train(flow, data, steps, c=None, lr=1e-2):
    optimizer = torch.optim.Adam(flow.parameters(), lr=lr)
    generator = torch.Generator().manual_seed(0)
    for _ in range(steps):
        idx = torch.randint(len(data), (128,), generator=generator)
        batch_c = None if c is None else c[idx]
        loss = -flow.log_prob(data[idx], batch_c).mean()
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()


def nll(flow, data, c=None):
    with torch.no_grad():
        return -flow.log_prob(data, c).mean().item()


@pytest.mark.parametrize("name", sorted(VECTOR_PRESETS))
def test_vector_preset_learns_two_moons(name):
    torch.manual_seed(0)
    data, test = datasets.moons(2000, seed=0), datasets.moons(500, seed=1)
    flow = VECTOR_PRESETS[name](2, **TINY)
    assert isinstance(flow, inn.Flow) and isinstance(flow.transform, inn.SequenceINN)
    before = nll(flow, test)
    train(flow, data, steps=30)
    assert nll(flow, test) < before - 0.3
    samples, log_prob = flow.sample_and_log_prob(64)
    assert samples.shape == (64, 2) and torch.isfinite(log_prob).all()
    torch.testing.assert_close(log_prob, flow.log_prob(samples), atol=1e-3, rtol=1e-3)


@pytest.mark.parametrize("name", ["RealNVP", "NSF", "MAF"])
def test_conditional_preset_uses_its_context(name):
    torch.manual_seed(0)
    label = torch.randint(0, 2, (2000,))
    data = datasets.moons(2000, seed=0) + 4.0 * label[:, None]  # two shifted copies
    c = torch.nn.functional.one_hot(label, 2).float()
    flow = VECTOR_PRESETS[name](2, context=2, **TINY)
    train(flow, data, steps=60, c=c)
    shifted = nll(flow, data, c.flip(1))  # the wrong label
    assert nll(flow, data, c) < shifted - 1.0
    x = flow.sample(100, c=torch.tensor([[0.0, 1.0]]).repeat(100, 1))
    assert x.mean(0)[0] > 2.0


def test_ncsf_is_a_density_on_the_torus():
    torch.manual_seed(0)
    flow = flows.NCSF(2, **TINY)
    angles = torch.remainder(datasets.moons(2000, seed=0) + math.pi, 2 * math.pi) - math.pi
    before = nll(flow, angles)
    assert before == pytest.approx(2 * math.log(2 * math.pi), abs=1e-4)  # starts uniform
    train(flow, angles, steps=30)
    assert nll(flow, angles) < before - 0.2
    x = flow.sample(500)
    assert ((x >= -math.pi) & (x < math.pi)).all()
    # periodic: the density at -pi equals the density at pi (approached from below)
    edge = torch.tensor([[-math.pi, 0.3], [math.pi - 1e-6, 0.3]])
    log_prob = flow.log_prob(edge)
    assert abs(log_prob[0] - log_prob[1]) < 1e-3


def test_glow_learns_digits_with_split_outputs():
    torch.manual_seed(0)
    levels = datasets.digits("train")[:512]
    x = (levels + torch.rand(levels.shape)) / 17
    flow = flows.Glow((1, 8, 8), levels=2, steps=2, hidden_channels=16)
    graph = flow.transform
    assert isinstance(graph, inn.GraphINN)
    assert [tuple(s) for s in flow.event_shapes] == [(2, 4, 4), (8, 2, 2)]
    assert {"squeeze0", "split0", "z0", "z1", "coupling1.1"} <= {n.name for n in graph.node_list}
    before = inn.bits_per_dim(flow.log_prob(x), (1, 8, 8)).mean().item()
    train(flow, x, steps=15, lr=3e-3)
    after = inn.bits_per_dim(flow.log_prob(x), (1, 8, 8)).mean().item()
    assert after < before - 0.3
    samples, log_prob = flow.sample_and_log_prob(8)
    assert samples.shape == (8, 1, 8, 8)
    torch.testing.assert_close(log_prob, flow.log_prob(samples), atol=1e-2, rtol=1e-3)


def test_glow_context_is_used():
    flow = flows.Glow((1, 4, 4), context=3, levels=2, steps=1, hidden_channels=8)
    for p in flow.parameters():  # move off the identity start
        p.data.add_(0.1 * torch.randn_like(p))
    x, c = torch.rand(4, 1, 4, 4), torch.randn(4, 3)
    assert not torch.allclose(flow.log_prob(x, c), flow.log_prob(x, c + 1))


def test_preset_networks_are_editable_containers():
    flow = flows.RealNVP(4, transforms=3)
    assert len(flow.transform) == 3
    flow.transform.append(inn.ActNorm)
    assert flow.log_prob(torch.randn(5, 4)).shape == (5,)
    text = repr(flow.transform)
    assert "CouplingBlock" in text and "ActNorm" in text


@pytest.mark.parametrize(("call", "match"), [
    (lambda: flows.RealNVP(1), "features must be an int >= 2"),
    (lambda: flows.NSF(2, transforms=0), "transforms must be an int >= 1"),
    (lambda: flows.MAF(2.5), "features must be an int >= 1"),
    (lambda: flows.NICE(3, context=-1), "context must be an int >= 0"),
    (lambda: flows.NSF(2, bins=1), "bins must be an int >= 2"),
    (lambda: flows.Glow((1, 6, 6), levels=2), "multiples of 4"),
    (lambda: flows.Glow((8, 8)), r"shape must be \(C, H, W\)"),
    (lambda: flows.Glow((1, 8, 8), squeeze="pixel"), "squeeze must be one of"),
    (lambda: flows.Glow((1, 8, 8), levels=0), "levels must be an int >= 1"),
    (lambda: flows.Glow((1, 8, 8), colour=True), "unknown options"),
])
def test_bad_preset_arguments_raise_named_errors(call, match):
    with pytest.raises(inn.ModuleArgumentError, match=match):
        call()
