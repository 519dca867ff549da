"""The generic contract every invertible module meets, run over the whole registry.

For each case: float64 round trip to the case's tolerance (1e-9 for exact modules), forward and
reverse log-dets cancel, the log-det equals ``slogdet`` of the autograd Jacobian and samples do
not leak into each other, output shapes equal ``output_dims``, gradients reach every parameter,
the inputs and the conditions, ``state_dict`` round-trips exactly, batch size 1 gives each
sample's batched result, float32 works, ``jac=True`` works under ``no_grad``, and inputs are left
untouched. Every case also runs inverted and inside a ``SequenceINN`` and a ``GraphINN``, where
it must give exactly the plain module's numbers. Parameters are perturbed first, so a block that
does nothing cannot pass.
"""

import numpy as np
import pytest
import torch
from cases import CASES
from subjects import build, call, flat_jacobian, wrap

NAMES = sorted(CASES)
FORMS = ["plain", "inverse", "sequence", "graph"]


def _form_cases():
    for name in NAMES:
        for form in FORMS:
            if form == "sequence" and not CASES[name].sequence:
                continue
            yield pytest.param(name, form, id=f"{name}-{form}")


def _subject(name, form):
    case = CASES[name]
    module, x, c = build(case)
    net = wrap(module, form)
    if form == "inverse":
        with torch.no_grad():
            x, _ = call(module, x, c)
    return case, module, net, list(x), c


@pytest.mark.parametrize(("name", "form"), list(_form_cases()))
def test_round_trip_and_log_dets_cancel(name, form):
    case, _, net, x, c = _subject(name, form)
    z, log_jac_det = call(net, x, c)
    x_rec, log_jac_det_rev = call(net, z, c, rev=True)
    assert len(x_rec) == len(x)
    for a, b in zip(x, x_rec):
        assert a.shape == b.shape
        torch.testing.assert_close(b, a, atol=case.atol, rtol=0)
    assert log_jac_det.shape == (x[0].shape[0],)
    torch.testing.assert_close(log_jac_det + log_jac_det_rev,
                               torch.zeros_like(log_jac_det), atol=case.atol, rtol=0)


@pytest.mark.parametrize(("name", "form"), [p for p in _form_cases() if p.values[1] != "plain"])
def test_containers_match_plain_module(name, form):
    case, module, net, x, c = _subject(name, form)
    if form == "inverse":
        x_plain, ld_plain = call(module, x, c, rev=True)
    else:
        x_plain, ld_plain = call(module, x, c)
    out, log_jac_det = call(net, x, c)
    for a, b in zip(out, x_plain):
        assert torch.equal(a, b)
    assert torch.equal(log_jac_det, ld_plain)


@pytest.mark.parametrize("name", NAMES)
def test_output_shapes_and_dtypes(name):
    _, module, _, x, c = _subject(name, "plain")
    z, log_jac_det = call(module, x, c)
    expected = module.output_dims(module.dims_in)
    assert [tuple(t.shape[1:]) for t in z] == [tuple(s) for s in expected]
    assert all(t.dtype == torch.float64 for t in z)
    assert log_jac_det.shape == (x[0].shape[0],) and log_jac_det.dtype == torch.float64
    x_rec, log_jac_det_rev = call(module, z, c, rev=True)
    assert [tuple(t.shape[1:]) for t in x_rec] == [tuple(s) for s in module.dims_in]
    assert log_jac_det_rev.shape == (x[0].shape[0],) and log_jac_det_rev.dtype == torch.float64


@pytest.mark.parametrize(("name", "form"),
                         [pytest.param(n, f, id=f"{n}-{f}") for n in NAMES
                          for f in ("plain", "inverse")])
def test_log_det_matches_autograd_slogdet(name, form):
    case, _, net, x, c = _subject(name, form)
    if not case.jacobian:
        pytest.skip("log-det is not exact for this module")
    x = [t[:3] for t in x]
    c = [t[:3] for t in c]
    _, log_jac_det = call(net, x, c)
    jac = flat_jacobian(lambda inputs: call(net, inputs, c, jac=False)[0], x)
    batch = x[0].shape[0]
    for i in range(batch):
        for j in range(batch):
            if i != j and case.batch_independent:
                assert jac[i, :, j, :].abs().max() == 0, "samples leak into each other"
        sign, logabsdet = torch.linalg.slogdet(jac[i, :, i, :])
        assert sign != 0
        torch.testing.assert_close(log_jac_det[i], logabsdet, atol=case.atol, rtol=0)


