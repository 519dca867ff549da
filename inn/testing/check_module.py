"""``check_module``: the registry's contract checks, run on a user's module with a report."""

from __future__ import annotations

import copy
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import torch
from torch import Tensor

from ..errors import ModuleArgumentError, ModuleCheckError
from ..utils import normalize_dims
from .checks import CHECKS, Subject
from .forms import FORMS, call, wrap

__all__ = ["CheckReport", "check_module"]


@dataclass
class CheckReport:
    """What :func:`check_module` checked: one ``(property, form)`` pair per passed check."""

    module: str
    passed: list[tuple[str, str]]

    def __str__(self) -> str:
        lines = [f"check_module({self.module}): {len(self.passed)} checks passed"]
        lines += [f"  ok  {name} [{form}]" for name, form in self.passed]
        return "\n".join(lines)


def _build(module: Any, dims_in: Any, dims_c: Any) -> Any:
    if isinstance(module, torch.nn.Module):
        return copy.deepcopy(module)
    if dims_in is None:
        raise ModuleArgumentError("check_module: give dims_in to check a module class.")
    if dims_c:
        return module(dims_in, dims_c=dims_c)
    return module(dims_in)


def _as_list(value: Any) -> list[Tensor]:
    if value is None:
        return []
    return [value] if isinstance(value, Tensor) else list(value)


def _random(shapes: Any, dtype: torch.dtype, seed: int) -> list[Tensor]:
    generator = torch.Generator().manual_seed(seed)
    return [torch.randn((4, *shape), generator=generator, dtype=dtype)
            for shape in normalize_dims(shapes)]


def _fresh_copy(module: Any, seed: int = 17) -> Any:
    """A copy with every floating parameter and buffer moved, for the ``state_dict`` check."""
    fresh = copy.deepcopy(module)
    generator = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for t in [*fresh.parameters(), *fresh.buffers()]:
            if t.is_floating_point():
                t.add_(torch.randn(t.shape, generator=generator, dtype=t.dtype).to(t.device))
    return fresh


def _subjects(module: Any, x: list[Tensor], c: list[Tensor], atol: float) -> list[Subject]:
    single = len(module.dims_in) == 1 and len(module.output_dims(module.dims_in)) == 1
    subjects = []
    for form in FORMS:
        if form == "sequence" and not single:
            continue
        inputs = x
        if form == "inverse":
            with torch.no_grad():
                inputs = list(call(module, x, c)[0])
        subjects.append(Subject(module, wrap(module, form), form, inputs, c, atol,
                                fresh=_fresh_copy(module) if form == "plain" else None,
                                lenient=True))
    return subjects


def check_module(
    module: Any,
    x: Tensor | Sequence[Tensor] | None = None,
    c: Tensor | Sequence[Tensor] | None = None,
    *,
    dims_in: Any = None,
    dims_c: Any = None,
    dtype: torch.dtype = torch.float64,
    atol: float = 1e-9,
) -> CheckReport:
    r"""Check that an invertible module meets ``inn``'s contract, as the registry does.

    The module runs plain, inverted (:class:`~inn.modules.Inverse`), inside a ``SequenceINN``
    (one input and one output only) and inside a ``GraphINN``, on a deep copy cast to
    ``dtype``. Checked: the round trip and the cancelling log-dets (to ``atol``), the log-det
    against ``slogdet`` of the autograd Jacobian, that samples do not leak into each other,
    that the containers give exactly the plain module's numbers, output shapes against
    ``output_dims`` and dtypes, gradients to every parameter, the inputs and conditions,
    ``state_dict`` capture, batch size 1, float32, ``jac=True`` under ``no_grad``, untouched
    inputs, and that ``jac=False`` still returns a pair. Every check runs; all failures are
    reported together.

    A module whose subnets start at zero is the identity, and passes trivially: check a
    trained module, or move its parameters off their initialisation first.

    Args:
        module: An ``InvertibleModule`` instance, or a class built as
            ``module(dims_in, dims_c=dims_c)`` (``module(dims_in)`` without conditions).
        x: Inputs (a tensor or a list, one per input, with a batch axis); default: 4 standard
            normal samples per input.
        c: Conditions, likewise; default: standard normal.
        dims_in: Input shapes, for a class.
        dims_c: Condition shapes, for a class.
        dtype: The dtype of the checks (float64 makes ``atol=1e-9`` meaningful).
        atol: Tolerance of the round trip and log-det checks.

    Returns:
        A :class:`CheckReport` listing the checks that passed.

    Raises:
        ModuleCheckError: Listing every failed property with its form and the reason.
        ModuleArgumentError: For a class without ``dims_in``.

    Example:
        >>> from inn.modules import GLOWCouplingBlock
        >>> from inn.nn import mlp_subnet
        >>> block = GLOWCouplingBlock([(4,)], subnet_constructor=mlp_subnet(16, zero_init=False))
        >>> report = check_module(block)
        >>> len(report.passed)
        19
    """
    module = _build(module, dims_in, dims_c).to(dtype)
    x = [t.to(dtype) for t in _as_list(x)] or _random(module.dims_in, dtype, 0)
    c = [t.to(dtype) for t in _as_list(c)] or _random(module.dims_c, dtype, 1)
    passed, failed = [], []
    for subject in _subjects(module, x, c, atol):
        for name, (check, forms) in CHECKS.items():
            if subject.form not in forms:
                continue
            try:
                check(subject)
                passed.append((name, subject.form))
            except Exception as error:
                failed.append(f"{name} [{subject.form}]: {type(error).__name__}: {error}")
    label = type(module).__name__
    if failed:
        raise ModuleCheckError(
            f"check_module({label}): {len(failed)} of {len(failed) + len(passed)} checks "
            f"failed:\n  " + "\n  ".join(failed))
    return CheckReport(label, passed)
