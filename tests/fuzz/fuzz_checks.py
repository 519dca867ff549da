"""The fuzzer's property and its settings.

Building and calling a network either succeeds, with an exact float64 round trip (1e-9) and a
log-det equal to the autograd one, or raises an ``InnError``; never another exception, never a
hang (``signal.alarm``), never a silent broadcast (every wrong call must raise). Profiles: ``ci``
(the default, a few hundred examples) and ``long`` (``INN_FUZZ_PROFILE=long``); the counts of
graphs and calls go to ``$INN_FUZZ_REPORT`` (JSON) when set.
"""

import atexit
import contextlib
import json
import os
import signal
from collections import Counter

import torch
from hypothesis import HealthCheck, settings

import inn
from inn.validation import reference_tensor

PROFILE = os.environ.get("INN_FUZZ_PROFILE", "ci")
_COMMON = {"deadline": None, "print_blob": True, "database": None,
           "suppress_health_check": [HealthCheck.too_slow, HealthCheck.data_too_large,
                                     HealthCheck.filter_too_much]}
# ci: a fixed sample (derandomize) so CI is reproducible; long: fresh random examples.
settings.register_profile("fuzz_ci", max_examples=100, derandomize=True, **_COMMON)
settings.register_profile("fuzz_long", max_examples=int(os.environ.get("INN_FUZZ_EXAMPLES",
                                                                       "6000")), **_COMMON)
FUZZ = settings.get_profile(f"fuzz_{PROFILE}")
TIMEOUT_S = 60  # one example (a build and its calls); a hang fails instead of blocking CI
ATOL = 1e-9

COUNTS: Counter = Counter()


def _report() -> None:
    path = os.environ.get("INN_FUZZ_REPORT")
    if path and COUNTS:
        with open(path, "a") as f:
            f.write(json.dumps({"profile": PROFILE, **COUNTS}) + "\n")


atexit.register(_report)


@contextlib.contextmanager
def time_limit(seconds=TIMEOUT_S):
    """Fail an example that runs longer than ``seconds`` (a hang), instead of blocking."""
    def handler(signum, frame):
        raise TimeoutError(f"fuzz example exceeded {seconds} s (a hang?)")

    previous = signal.signal(signal.SIGALRM, handler)
    signal.alarm(seconds)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)


def expect_inn_error(action, what):
    """Run ``action``; it must raise an ``InnError`` (anything else, or success, is a bug)."""
    try:
        action()
    except inn.InnError:
        return
    except Exception as error:
        raise AssertionError(f"{what}: raised {type(error).__name__}, not an InnError: "
                             f"{error}") from error
    raise AssertionError(f"{what}: no error (a silent wrong result)")


def random_inputs(net, batch, generator, vector_conditions=False):
    """Valid float64 inputs and conditions for ``net`` (a ``(B,)`` tensor for some ``(1,)``)."""
    xs = [torch.randn((batch, *s), generator=generator, dtype=torch.float64)
          for s in net.dims_in]
    cs = []
    for s in net.dims_c:
        shape = (batch,) if vector_conditions and s == (1,) else (batch, *s)
        cs.append(torch.randn(shape, generator=generator, dtype=torch.float64))
    return xs, cs


def perturb(net, generator, scale):
    with torch.no_grad():
        for p in net.parameters():
            if p.is_floating_point():
                p.add_(scale * torch.randn(p.shape, generator=generator, dtype=p.dtype))


def _close(a, b):
    return bool(((a - b).abs() <= ATOL * (1 + b.abs())).all())


