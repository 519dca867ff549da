"""Test configuration: seeded RNGs, a --device option, and float32 as the construction dtype.

Modules are built under the default dtype (float32) and cast with ``.double()`` by the tests, so
any tensor a module creates in the default dtype at run time shows up as a dtype error.
"""

import sys
from pathlib import Path

import numpy as np
import pytest
import torch

# Test files in subfolders import the shared helpers (cases, subjects) from this folder.
sys.path.insert(0, str(Path(__file__).parent))


def pytest_addoption(parser):
    parser.addoption("--device", default="cpu", help="torch device for device tests (cpu, cuda)")


@pytest.fixture(autouse=True)
def _seed_everything():
    torch.manual_seed(0)
    np.random.seed(0)


@pytest.fixture
def device(request):
    name = request.config.getoption("--device")
    if name.startswith("cuda") and not torch.cuda.is_available():
        pytest.skip("CUDA is not available")
    return torch.device(name)
