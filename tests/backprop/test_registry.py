"""Memory-efficient backprop over the whole module registry, in both containers.

For every configuration: float64 gradients of the parameters, the inputs and the conditions
equal standard backprop to 1e-10 relative. Modules that declare ``exact_inverse`` are shown to
be inverted (``check_recomputation`` records their rebuilt inputs, exact to 1e-9); the others
are shown to fall back (nothing is rebuilt) with the same gradients.
"""

import pytest
import torch
from cases import CASES
from helpers import assert_same_gradients, gradients, twin
from subjects import build, wrap

from inn.backprop import check_recomputation

NAMES = sorted(CASES)


def _params():
    for name in NAMES:
        for form in ("sequence", "graph"):
            if form == "sequence" and not CASES[name].sequence:
                continue
            yield pytest.param(name, form, id=f"{name}-{form}")


@pytest.mark.parametrize(("name", "form"), list(_params()))
def test_gradients_equal_standard_backprop(name, form):
    case = CASES[name]
    module, x, c = build(case)
    net = wrap(module, form)
    efficient_net = twin(net)  # the same state for stochastic log-det estimates
    torch.manual_seed(7)
    standard = gradients(net, x, c, memory_efficient=False)
    torch.manual_seed(7)
    with check_recomputation(rtol=1e-9) as report:
        efficient = gradients(efficient_net, x, c, memory_efficient=True)
    assert_same_gradients(standard, efficient)
    if module.exact_inverse:
        assert len(report.blocks) == 1, "an exact module's inputs were not rebuilt"
    else:
        assert report.blocks == [], "a module without exact_inverse was inverted"


@pytest.mark.parametrize(("name", "form"), list(_params()))
def test_reverse_gradients_equal_standard_backprop(name, form):
    """The same in the sampling direction, from the outputs of the forward pass."""
    case = CASES[name]
    module, x, c = build(case)
    net = wrap(module, form)
    with torch.no_grad():
        z, _ = net(x if len(x) > 1 else x[0], c=c or None)
    z = [z] if isinstance(z, torch.Tensor) else list(z)
    efficient_net = twin(net)
    torch.manual_seed(7)
    standard = gradients(net, z, c, memory_efficient=False, rev=True)
    torch.manual_seed(7)
    with check_recomputation(rtol=1e-9) as report:
        efficient = gradients(efficient_net, z, c, memory_efficient=True, rev=True)
    assert_same_gradients(standard, efficient)
    if module.exact_inverse:
        assert len(report.blocks) == 1, "an exact module's inputs were not rebuilt"
