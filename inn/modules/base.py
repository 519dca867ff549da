"""``InvertibleModule``: the base class of every invertible transform, with its template method."""

from __future__ import annotations

from typing import Any

import torch.nn as nn
from torch import Tensor

from ..errors import ArgumentTypeError, TorchScriptError, with_context
from ..keywords import CheckedNew
from ..utils import ShapeList, as_tuple, normalize_dims
from ..validation import (
    check_conditions,
    check_finite,
    check_inputs,
    full_validation_enabled,
    reference_tensor,
    validation_enabled,
)

__all__ = ["InvertibleModule"]

Tensors = tuple[Tensor, ...]


class InvertibleModule(nn.Module):
    r"""Base class of all invertible modules, compatible with ``FrEIA.modules.InvertibleModule``.

    A module represents a bijection :math:`f` from its inputs ``x`` (shapes ``dims_in``) to its
    outputs ``z`` (shapes ``output_dims(dims_in)``), optionally conditioned on tensors ``c``
    (shapes ``dims_c``). Calling it returns the outputs and the log-Jacobian determinant:

    .. math::

        m([x]) = ((z,), J), \quad J = \log\left|\det \frac{\partial f}{\partial x}\right|,
        \qquad m([z], \mathrm{rev}=\mathrm{True}) = ((x,), -J).

    Built-in modules implement the hooks :meth:`_forward` and :meth:`_inverse` (and
    :meth:`output_dims`); the public :meth:`forward` coerces the arguments, checks counts and
    shapes (see :func:`inn.set_validation`) and dispatches. Both hooks return a ``(B,)`` log-det
    in the input's dtype. User modules written for FrEIA may instead override :meth:`forward`
    directly, with or without a ``c`` argument; containers call modules without conditions
    without the ``c`` keyword.

    Args:
        dims_in: Input shapes without batch axis, one per input: ``[(C, H, W)]``.
        dims_c: Condition shapes without batch axis, one per condition; ``None`` for none.

    Raises:
        TypeError: If ``dims_in`` or ``dims_c`` is not a list of int tuples.

    Example:
        >>> import torch
        >>> from inn.modules import PermuteRandom
        >>> m = PermuteRandom([(4,)], seed=0)
        >>> (z,), log_jac_det = m([torch.randn(2, 4)])
        >>> z.shape, log_jac_det.shape
        (torch.Size([2, 4]), torch.Size([2]))
    """

    #: Set by modules whose ``_check_call`` accepts more than the declared shapes (e.g.
    #: ``GaussianMixtureModel``'s all-components mode): containers then leave the shape check of
    #: tensors this module reads directly to the module, and check only their batch size.
    checks_own_shapes: bool = False

    #: Set by modules whose log-det may have more axes than ``(B,)`` (``GaussianMixtureModel``'s
    #: ``(B, K)`` all-components mode; containers, which check their own blocks). Containers
    #: reject such a log-det from any other module, since it would broadcast silently.
    multi_dim_log_det: bool = False

    #: Whether :meth:`_inverse` undoes :meth:`_forward` exactly, up to floating-point rounding.
    #: Memory-efficient containers (``memory_efficient=True``) rebuild the inputs of such blocks
    #: from their outputs during backward instead of keeping them. Built-in modules declare it;
    #: it is ``False`` by default and, for subclasses defined outside ``inn``, unless the
    #: subclass itself sets it (overriding a built-in's hooks may break the inverse).
    exact_inverse: bool = False

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if "exact_inverse" not in cls.__dict__ and not cls.__module__.startswith("inn."):
            cls.exact_inverse = False

    #: Set by modules whose floating buffers are constants cast to the input's dtype at each call
    #: (Haar and i-RevNet kernels): they accept any floating dtype, so their buffers do not fix
    #: the dtype that inputs must have (see ``inn.validation.reference_tensor``).
    any_float_dtype: bool = False

    # unknown keywords, missing or surplus arguments name the public class (inn.keywords)
    __new__ = staticmethod(CheckedNew())

    def __init__(self, dims_in: Any, dims_c: Any = None) -> None:
        super().__init__()
        try:
            self.dims_in: ShapeList = normalize_dims(dims_in)
            self.dims_c: ShapeList = normalize_dims(dims_c)
        except ArgumentTypeError as error:
            raise with_context(error, type(self).__name__) from None
        self._unit_conditions = any(shape == (1,) for shape in self.dims_c)

    # -- public entry point -----------------------------------------------------------------

    def forward(
        self, x_or_z: Any, c: Any = None, rev: bool = False, jac: bool = True
    ) -> tuple[Tensors, Tensor]:
        """Run the module forward (``x -> z``) or in reverse (``rev=True``, ``z -> x``).

        Args:
            x_or_z: A tensor, or a list/tuple with one tensor per input (per output when
                reversing), each of shape ``(B, *shape)``.
            c: ``None``, a tensor, or a list/tuple with one tensor per condition.
            rev: Compute the inverse.
            jac: Compute the log-Jacobian determinant (otherwise zeros may be returned).

        Returns:
            ``(outputs, log_jac_det)``: a tuple of tensors and a ``(B,)`` tensor, ``J`` forward
            and ``-J`` in reverse.

        Raises:
            InputCountError: If the number of tensors is wrong.
            ConditionError: If conditions are missing or superfluous.
            ShapeError: If a tensor has the wrong shape or batch size.
            InputTypeError: For non-tensors (numpy arrays, dicts, numbers), integer or complex
                tensors, or a dtype or device other than the module's.
            NonFiniteError: Under ``set_validation("full")``, for NaN or Inf in an input, an
                output or the log-det.
        """
        x_or_z = as_tuple(x_or_z, "input", self)
        c = as_tuple(c, "condition", self)
        if validation_enabled():
            self._check_call(x_or_z, c, rev)
            if full_validation_enabled():
                return self._checked_dispatch(x_or_z, c, rev, jac)
        return self._dispatch(x_or_z, c, rev, jac)

    def _checked_dispatch(self, x_or_z: Tensors, c: Tensors, rev: bool, jac: bool) -> tuple:
        """:meth:`_dispatch` with finite-value checks of inputs, outputs and log-det."""
        owner = type(self).__name__
        check_finite(owner, x_or_z, "output to invert" if rev else "input")
        out, log_jac_det = self._dispatch(x_or_z, c, rev, jac)
        check_finite(owner, out, "input" if rev else "output", log_jac_det if jac else None)
        return out, log_jac_det

    def _dispatch(self, x_or_z: Tensors, c: Tensors, rev: bool, jac: bool) -> tuple:
        """Run :meth:`_forward` or :meth:`_inverse` on checked tuples of tensors.

        Containers call this directly for built-in modules whose inputs they know to be valid
        (see ``inn.framework.execution.call_block``), skipping ``nn.Module.__call__`` and the
        repeated checks.
        """
        if c and self._unit_conditions:
            c = tuple(t.unsqueeze(1) if t.dim() == 1 else t for t in c)
        if rev:
            return self._inverse(x_or_z, c, jac)
        return self._forward(x_or_z, c, jac)

    # -- hooks for subclasses ----------------------------------------------------------------

    def _forward(self, x: Tensors, c: Tensors, jac: bool) -> tuple[Tensors, Tensor]:
        """Compute ``(z, J)`` from validated inputs ``x`` and conditions ``c``."""
        raise NotImplementedError(
            f"{type(self).__name__} implements neither forward() nor _forward()."
        )

    def _inverse(self, z: Tensors, c: Tensors, jac: bool) -> tuple[Tensors, Tensor]:
        """Compute ``(x, -J)`` from validated outputs ``z`` and conditions ``c``."""
        raise NotImplementedError(
            f"{type(self).__name__} implements neither forward(rev=True) nor _inverse()."
        )

    def output_dims(self, input_dims: ShapeList) -> ShapeList:
        """Return the output shapes for the given input shapes (used to build graphs).

        Args:
            input_dims: One shape per input, without batch axis.

        Returns:
            One shape per output, without batch axis.
        """
        raise NotImplementedError(f"{type(self).__name__} does not implement output_dims().")

    def _check_call(self, x_or_z: Tensors, c: Tensors, rev: bool) -> None:
        """Check counts and shapes of a call; modules with looser rules override this."""
        owner = type(self).__name__
        batch = check_inputs(owner, x_or_z, self._dims_out() if rev else self.dims_in, rev=rev,
                             reference=reference_tensor(self))
        check_conditions(owner, c, self.dims_c, batch, vector_ok=self._unit_conditions,
                         reference=reference_tensor(self))

    def _dims_out(self) -> ShapeList:
        """``output_dims(dims_in)``, computed once."""
        cached = self.__dict__.get("_cached_dims_out")
        if cached is None:
            cached = normalize_dims(self.output_dims(self.dims_in))
            self.__dict__["_cached_dims_out"] = cached
        return cached

    def _call_as_block(self, x_or_z: Tensors, c: Tensors, rev: bool, jac: bool) -> tuple:
        """Call the module as containers do: a tuple in, ``(tuple, log_jac_det)`` out.

        Modules without conditions are called without the ``c`` keyword, so FrEIA-style user
        modules may declare ``forward(self, x, rev=False, jac=True)``. Containers override this
        to run in tuple mode whatever their ``force_tuple_output``.
        """
        if c:
            return self(x_or_z, c=c, rev=rev, jac=jac)
        return self(x_or_z, rev=rev, jac=jac)

    def _apply(self, fn: Any, recurse: bool = True) -> nn.Module:
        result = super()._apply(fn, recurse)
        self.__dict__.pop("_reference_tensor", None)  # dtype/device checks re-read the state
        return result

    def __prepare_scriptable__(self) -> nn.Module:
        """Called by ``torch.jit.script``, which cannot compile ``inn`` modules.

        Raises:
            TorchScriptError: Always, pointing to ``torch.compile`` and ``torch.export``.
        """
        raise TorchScriptError(
            f"{type(self).__name__}: torch.jit.script is not supported by inn modules (their "
            f"calls take tuples, optional conditions and Python-level checks); use "
            f"torch.compile(module) for speed, or torch.export.export(module, (x,)) for a "
            f"deployable graph (see docs/howto/export.md)."
        )

    def log_jacobian(self, *args: Any, **kwargs: Any) -> None:
        """Removed API: raises ``DeprecationWarning`` as an exception, like FrEIA."""
        raise DeprecationWarning(
            "module.log_jacobian(...) is deprecated: module.forward(..., jac=True) returns a "
            "tuple (out, log_jac_det)."
        )
