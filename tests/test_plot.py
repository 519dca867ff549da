"""inn.plot (matplotlib) and inn.plotting.draw_graph (graphviz), print(net) wiring."""

import pytest
import torch

import inn
from inn.plotting import draw_graph

matplotlib = pytest.importorskip("matplotlib")
matplotlib.use("Agg")


def test_density_2d_draws_the_flow_density_and_samples():
    from inn.plot import density_2d

    flow = inn.flows.MAF(2, context=1, transforms=1)
    ax = density_2d(flow, c=torch.zeros(1, 1), resolution=16, samples=7,
                    data=torch.randn(5, 2), bounds=(-2, 2, -1, 1))
    image = ax.get_images()[0].get_array()
    assert image.shape == (16, 16)
    # the untrained flow is the standard normal: peak at the centre of the grid
    expected = torch.exp(torch.tensor(-0.5 * (2 / 15) ** 2 * 0.25)) / (2 * torch.pi)
    assert image.max() == pytest.approx(expected.item(), rel=0.05)
    assert [len(c.get_offsets()) for c in ax.collections] == [5, 7]


def test_samples_grid_layout():
    from inn.plot import samples_grid

    ax = samples_grid(torch.rand(5, 3, 4, 4))
    assert ax.get_images()[0].get_array().shape == (11, 16, 3)


def test_draw_graph_of_both_containers():
    pytest.importorskip("graphviz")
    glow = inn.flows.Glow((1, 4, 4), levels=2, steps=1, hidden_channels=4, context=2)
    source = draw_graph(glow.transform).source
    assert "coupling1.0" in source and "style=dashed" in source and "(2,2,2)" in source
    seq = inn.flows.RealNVP(2, context=1, transforms=2).transform
    source = draw_graph(seq).source
    assert source.count("CouplingBlock") == 2 and "condition 0" in source


def test_print_shows_node_names_and_wiring():
    glow = inn.flows.Glow((1, 4, 4), levels=2, steps=1, hidden_channels=4)
    text = str(glow.transform)
    assert "split0 (Split) <- coupling0.0.out0 -> (2, 2, 2), (2, 2, 2)" in text
    assert "z0 (OutputNode) <- split0.out1" in text
    seq = inn.flows.MAF(3, context=2, transforms=2).transform
    assert "1: MaskedAutoregressive (3,) -> (3,), cond=0" in str(seq)
