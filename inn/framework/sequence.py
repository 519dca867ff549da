"""``SequenceINN``: a chain of single-input, single-output invertible blocks."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import torch
import torch.nn as nn
from torch import Tensor

from .. import backprop
from ..errors import BlockIndexError, ModuleArgumentError, with_context
from ..keywords import check_keywords
from ..modules.base import InvertibleModule
from ..modules.inverse import Inverse
from ..utils import Shape, ShapeList, as_tuple, normalize_dims
from ..validation import validation_enabled
from .compilation import RegionalCompilation
from .execution import accumulate_log_det, call_block, finish_log_det
from .sequence_checks import (
    check_call,
    check_condition_shapes,
    check_instance,
    check_replacement,
    construct,
    parse_cond,
    parse_cond_shape,
)
from .summary import sequence_summary

__all__ = ["SequenceINN"]

CondIndex = int | tuple[int, ...] | None


class SequenceINN(InvertibleModule, RegionalCompilation):
    r"""A chain of invertible blocks, each with one input and one output.

    The network computes :math:`z = f_n \circ \dots \circ f_1(x)` and
    :math:`\log|\det J| = \sum_k \log|\det J_{f_k}|`, accumulated in the input's dtype. Blocks
    may read conditions by index: ``append(..., cond=i)`` makes the block receive ``[c[i]]``.

    Args:
        *dims: The input shape, e.g. ``SequenceINN(3, 32, 32)``.
        force_tuple_output: Return a 1-tuple instead of a bare tensor.
        memory_efficient: Train with activation memory that does not grow with depth: blocks
            with ``exact_inverse`` rebuild their inputs during backward (see
            :mod:`inn.backprop`). Also a settable attribute.

    Attributes:
        shapes: The shapes along the chain, starting with ``dims``.
        conditions: Per block, the condition index (or tuple of indices), or ``None``.
        module_list: The blocks.

    Example:
        >>> import torch, torch.nn as nn
        >>> from inn.modules import GLOWCouplingBlock, PermuteRandom
        >>> seq = SequenceINN(4)
        >>> seq.append(GLOWCouplingBlock, subnet_constructor=nn.Linear)
        >>> seq.append(PermuteRandom, seed=0)
        >>> seq.append(GLOWCouplingBlock, cond=0, cond_shape=(2,), subnet_constructor=nn.Linear)
        >>> x, c = torch.randn(8, 4), torch.randn(8, 2)
        >>> z, log_jac_det = seq(x, c=[c])
        >>> x_rec, _ = seq(z, c=[c], rev=True)
        >>> torch.allclose(x, x_rec, atol=1e-5), len(seq), seq.shapes
        (True, 3, [(4,), (4,), (4,), (4,)])
    """

    multi_dim_log_det = True  # nested containers have checked their own blocks' log-dets

    def __init__(
        self, *dims: int, force_tuple_output: bool = False, memory_efficient: bool = False
    ) -> None:
        if not dims or any(isinstance(d, bool) or not isinstance(d, int) for d in dims):
            raise ModuleArgumentError(
                f"SequenceINN needs its input shape as ints, e.g. SequenceINN(3, 32, 32); "
                f"got {dims!r}."
            )
        super().__init__([dims])
        self.shapes: list[Shape] = [tuple(dims)]
        self.conditions: list[CondIndex] = []
        self.module_list = nn.ModuleList()
        self.force_tuple_output = force_tuple_output
        self.memory_efficient = memory_efficient
        self._condition_shapes: dict[int, Shape] = {}
        self._update_dims_c()

    # -- building ------------------------------------------------------------------------------

    def append(
        self, module_class: Any, cond: Any = None, cond_shape: Any = None, **kwargs: Any
    ) -> None:
        """Append a block, built from a class or given as an instance.

        Args:
            module_class: An ``InvertibleModule`` class, built as
                ``module_class([shapes[-1]], dims_c=..., **kwargs)``, or an instance whose
                ``dims_in`` is ``[shapes[-1]]`` (containers included).
            cond: Index into the conditions passed at call time, a list of indices, or ``None``.
            cond_shape: Shape of that condition (a list of shapes for a list of indices);
                required for classes, checked against ``dims_c`` for instances.
            **kwargs: Constructor arguments of the class.

        Raises:
            ModuleArgumentError: For wrong dims, kwargs with an instance, a multi-output block,
                a missing or conflicting ``cond_shape``, or ``cond`` not matching the block.
        """
        position = len(self.module_list)
        if kwargs and isinstance(module_class, type):
            check_keywords(module_class, kwargs, extra=("cond", "cond_shape"),
                           hidden=("dims_in", "dims_c"),
                           context=f"SequenceINN block {position} ({module_class.__name__})")
        indices = parse_cond(cond, position)
        dims_in = [self.shapes[-1]]
        if isinstance(module_class, nn.Module):
            module = check_instance(module_class, dims_in, indices, cond_shape, kwargs, position)
            cond_shapes = list(getattr(module, "dims_c", []))
        else:
            cond_shapes = parse_cond_shape(indices, cond_shape, position, module_class)
            module = construct(module_class, dims_in, cond_shapes, kwargs, position)
        check_condition_shapes(self._condition_shapes, indices, cond_shapes, position, module)
        output_dims = normalize_dims(module.output_dims(dims_in))
        if len(output_dims) != 1:
            raise ModuleArgumentError(
                f"SequenceINN block {position} ({type(module).__name__}) has "
                f"{len(output_dims)} outputs {output_dims}; SequenceINN blocks need exactly one "
                f"(use GraphINN for splits)."
            )
        self.module_list.append(module)
        self.conditions.append(cond if indices is None or isinstance(cond, int) else indices)
        self.shapes.append(output_dims[0])
        for index, shape in zip(indices or (), cond_shapes, strict=True):
            self._condition_shapes[index] = shape
        self._update_dims_c()

    def _update_dims_c(self) -> None:
        self.__dict__.pop("_reference_tensor", None)  # blocks changed: re-read the dtype
        dims_c = []
        while len(dims_c) in self._condition_shapes:
            dims_c.append(self._condition_shapes[len(dims_c)])
        self.dims_c = dims_c
        self._n_conditions = max(self._condition_shapes, default=-1) + 1
        self._unused_conditions = [i for i in range(self._n_conditions)
                                   if i not in self._condition_shapes]
        # non-tensor conditions (GaussianMixtureModel's index) pass only to modules that check them
        readers: dict[int, list] = {}
        for block, cond in zip(self.module_list, self.conditions, strict=True):
            for index in () if cond is None else (cond,) if isinstance(cond, int) else cond:
                readers.setdefault(index, []).append(getattr(block, "checks_own_shapes", False))
        self._lenient_conditions = [all(readers.get(i, [False])) for i in range(len(dims_c))]

    # -- container protocol -------------------------------------------------------------------

    def _position(self, item: Any) -> int:
        """``item`` as a block position in ``[0, len)``, negative indices counted from the end."""
        n = len(self)
        if isinstance(item, bool) or not isinstance(item, int) or not -n <= item < n:
            kind = repr(item) if isinstance(item, int) else f"a {type(item).__name__}"
            raise BlockIndexError(
                f"SequenceINN has {n} block(s), valid indices are {-n}..{n - 1} (or a slice), "
                f"got {kind}."
            )
        return item % n

    def __getitem__(self, item: int | slice) -> Any:
        if not isinstance(item, slice):
            return self.module_list[self._position(item)]
        start, stop, step = item.indices(len(self))
        positions = list(range(start, stop, step))
        blocks = [self.module_list[i] if step > 0 else Inverse(self.module_list[i])
                  for i in positions]
        first_shape = self.shapes[start] if step > 0 or not positions else self.shapes[start + 1]
        sub = SequenceINN(*first_shape, force_tuple_output=self.force_tuple_output)
        remap: dict[int, int] = {}
        for position, block in zip(positions, blocks, strict=True):
            cond = self.conditions[position]
            if cond is None:
                sub.append(block)
                continue
            indices = (cond,) if isinstance(cond, int) else cond
            new = tuple(remap.setdefault(i, len(remap)) for i in indices)
            sub.append(block, cond=new[0] if isinstance(cond, int) else list(new))
        return sub

    def __setitem__(self, key: Any, value: nn.Module) -> None:
        if isinstance(key, slice):
            raise ModuleArgumentError("SequenceINN does not support assigning to slices.")
        position = self._position(key)
        check_replacement(self.module_list[position], value, position)
        self.module_list[position] = value
        self._update_dims_c()

    @property
    def exact_inverse(self) -> bool:  # type: ignore[override]
        """Whether every block declares ``exact_inverse``."""
        return all(getattr(b, "exact_inverse", False) for b in self.module_list)

    def extra_repr(self) -> str:
        """Block classes, shapes and conditions, one line each."""
        return sequence_summary(self.module_list, self.shapes, self.conditions)

    def __len__(self) -> int:
        return len(self.module_list)

    def __iter__(self) -> Iterator[nn.Module]:
        return iter(self.module_list)

    def output_dims(self, input_dims: Any = None) -> ShapeList:
        """``[shapes[-1]]``; ``input_dims``, if given, must be the chain's input shape."""
        if input_dims is not None:
            given = list(input_dims)
            if given and all(isinstance(d, int) for d in given):
                given = [given]
            if normalize_dims(given) != [self.shapes[0]]:
                raise ModuleArgumentError(
                    f"SequenceINN: input_dims {input_dims!r} differ from the chain's input "
                    f"shape {[self.shapes[0]]}."
                )
        return [self.shapes[-1]]

    # -- calling -------------------------------------------------------------------------------

    def forward(
        self, x_or_z: Any, c: Any = None, rev: bool = False, jac: bool = True
    ) -> tuple[Any, Tensor]:
        """Run the chain forward, or backwards with ``rev=True``.

        Args:
            x_or_z: A tensor, or a list/tuple with exactly one tensor.
            c: ``None``, a tensor (meaning ``[c]``), or a list/tuple indexed by the blocks' cond.
            rev: Run the blocks backwards.
            jac: Compute the log-Jacobian determinant (zeros otherwise).

        Returns:
            ``(out, log_jac_det)``; ``out`` is a tensor, or a 1-tuple with ``force_tuple_output``.

        Raises:
            InputCountError: For more than one input tensor.
            ConditionError: For missing, extra or unused conditions.
            ShapeError: For wrongly shaped inputs or conditions.
            InputTypeError: For non-tensors, integer or complex tensors, or a dtype or device
                other than the network's.
            NonFiniteError: Under ``set_validation("full")``, naming the first block that
                produced NaN or Inf.
        """
        out, log_jac_det = self._call_as_block(as_tuple(x_or_z, "input", self),
                                               as_tuple(c, "condition", self), rev, jac)
        return (out if self.force_tuple_output else out[0]), log_jac_det

    def _call_as_block(self, x_or_z: tuple, c: tuple, rev: bool, jac: bool) -> tuple:
        if validation_enabled():
            self._check_call(x_or_z, c, rev)
        if self.memory_efficient and torch.is_grad_enabled():
            return backprop.run_sequence(self, x_or_z, c, rev, jac)
        x = x_or_z[0]
        total = None
        # the blocks as a plain list: ModuleList indexing costs microseconds per block
        blocks = list(self.module_list._modules.values())
        order = range(len(blocks) - 1, -1, -1) if rev else range(len(blocks))
        conditions = self.conditions
        position = 0
        # x and tensor conditions are checked (or checks are off), other condition values are
        # the reading block's to check; outputs of directly run blocks stay checked
        checked = all([isinstance(t, Tensor) for t in c])
        try:
            for position in order:
                cond = conditions[position]
                if cond is None:
                    block_c: tuple = ()
                elif isinstance(cond, int):
                    block_c = (c[cond],)
                else:
                    block_c = tuple(c[i] for i in cond)
                (x,), log_jac_det, checked = call_block(blocks[position], (x,), block_c, rev,
                                                        jac, 1, checked)
                if jac:
                    total = accumulate_log_det(total, log_jac_det, x)
        except Exception as error:
            module = blocks[position]
            raise with_context(
                error, f"SequenceINN block {position} ({type(module).__name__})"
            ) from error
        return (x,), finish_log_det(total, x_or_z[0])

    def _check_call(self, x_or_z: tuple, c: tuple, rev: bool) -> None:
        check_call(self, x_or_z, c, rev)
