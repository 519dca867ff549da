"""The examples run (in a short mode) and do what they say."""

import importlib.util
from pathlib import Path

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
