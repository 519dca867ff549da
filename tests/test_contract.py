"""The generic contract every invertible module meets, run over the whole registry.

The checks themselves live in ``inn.testing.checks`` (the same code ``inn.testing.check_module``
runs on users' modules): float64 round trip to the case's tolerance (1e-9 for exact modules),
forward and reverse log-dets cancel, the log-det equals ``slogdet`` of the autograd Jacobian and
samples do not leak into each other, output shapes equal ``output_dims``, gradients reach every
parameter, the inputs and the conditions, ``state_dict`` round-trips exactly, batch size 1 gives
each sample's batched result, float32 works, ``jac=True`` works under ``no_grad``, and inputs
are left untouched. Every case also runs inverted and inside a ``SequenceINN`` and a
``GraphINN``, where it must give exactly the plain module's numbers. Parameters are perturbed
first, so a block that does nothing cannot pass.
"""

import numpy as np
import pytest
import torch
from cases import CASES
from subjects import build, subject

from inn.testing import checks

NAMES = sorted(CASES)
FORMS = ["plain", "inverse", "sequence", "graph"]


def _form_cases(forms=FORMS):
    for name in NAMES:
        for form in forms:
            if form == "sequence" and not CASES[name].sequence:
                continue
            yield pytest.param(name, form, id=f"{name}-{form}")


@pytest.mark.parametrize(("name", "form"), list(_form_cases()))
def test_round_trip_and_log_dets_cancel(name, form):
    checks.round_trip(subject(CASES[name], form))


@pytest.mark.parametrize(("name", "form"), list(_form_cases(FORMS[1:])))
def test_containers_match_plain_module(name, form):
    checks.container_matches_plain(subject(CASES[name], form))


@pytest.mark.parametrize("name", NAMES)
def test_output_shapes_and_dtypes(name):
    checks.output_shapes_and_dtypes(subject(CASES[name], "plain"))


@pytest.mark.parametrize(("name", "form"), list(_form_cases(["plain", "inverse"])))
def test_log_det_matches_autograd_slogdet(name, form):
    if not CASES[name].jacobian:
        pytest.skip("log-det is not exact for this module")
    checks.log_det_matches_autograd(subject(CASES[name], form))


@pytest.mark.parametrize(("name", "form"), list(_form_cases()))
def test_gradients_reach_parameters_inputs_and_conditions(name, form):
    checks.gradients_flow(subject(CASES[name], form))


@pytest.mark.parametrize("name", NAMES)
def test_state_dict_round_trip(name):
    s = subject(CASES[name], "plain")
    checks.state_dict_round_trip(s)
    for key, value in s.module.state_dict().items():
        assert torch.equal(value, s.fresh.state_dict()[key]), key


@pytest.mark.parametrize("name", NAMES)
def test_batch_of_one_matches_batched_result(name):
    checks.batch_of_one(subject(CASES[name], "plain"))


@pytest.mark.parametrize("name", NAMES)
def test_float32_round_trip(name):
    checks.float32_round_trip(subject(CASES[name], "plain"))


@pytest.mark.parametrize("name", NAMES)
def test_jac_under_no_grad_and_inputs_untouched(name):
    checks.no_grad_and_inputs_untouched(subject(CASES[name], "plain"))


@pytest.mark.parametrize("name", NAMES)
def test_jac_false_still_returns_a_pair(name):
    checks.jac_false_returns_a_pair(subject(CASES[name], "plain"))


def test_every_check_is_run_here():
    """The registry runs every property check_module runs, in the same forms."""
    tested = {"round_trip", "container_matches_plain", "output_shapes_and_dtypes",
              "log_det_matches_autograd", "gradients_flow", "state_dict_round_trip",
              "batch_of_one", "float32_round_trip", "no_grad_and_inputs_untouched",
              "jac_false_returns_a_pair"}
    assert {check.__name__ for check, _ in checks.CHECKS.values()} == tested


def test_registry_is_large_and_named():
    assert len(CASES) >= 20
    assert all(name == name.lower() and " " not in name for name in CASES)
    np.testing.assert_equal(len(set(NAMES)), len(NAMES))
    assert build  # the shared builder stays importable for other suites