def check_exact(net, xs, cs):
    """Round trip to 1e-9, ``(B,)`` log-dets with ``rev`` the negative, and the autograd
    Jacobian: samples independent, ``slogdet`` equal to the log-det."""
    batch = xs[0].shape[0]
    z, log_jac_det = net(xs, c=cs)
    assert log_jac_det.shape == (batch,), f"log-det shape {tuple(log_jac_det.shape)}"
    for out, shape in zip(z, net.output_dims(net.dims_in), strict=True):
        assert tuple(out.shape) == (batch, *shape), f"output {tuple(out.shape)} vs {shape}"
    x_back, log_det_back = net(list(z), c=cs, rev=True)
    for x, xb in zip(xs, x_back, strict=True):
        assert _close(xb, x), f"round trip error {(xb - x).abs().max().item():.3g}"
    assert _close(-log_det_back, log_jac_det), "reverse log-det is not -J"
    sizes = [x[0].numel() for x in xs]

    def flat_forward(flat):
        parts = [p.reshape(x.shape) for p, x in zip(flat.split(sizes, 1), xs, strict=True)]
        out, _ = net(parts, c=cs, jac=False)
        return torch.cat([o.reshape(batch, -1) for o in out], 1)

    flat = torch.cat([x.reshape(batch, -1) for x in xs], 1)
    try:
        jacobian = torch.autograd.functional.jacobian(flat_forward, flat, vectorize=True)
    except RuntimeError:  # an op without a batching rule: one backward pass per output
        jacobian = torch.autograd.functional.jacobian(flat_forward, flat)
    for b in range(batch):
        others = [k for k in range(batch) if k != b]
        if others:
            assert jacobian[b][:, others].abs().max() == 0, "samples leak into each other"
        expected = torch.linalg.slogdet(jacobian[b, :, b, :])[1]
        assert _close(log_jac_det[b], expected), (
            f"log-det {log_jac_det[b].item():.12g} vs autograd {expected.item():.12g}")


def wrong_call(net, xs, cs, kind, batch):
    """The arguments of a wrong call of ``kind``, or ``None`` where it does not apply."""
    x0, rest = xs[0], xs[1:]
    if kind == "feature":
        return [torch.cat([x0, x0[:, :1]], 1), *rest], cs, False
    if kind == "extra_axis":
        return [x0.unsqueeze(-1), *rest], cs, False
    if kind == "missing_axis":
        return [x0[..., 0], *rest], cs, False
    if kind == "batch":
        if len(xs) > 1:
            return [x0, xs[1][:-1], *xs[2:]], cs, False
        return ([x0[:-1], *rest], cs, False) if cs else None
    conversions = {"float32": torch.float32, "int": torch.int64, "uint8": torch.uint8,
                   "complex": torch.complex128, "half": torch.float16}
    if kind in conversions:
        if reference_tensor(net) is None and conversions[kind].is_floating_point:
            return None  # a network without floating state computes in any float dtype
        return [x0.to(conversions[kind]), *rest], cs, False
    kinds = {"numpy": lambda: x0.numpy() if not rest else [x0.numpy(), *rest],
             "dict": lambda: {"x": x0}, "numbers": lambda: [1.0, 2.0],
             "none_input": lambda: [None, *rest], "string": lambda: "x",
             "drop_input": lambda: list(rest) if rest else [],
             "extra_input": lambda: [*xs, x0]}
    if kind in kinds:
        return kinds[kind](), cs, False
    if kind == "cond_missing":
        return (xs, cs[:-1], False) if cs else None
    if kind == "cond_extra":
        return xs, [*cs, cs[0] if cs else x0], False
    if kind == "cond_batch_one":
        return (xs, [cs[0][:1], *cs[1:]], False) if cs and batch > 1 else None
    if kind == "cond_shape":
        return (xs, [torch.cat([cs[0], cs[0][:, :1]], 1) if cs[0].dim() > 1
                     else cs[0].unsqueeze(1).repeat(1, 2), *cs[1:]], False) if cs else None
    if kind == "cond_float32":
        if not cs or reference_tensor(net) is None:
            return None
        return xs, [cs[0].float(), *cs[1:]], False
    if kind == "cond_numpy":
        return (xs, [cs[0].numpy(), *cs[1:]], False) if cs else None
    if kind == "batch_zero":
        return [x[:0] for x in xs], [c[:0] for c in cs], False
    z, _ = net(xs, c=cs)
    if kind == "rev_feature":
        return [torch.cat([z[0], z[0][:, :1]], 1), *z[1:]], cs, True
    return [*z, z[0]], cs, True  # rev_count


def run_wrong_call(net, xs, cs, kind, batch):
    call = wrong_call(net, xs, cs, kind, batch)
    if call is None:
        return
    args, conditions, rev = call
    expect_inn_error(lambda: net(args, c=conditions, rev=rev), f"wrong call {kind!r}")
    COUNTS["wrong_calls"] += 1


__all__ = ["COUNTS", "FUZZ", "check_exact", "expect_inn_error", "perturb", "random_inputs",
           "run_wrong_call", "time_limit"]
