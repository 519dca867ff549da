"""``CouplingBase``: split, condition concatenation, the coupling sweep and log-det summation."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import torch
import torch.nn as nn
from torch import Tensor

from ...errors import ModuleArgumentError
from ...transformers import Transformer
from ...utils import ShapeList
from .._helpers import (
    check_condition_spatial_dims,
    require_subnet_constructor,
    single_input_shape,
)
from ..base import InvertibleModule, Tensors

__all__ = ["CouplingBase", "SubnetConstructor", "resolve_split_len"]

SubnetConstructor = Callable[[int, int], nn.Module]

# One coupling step: (index of the part it transforms, key of the parameter predictor).
Step = tuple[int, Any]


def resolve_split_len(split_len: float | int, channels: int, owner: str) -> int:
    """Return the length of the first part, following FrEIA's ``split_len`` rules.

    A float in ``[0, 1]`` is a fraction of ``channels``, rounded with Python's ``round`` (half to
    even); an int in ``[0, channels]`` is the length itself.

    Raises:
        ModuleArgumentError: If ``split_len`` is out of range or of another type.

    Example:
        >>> resolve_split_len(0.5, 5, "GLOWCouplingBlock"), resolve_split_len(3, 5, "X")
        (2, 3)
    """
    if isinstance(split_len, bool) or not isinstance(split_len, (int, float)):
        raise ModuleArgumentError(
            f"{owner}: split_len must be a float in [0, 1] or an int in [0, {channels}], "
            f"got {split_len!r}."
        )
    if isinstance(split_len, float):
        if not 0.0 <= split_len <= 1.0:
            raise ModuleArgumentError(
                f"{owner}: a float split_len must lie in [0, 1], got {split_len}."
            )
        return round(channels * split_len)
    if not 0 <= split_len <= channels:
        raise ModuleArgumentError(
            f"{owner}: an int split_len must lie in [0, {channels}] (the channel count), "
            f"got {split_len}."
        )
    return split_len


class CouplingBase(InvertibleModule):
    r"""Shared machinery of every coupling block.

    The input is split along axis 1 into parts :math:`x_1` (the first ``split_len`` channels) and
    :math:`x_2`. A coupling *step* transforms one part elementwise with the block's
    :class:`~inn.transformers.Transformer` :math:`\tau`, with parameters predicted from the other
    part and the conditions:

    .. math::

        y_a = \tau\big(x_a;\ \theta\big), \qquad \theta = \mathrm{net}([x_b, c]),
        \qquad \log|\det J| = \sum \log|\tau'|.

    Steps run in order forward and in reverse order backwards, each reading the other part in its
    already transformed state, so the inverse is exact. A subclass only states its transformer,
    its steps (``_steps``: ``(part index, predictor key)`` pairs) and its subnets; it may
    override :meth:`_predict_parameters` to post-process predicted parameters,
    :meth:`_transformer_for` to pick the transformer per call, and :meth:`_split` /
    :meth:`_merge` to define other parts. Two-sided FrEIA blocks use ``((0, ...), (1, ...))``:
    first :math:`x_1` from :math:`x_2`, then :math:`x_2` from :math:`y_1`.

    Args:
        dims_in: One input shape ``(C, *spatial)``.
        dims_c: Condition shapes; each must have the input's spatial shape ``(c_i, *spatial)``.
        transformer: The elementwise bijection (``None`` while a subclass still resolves it).
        split_len: Length of the first part: a float fraction of ``C`` in ``[0, 1]`` or an int in
            ``[0, C]``.

    Raises:
        ModuleArgumentError: For several inputs, a bad ``split_len``, or conditions whose
            spatial shape differs from the input's.
    """

    exact_inverse = True  # see InvertibleModule.exact_inverse

    _steps: Sequence[Step] = ()

    def __init__(
        self,
        dims_in: Any,
        dims_c: Any = None,
        *,
        transformer: Transformer | None,
        split_len: float | int = 0.5,
    ) -> None:
        super().__init__(dims_in, dims_c)
        owner = type(self).__name__
        shape = single_input_shape(self, conditions=True)
        check_condition_spatial_dims(self, shape)
        self.channels = shape[0]
        self.ndims = len(shape)
        self.split_len1 = resolve_split_len(split_len, self.channels, owner)
        self.split_len2 = self.channels - self.split_len1
        self.conditional = len(self.dims_c) > 0
        self.condition_length = sum(cond_shape[0] for cond_shape in self.dims_c)
        self.transformer = transformer

    @property
    def part_lengths(self) -> tuple[int, int]:
        """Channel counts of the two parts."""
        return (self.split_len1, self.split_len2)

    def subnet_dims(self, active: int) -> tuple[int, int]:
        """``(in, out)`` channels of a subnet predicting all parameters of part ``active``."""
        lengths = self.part_lengths
        n_params = self.transformer.n_parameters_per_feature
        self._check_part_lengths(active)
        return lengths[1 - active] + self.condition_length, n_params * lengths[active]

    def _check_part_lengths(self, active: int) -> None:
        """A step needs channels to transform, and its subnet needs an input.

        Raises:
            ModuleArgumentError: If part ``active`` is empty, or the other part is empty and
                there are no conditions (e.g. ``split_len=0`` or ``C``, or a fraction rounding
                to either), instead of a raw error at the first call.
        """
        lengths = self.part_lengths
        empty = active if lengths[active] == 0 else None
        if empty is None and lengths[1 - active] == 0 and not self.condition_length:
            empty = 1 - active
        if empty is not None:
            raise ModuleArgumentError(
                f"{type(self).__name__}: the split {lengths} of {self.channels} channels leaves "
                f"part {empty} empty, but this block {'transforms' if empty == active else 'conditions on'} "  # noqa: E501
                f"it; choose split_len (or the mask) so that both parts have channels "
                f"(an int in [1, {self.channels - 1}])."
            )

    _require_subnet_constructor = staticmethod(require_subnet_constructor)

    # -- hooks -------------------------------------------------------------------------------

    def _predict_parameters(self, predictor: Any, passive: Tensor) -> Tensor:
        """Predict the parameter-major parameters of a step from ``[passive, c]``."""
        # _modules directly: nn.Module.__getattr__ is a slow fallback on this hot path
        return self._modules[predictor](passive)

    def _transformer_for(self, passive: Tensor, c: Tensors) -> Transformer:
        """The transformer of a step whose passive part (without conditions) is ``passive``."""
        return self._modules["transformer"]

    def _split(self, x: Tensor) -> list[Tensor]:
        # split_with_sizes directly: torch.split adds two Python layers to a hot path
        return list(x.split_with_sizes(self.part_lengths, 1))

    def _merge(self, parts: list[Tensor]) -> Tensor:
        return torch.cat(parts, dim=1)

    # -- the sweep ---------------------------------------------------------------------------

    def _step(self, parts: list[Tensor], c: Tensors, active: int, predictor: Any,
              inverse: bool) -> Tensor:
        passive = parts[1 - active]
        conditioner_input = torch.cat([passive, *c], dim=1) if c else passive
        parameters = self._predict_parameters(predictor, conditioner_input)
        transformer = self._transformer_for(passive, c)
        if inverse:
            parts[active], log_jac_det = transformer.inverse(parts[active], parameters)
        else:
            parts[active], log_jac_det = transformer.forward(parts[active], parameters)
        return log_jac_det

    def _forward(self, x: Tensors, c: Tensors, jac: bool) -> tuple[Tensors, Tensor]:
        parts = self._split(x[0])
        log_jac_det = None
        for active, predictor in self._steps:
            step_log_det = self._step(parts, c, active, predictor, inverse=False)
            log_jac_det = step_log_det if log_jac_det is None else log_jac_det + step_log_det
        return (self._merge(parts),), log_jac_det

    def _inverse(self, z: Tensors, c: Tensors, jac: bool) -> tuple[Tensors, Tensor]:
        parts = self._split(z[0])
        log_jac_det = None
        for active, predictor in reversed(self._steps):
            step_log_det = self._step(parts, c, active, predictor, inverse=True)
            log_jac_det = step_log_det if log_jac_det is None else log_jac_det + step_log_det
        return (self._merge(parts),), log_jac_det

    def output_dims(self, input_dims: ShapeList) -> ShapeList:
        """Couplings keep the shape of their single input."""
        if len(input_dims) != 1:
            raise ModuleArgumentError(
                f"{type(self).__name__} takes exactly one input, got {len(input_dims)}."
            )
        return [tuple(input_dims[0])]
