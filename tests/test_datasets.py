"""inn.datasets: seeded toy densities that never touch the global RNG, and digits."""

import pytest
import torch

import inn
from inn import datasets


@pytest.mark.parametrize("name", sorted(datasets.TOY_DENSITIES))
def test_toys_are_seeded_locally(name):
    state = torch.random.get_rng_state()
    a = datasets.toy(name, 300, seed=3)
    assert torch.equal(torch.random.get_rng_state(), state)
    assert a.shape == (300, 2) and torch.isfinite(a).all()
    assert torch.equal(a, datasets.toy(name, 300, seed=3))
    assert not torch.equal(a, datasets.toy(name, 300, seed=4))
    assert a.abs().max() < 6


def test_toy_shapes_are_what_they_say():
    circles = datasets.circles(4000, seed=0)
    radius = circles.norm(dim=1)
    assert ((radius - 1).abs() < 0.4).float().mean() == pytest.approx(0.5, abs=0.05)
    gaussians = datasets.eight_gaussians(4000, seed=0)
    angles = torch.atan2(gaussians[:, 1], gaussians[:, 0])
    assert torch.remainder(angles * 4 / torch.pi + 0.5, 1).sub(0.5).abs().mean() < 0.15
    board = datasets.checkerboard(4000, seed=0)
    assert ((board.floor() + 2).sum(1) % 2 == 0).all() and board.abs().max() <= 2


def test_bad_arguments():
    with pytest.raises(inn.ModuleArgumentError, match="unknown density"):
        datasets.toy("swiss", 5)
    with pytest.raises(inn.ModuleArgumentError, match="positive int"):
        datasets.moons(0)
    with pytest.raises(inn.ModuleArgumentError, match="split"):
        datasets.digits("val")


def test_digits_split():
    pytest.importorskip("sklearn")
    train, test = datasets.digits("train"), datasets.digits("test")
    assert train.shape[1:] == (1, 8, 8) and len(train) + len(test) == 1797
    assert train.min() == 0 and train.max() == 16 and torch.equal(train, train.round())
