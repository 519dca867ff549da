"""The examples run (in a short mode) and do what they say."""

import importlib.util
from pathlib import Path

import torch

EXAMPLES = Path(__file__).parent.parent / "examples"


def load(name):
    spec = importlib.util.spec_from_file_location(name, EXAMPLES / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_quickstart_learns_and_inverts(capsys):
    history, error = load("quickstart").main(steps=40, batch_size=128)
    assert history[-1] < history[0] - 0.2
    assert error < 1e-4
    assert "reconstruction error" in capsys.readouterr().out


def test_autoregressive_density_learns_and_samples(capsys):
    history, start, end, samples = load("autoregressive_density").main(epochs=3, n_train=1000)
    assert end < start - 0.5
    assert len(history["loss"]) == 3 and history["val_loss"][-1] < history["val_loss"][0]
    assert samples.shape == (2000, 2) and torch.isfinite(samples).all()
    assert "test NLL" in capsys.readouterr().out


def test_two_moons_density_learns_and_writes_a_png(tmp_path, capsys):
    out = tmp_path / "moons.png"
    history, start, end = load("two_moons_density").main(epochs=2, n_train=2000, out=str(out))
    assert end < start - 0.3 and len(history["loss"]) == 2
    assert out.stat().st_size > 1000 and out.read_bytes()[:4] == b"\x89PNG"
    assert "CouplingBlock" in capsys.readouterr().out


def test_conditional_flow_uses_the_angle():
    history, right, wrong, samples = load("conditional_flow").main(epochs=4, n_train=3000)
    assert right < wrong - 0.5
    assert samples.shape == (500, 2) and torch.isfinite(samples).all()


def test_glow_digits_learns_and_draws_samples(tmp_path):
    out = tmp_path / "digits.png"
    start, end, images = load("glow_digits").main(iterations=25, batch_size=64, out=str(out),
                                                  levels=2, steps=1, hidden_channels=16)
    assert end < start - 0.2
    assert images.shape == (36, 1, 8, 8) and images.min() >= 0 and images.max() <= 16
    assert out.read_bytes()[:4] == b"\x89PNG"


def test_memory_efficient_example_trains_with_flat_saved_memory(capsys):
    history, standard, efficient, error = load("memory_efficient").main(
        steps=10, depth=2, batch_size=32)
    assert history[-1] < history[0]
    assert efficient < 0.1 * standard
    assert error < 1e-4
    assert "rebuilt the inputs of" in capsys.readouterr().out