@pytest.mark.parametrize(("name", "form"), list(_form_cases()))
def test_gradients_reach_parameters_inputs_and_conditions(name, form):
    _, _, net, x, c = _subject(name, form)
    x = [t.clone().requires_grad_() for t in x]
    c = [t.clone().requires_grad_() for t in c]
    z, log_jac_det = call(net, x, c)
    generator = torch.Generator().manual_seed(5)
    loss = sum((torch.randn(t.shape, generator=generator, dtype=t.dtype) * t).sum() for t in z)
    (loss + log_jac_det.sum()).backward()
    for pname, p in net.named_parameters():
        if p.requires_grad:
            assert p.grad is not None, f"no gradient reaches {pname}"
            assert torch.isfinite(p.grad).all()
            assert p.grad.abs().sum() > 0, f"zero gradient at {pname}"
    for t in x + c:
        assert t.grad is not None and t.grad.abs().sum() > 0


@pytest.mark.parametrize("name", NAMES)
def test_state_dict_round_trip(name):
    case, module, _, x, c = _subject(name, "plain")
    fresh, _, _ = build(case, seed=17)
    fresh.load_state_dict(module.state_dict())
    z, log_jac_det = call(module, x, c)
    z2, log_jac_det2 = call(fresh, x, c)
    for a, b in zip(z, z2):
        assert torch.equal(a, b)
    assert torch.equal(log_jac_det, log_jac_det2)
    for key, value in module.state_dict().items():
        assert torch.equal(value, fresh.state_dict()[key]), key


@pytest.mark.parametrize("name", NAMES)
def test_batch_of_one_matches_batched_result(name):
    case, module, _, x, c = _subject(name, "plain")
    z, log_jac_det = call(module, x, c)
    for i in range(x[0].shape[0]):
        zi, ldi = call(module, [t[i:i + 1] for t in x], [t[i:i + 1] for t in c])
        assert ldi.shape == (1,)
        if case.batch_independent:
            for a, b in zip(zi, z):
                torch.testing.assert_close(a[0], b[i], atol=1e-12, rtol=1e-12)
            torch.testing.assert_close(ldi[0], log_jac_det[i], atol=1e-12, rtol=1e-12)


@pytest.mark.parametrize("name", NAMES)
def test_float32_round_trip(name):
    case, module, _, x, c = _subject(name, "plain")
    module = module.float()
    x, c = [t.float() for t in x], [t.float() for t in c]
    z, log_jac_det = call(module, x, c)
    x_rec, log_jac_det_rev = call(module, z, c, rev=True)
    assert all(t.dtype == torch.float32 for t in z + x_rec)
    assert log_jac_det.dtype == torch.float32
    tol = max(1e-4, 100 * case.atol)
    for a, b in zip(x, x_rec):
        torch.testing.assert_close(b, a, atol=tol, rtol=tol)
    torch.testing.assert_close(log_jac_det, -log_jac_det_rev, atol=tol, rtol=tol)


@pytest.mark.parametrize("name", NAMES)
def test_jac_under_no_grad_and_inputs_untouched(name):
    _, module, _, x, c = _subject(name, "plain")
    z, log_jac_det = call(module, x, c)
    copies = [t.clone() for t in x + c]
    with torch.no_grad():
        z2, log_jac_det2 = call(module, x, c)
        call(module, z2, c, rev=True)
    assert torch.equal(log_jac_det, log_jac_det2)
    for original, copy in zip(x + c, copies):
        assert torch.equal(original, copy), "an input was modified in place"
        assert not original.requires_grad


@pytest.mark.parametrize("name", NAMES)
def test_jac_false_still_returns_a_pair(name):
    _, module, _, x, c = _subject(name, "plain")
    z, log_jac_det = call(module, x, c)
    out = module(x, c=c or None, jac=False)
    assert isinstance(out, tuple) and len(out) == 2
    for a, b in zip(out[0], z):
        assert torch.equal(a, b)


def test_registry_is_large_and_named():
    assert len(CASES) >= 20
    assert all(name == name.lower() and " " not in name for name in CASES)
    np.testing.assert_equal(len(set(NAMES)), len(NAMES))
