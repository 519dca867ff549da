"""The contract's properties as functions: each checks one ``Subject`` and raises AssertionError.

These are the single implementation behind both the registry tests (tests/test_contract.py) and
:func:`inn.testing.check_module`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import torch
from torch import Tensor

from .forms import call, flat_jacobian

__all__ = ["CHECKS", "Subject"]


@dataclass
class Subject:
    """A module in one form, with its inputs, ready for the checks.

    Attributes:
        module: The plain module.
        net: The module in its form (itself, inverted, in a container).
        form: ``"plain"``, ``"inverse"``, ``"sequence"`` or ``"graph"``.
        x: Inputs of ``net`` (for the inverse form: the module's outputs).
        c: Conditions.
        atol: Tolerance of the float64 checks.
        jacobian: Compare the log-det with autograd ``slogdet``.
        batch_independent: Samples must not influence each other.
        fresh: A differently initialised copy, for the ``state_dict`` check.
        lenient: Accept a float, 0-dim or ``None`` log-det from the plain module (user
            modules, FrEIA-style); built-in modules must return ``(B,)``.
    """

    module: Any
    net: Any
    form: str
    x: list[Tensor]
    c: list[Tensor]
    atol: float = 1e-9
    jacobian: bool = True
    batch_independent: bool = True
    fresh: Any = field(default=None, repr=False)
    lenient: bool = False


def _run(s: Subject, module: Any, x: Any, c: Any, rev: bool = False,
         jac: bool = True) -> tuple[tuple[Tensor, ...], Any]:
    """``call``, broadcasting a user module's float / 0-dim / None log-det as containers do."""
    out, log_jac_det = call(module, x, c, rev=rev, jac=jac)
    if s.lenient and jac and not (isinstance(log_jac_det, Tensor) and log_jac_det.dim() == 1):
        value = 0.0 if log_jac_det is None else log_jac_det
        log_jac_det = torch.as_tensor(value, dtype=x[0].dtype).expand(x[0].shape[0])
    return out, log_jac_det


def _close(actual: Tensor, expected: Tensor, atol: float, what: str) -> None:
    if actual.shape != expected.shape:
        raise AssertionError(f"{what}: shape {tuple(actual.shape)}, expected "
                             f"{tuple(expected.shape)}")
    error = (actual - expected).abs().max().item() if actual.numel() else 0.0
    if not error <= atol:
        raise AssertionError(f"{what}: off by {error:.3g} (tolerance {atol:g})")


def round_trip(s: Subject) -> None:
    """Reverse inverts forward, and the two log-dets cancel."""
    z, log_jac_det = _run(s, s.net, s.x, s.c)
    x_rec, log_jac_det_rev = _run(s, s.net, z, s.c, rev=True)
    if len(x_rec) != len(s.x):
        raise AssertionError(f"reverse returned {len(x_rec)} tensors for {len(s.x)} inputs")
    for i, (a, b) in enumerate(zip(s.x, x_rec, strict=True)):
        _close(b, a, s.atol, f"round trip of input {i}")
    if not isinstance(log_jac_det, Tensor) or log_jac_det.shape != (s.x[0].shape[0],):
        raise AssertionError(f"log-det must be a (B,) tensor, got {log_jac_det!r:.60}")
    _close(log_jac_det + log_jac_det_rev, torch.zeros_like(log_jac_det), s.atol,
           "forward + reverse log-dets")


def container_matches_plain(s: Subject) -> None:
    """The form gives exactly the plain module's numbers."""
    if s.form == "plain":
        return
    rev = s.form == "inverse"
    x_plain, ld_plain = _run(s, s.module, s.x, s.c, rev=rev)
    out, log_jac_det = _run(s, s.net, s.x, s.c)
    for a, b in zip(out, x_plain, strict=True):
        if not torch.equal(a, b):
            raise AssertionError(f"{s.form} output differs from the plain module's")
    if not torch.equal(log_jac_det, ld_plain):
        raise AssertionError(f"{s.form} log-det differs from the plain module's")


def output_shapes_and_dtypes(s: Subject) -> None:
    """Outputs match ``output_dims``; outputs and log-dets keep the input dtype."""
    dtype = s.x[0].dtype
    z, log_jac_det = _run(s, s.module, s.x, s.c)
    expected = [tuple(shape) for shape in s.module.output_dims(s.module.dims_in)]
    got = [tuple(t.shape[1:]) for t in z]
    if got != expected:
        raise AssertionError(f"output shapes {got}, but output_dims says {expected}")
    x_rec, log_jac_det_rev = _run(s, s.module, z, s.c, rev=True)
    got_in = [tuple(t.shape[1:]) for t in x_rec]
    if got_in != [tuple(shape) for shape in s.module.dims_in]:
        raise AssertionError(f"reverse output shapes {got_in}, expected {s.module.dims_in}")
    for name, t in [("output", z[0]), ("log-det", log_jac_det), ("reverse log-det",
                                                                   log_jac_det_rev)]:
        if t.dtype != dtype:
            raise AssertionError(f"{name} dtype {t.dtype}, input dtype {dtype}")
    if log_jac_det.shape != (s.x[0].shape[0],):
        raise AssertionError(f"log-det shape {tuple(log_jac_det.shape)}, expected (B,)")


def log_det_matches_autograd(s: Subject) -> None:
    """The log-det equals ``slogdet`` of the autograd Jacobian; samples do not leak."""
    if not s.jacobian:
        return
    x, c = [t[:3] for t in s.x], [t[:3] for t in s.c]
    _, log_jac_det = _run(s, s.net, x, c)
    jac = flat_jacobian(lambda inputs: _run(s, s.net, inputs, c, jac=False)[0], x)
    batch = x[0].shape[0]
    for i in range(batch):
        for j in range(batch):
            if i != j and s.batch_independent and jac[i, :, j, :].abs().max() != 0:
                raise AssertionError(f"sample {j} leaks into the output of sample {i}")
        sign, logabsdet = torch.linalg.slogdet(jac[i, :, i, :])
        if sign == 0:
            raise AssertionError(f"the Jacobian of sample {i} is singular")
        _close(log_jac_det[i], logabsdet, s.atol, f"log-det vs autograd slogdet (sample {i})")


def gradients_flow(s: Subject) -> None:
    """Gradients reach every trainable parameter, the inputs and the conditions."""
    x = [t.clone().requires_grad_() for t in s.x]
    c = [t.clone().requires_grad_() for t in s.c]
    z, log_jac_det = _run(s, s.net, x, c)
    generator = torch.Generator().manual_seed(5)
    weights = [torch.randn(t.shape, generator=generator, dtype=t.dtype).to(t.device) for t in z]
    (sum((w * t).sum() for w, t in zip(weights, z, strict=True)) + log_jac_det.sum()).backward()
    for name, p in s.net.named_parameters():
        if not p.requires_grad:
            continue
        if p.grad is None or not torch.isfinite(p.grad).all() or p.grad.abs().sum() == 0:
            raise AssertionError(f"no (finite, non-zero) gradient reaches parameter {name}")
    for i, t in enumerate(x + c):
        if t.grad is None or t.grad.abs().sum() == 0:
            kind = "input" if i < len(x) else "condition"
            raise AssertionError(f"no gradient reaches {kind} {i if i < len(x) else i - len(x)}")


def state_dict_round_trip(s: Subject) -> None:
    """A differently initialised copy that loads the state_dict gives identical outputs."""
    if s.fresh is None:
        return
    s.fresh.load_state_dict(s.module.state_dict())
    z, log_jac_det = _run(s, s.module, s.x, s.c)
    z2, log_jac_det2 = _run(s, s.fresh, s.x, s.c)
    if not all(torch.equal(a, b) for a, b in zip(z, z2, strict=True)) or \
            not torch.equal(log_jac_det, log_jac_det2):
        raise AssertionError("after load_state_dict the outputs differ: some state is not a "
                             "parameter or persistent buffer")


def batch_of_one(s: Subject) -> None:
    """Batch size 1 works and gives each sample's batched result."""
    z, log_jac_det = _run(s, s.module, s.x, s.c)
    for i in range(s.x[0].shape[0]):
        zi, ldi = _run(s, s.module, [t[i:i + 1] for t in s.x], [t[i:i + 1] for t in s.c])
        if ldi.shape != (1,):
            raise AssertionError(f"batch of one: log-det shape {tuple(ldi.shape)}")
        if s.batch_independent:
            for a, b in zip(zi, z, strict=True):
                _close(a[0], b[i], 1e-12 + 1e-12 * b[i].abs().max().item(),
                       f"sample {i} alone vs in the batch")
            _close(ldi[0], log_jac_det[i], 1e-12 + 1e-12 * abs(log_jac_det[i].item()),
                   f"log-det of sample {i} alone vs in the batch")


def float32_round_trip(s: Subject) -> None:
    """The module works in float32 (outputs and log-dets in float32, round trip to 1e-4)."""
    module = s.module.float()
    try:
        x, c = [t.float() for t in s.x], [t.float() for t in s.c]
        z, log_jac_det = _run(s, module, x, c)
        x_rec, log_jac_det_rev = _run(s, module, z, c, rev=True)
        if not all(t.dtype == torch.float32 for t in (*z, *x_rec, log_jac_det)):
            raise AssertionError("float32 inputs gave outputs or log-dets of another dtype")
        tol = max(1e-4, 100 * s.atol)
        for a, b in zip(x, x_rec, strict=True):
            _close(b, a, tol * (1 + a.abs().max().item()), "float32 round trip")
        _close(log_jac_det, -log_jac_det_rev, tol * (1 + log_jac_det.abs().max().item()),
               "float32 log-dets")
    finally:
        s.module.to(s.x[0].dtype)


def no_grad_and_inputs_untouched(s: Subject) -> None:
    """``jac=True`` works under no_grad with the same numbers; inputs are never modified."""
    _, log_jac_det = _run(s, s.module, s.x, s.c)
    copies = [t.clone() for t in s.x + s.c]
    with torch.no_grad():
        z2, log_jac_det2 = _run(s, s.module, s.x, s.c)
        _run(s, s.module, z2, s.c, rev=True)
    if not torch.equal(log_jac_det, log_jac_det2):
        raise AssertionError("the log-det under no_grad differs from the one with grad")
    for original, copy in zip(s.x + s.c, copies, strict=True):
        if not torch.equal(original, copy):
            raise AssertionError("an input was modified in place")
        if original.requires_grad:
            raise AssertionError("an input's requires_grad was changed")


def jac_false_returns_a_pair(s: Subject) -> None:
    """``jac=False`` still returns ``(outputs, log-det)`` with the same outputs."""
    z, _ = _run(s, s.module, s.x, s.c)
    out = s.module(list(s.x), jac=False, **({"c": list(s.c)} if s.c else {}))
    if not (isinstance(out, tuple) and len(out) == 2):
        raise AssertionError("jac=False did not return an (outputs, log-det) pair")
    outputs = (out[0],) if isinstance(out[0], Tensor) else out[0]
    if not all(torch.equal(a, b) for a, b in zip(outputs, z, strict=True)):
        raise AssertionError("jac=False changed the outputs")


# name -> (check, the forms it runs in)
CHECKS: dict[str, tuple[Any, tuple[str, ...]]] = {
    "round trip and log-dets cancel": (round_trip, ("plain", "inverse", "sequence", "graph")),
    "containers match the plain module": (container_matches_plain,
                                          ("inverse", "sequence", "graph")),
    "log-det equals autograd slogdet": (log_det_matches_autograd, ("plain", "inverse")),
    "gradients reach parameters, inputs and conditions": (
        gradients_flow, ("plain", "inverse", "sequence", "graph")),
    "output shapes and dtypes": (output_shapes_and_dtypes, ("plain",)),
    "state_dict round trip": (state_dict_round_trip, ("plain",)),
    "batch of one": (batch_of_one, ("plain",)),
    "float32": (float32_round_trip, ("plain",)),
    "no_grad and inputs untouched": (no_grad_and_inputs_untouched, ("plain",)),
    "jac=False returns a pair": (jac_false_returns_a_pair, ("plain",)),
}
