"""The forms a module is checked in (plain, inverted, in a SequenceINN or GraphINN); calls."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import torch
from torch import Tensor

from ..framework import ConditionNode, GraphINN, InputNode, Node, OutputNode, SequenceINN
from ..modules import Inverse

__all__ = ["FORMS", "call", "flat_jacobian", "wrap"]

FORMS = ("plain", "inverse", "sequence", "graph")


def call(module: Any, x: Sequence[Tensor], c: Sequence[Tensor], rev: bool = False,
         jac: bool = True) -> tuple[tuple[Tensor, ...], Any]:
    """Call a module or container and always return ``(tuple of outputs, log-det)``.

    Without conditions the ``c`` keyword is left out, as the containers do, so FrEIA-style user
    modules with ``forward(self, x, rev=False, jac=True)`` work.
    """
    conditions = {"c": list(c)} if c else {}
    out, log_jac_det = module(list(x), rev=rev, jac=jac, **conditions)
    if isinstance(out, Tensor):
        out = (out,)
    return tuple(out), log_jac_det


def wrap(module: Any, form: str) -> Any:
    """Return a network holding ``module`` in ``form`` (one of :data:`FORMS`).

    Example:
        >>> from inn.modules import ActNorm
        >>> type(wrap(ActNorm([(3,)]), "graph")).__name__
        'GraphINN'
    """
    if form == "plain":
        return module
    if form == "inverse":
        return Inverse(module)
    if form == "sequence":
        seq = SequenceINN(*module.dims_in[0], force_tuple_output=True)
        if module.dims_c:
            seq.append(module, cond=list(range(len(module.dims_c))))
        else:
            seq.append(module)
        return seq
    if form == "graph":
        inputs = [InputNode(*shape, name=f"in{i}") for i, shape in enumerate(module.dims_in)]
        conds = [ConditionNode(*shape, name=f"c{i}") for i, shape in enumerate(module.dims_c)]
        node = Node(inputs, module, conditions=conds or None, name="block")
        outputs = [OutputNode(node.out0 if i == 0 else (node, i), name=f"out{i}")
                   for i in range(len(node.output_dims))]
        return GraphINN(inputs + conds + [node] + outputs, force_tuple_output=True)
    raise ValueError(f"unknown form {form!r}; choose one of {FORMS}")


def flat_jacobian(fn: Callable[[list[Tensor]], Sequence[Tensor]], x: Sequence[Tensor]) -> Tensor:
    """Autograd Jacobian of the flattened outputs w.r.t. the flattened inputs, ``(B, D, B, D)``."""
    batch = x[0].shape[0]
    sizes = [t[0].numel() for t in x]
    flat = torch.cat([t.reshape(batch, -1) for t in x], dim=1)

    def flat_fn(v: Tensor) -> Tensor:
        parts = torch.split(v, sizes, dim=1)
        outs = fn([p.reshape(t.shape) for p, t in zip(parts, x, strict=True)])
        return torch.cat([o.reshape(batch, -1) for o in outs], dim=1)

    return torch.autograd.functional.jacobian(flat_fn, flat, vectorize=True)
