"""Fuzzing: random graphs and random calls either work exactly or raise an InnError.

``python -m pytest tests/fuzz`` runs the ``ci`` profile; ``INN_FUZZ_PROFILE=long`` (with
``INN_FUZZ_EXAMPLES`` per test and ``INN_FUZZ_REPORT=counts.jsonl``) runs the long one.
"""

import hypothesis.strategies as st
import torch
from fuzz_checks import (
    COUNTS,
    FUZZ,
    check_exact,
    expect_inn_error,
    perturb,
    random_inputs,
    run_wrong_call,
    time_limit,
)
from fuzz_graphs import FAULTS, WRONG_CALLS, build_dag, build_registry, dag_plans, registry_plans
from hypothesis import given

import inn
import inn.framework as Ff


def _generator(data):
    return torch.Generator().manual_seed(data.draw(st.integers(0, 2**16), label="torch seed"))


def _exercise(net, data, warmup_scale=0.1):
    """Warm up (data-dependent init), perturb, check one valid call exactly, then wrong calls."""
    generator = _generator(data)
    batch = data.draw(st.integers(1, 3), label="batch")
    xs, cs = random_inputs(net, batch, generator,
                           vector_conditions=data.draw(st.booleans(), label="(B,) conditions"))
    net(*random_inputs(net, 4, generator))  # ActNorm initialises from a first batch of 4
    perturb(net, generator, warmup_scale)
    check_exact(net, xs, cs)
    COUNTS["valid_calls"] += 1
    for kind in data.draw(st.lists(st.sampled_from(WRONG_CALLS), min_size=1, max_size=3),
                          label="wrong calls"):
        run_wrong_call(net, xs, cs, kind, batch)


@FUZZ
@given(plan=dag_plans(), memory_efficient=st.booleans(), data=st.data())
def test_random_dags_are_exact_or_raise_inn_errors(plan, memory_efficient, data):
    """``memory_efficient`` runs the invertible-backprop path, whose custom backward the
    autograd Jacobian then checks."""
    with time_limit():
        try:
            net = Ff.GraphINN(build_dag(plan), force_tuple_output=True,
                              memory_efficient=memory_efficient).double()
        except inn.InnError:
            COUNTS["graphs_rejected"] += 1  # e.g. a split too small for a coupling
            return
        COUNTS["graphs"] += 1
        _exercise(net, data)


@FUZZ
@given(plan=dag_plans(max_steps=3), fault=st.sampled_from(sorted(FAULTS)))
def test_wrong_wirings_raise_inn_errors(plan, fault):
    with time_limit():
        expect_inn_error(lambda: Ff.GraphINN(build_dag(plan, fault)), f"wiring fault {fault!r}")
        COUNTS["wrong_wirings"] += 1


@FUZZ
@given(plan=registry_plans(), data=st.data())
def test_registry_modules_in_random_wirings(plan, data):
    with time_limit():
        net, module, case = build_registry(plan)
        net = net.double()
        COUNTS["registry_graphs"] += 1
        generator = _generator(data)
        batch = data.draw(st.integers(1, 3), label="batch")
        xs = case.inputs(module.dims_in, batch, generator, torch.float64)
        cs = case.conditions(list(getattr(module, "dims_c", [])), batch, generator,
                             torch.float64)
        net(case.inputs(module.dims_in, 4, generator, torch.float64),
            c=case.conditions(list(getattr(module, "dims_c", [])), 4, generator, torch.float64))
        if case.perturb is not None:
            case.perturb(module, generator)
        check_exact(net, xs, cs)
        COUNTS["valid_calls"] += 1
        for kind in data.draw(st.lists(st.sampled_from(WRONG_CALLS), min_size=1, max_size=2),
                              label="wrong calls"):
            run_wrong_call(net, xs, cs, kind, batch)
