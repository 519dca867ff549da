"""Session-wide test setup: one torch thread, and ``torch`` in every doctest's namespace."""

import pytest
import torch

# One intra-op thread: the tests use tiny tensors, where thread start-up costs more than it saves
# (a tiny float64 convolution: 40 ms with two threads on a loaded 2-core machine, 60 us with one).
torch.set_num_threads(1)


@pytest.fixture(autouse=True)
def _doctest_torch(doctest_namespace):
    doctest_namespace["torch"] = torch
    torch.manual_seed(0)
