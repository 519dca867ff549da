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


def test_memory_efficient_example_trains_with_flat_saved_memory(capsys):
    history, standard, efficient, error = load("memory_efficient").main(
        steps=10, depth=2, batch_size=32)
    assert history[-1] < history[0]
    assert efficient < 0.1 * standard
    assert error < 1e-4
    assert "rebuilt the inputs of" in capsys.readouterr().out
