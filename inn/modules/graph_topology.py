"""Graph topology: ``Split`` one tensor into sections and ``Concat`` several into one."""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from typing import Any

import torch
from torch import Tensor

from ..errors import ModuleArgumentError
from ..utils import ShapeList
from ._helpers import single_input_shape
from .base import InvertibleModule, Tensors

__all__ = ["Concat", "Concat1d", "ConcatChannel", "Split", "Split1D", "SplitChannel"]


def _check_axis(dim: int, shape: tuple[int, ...], owner: str) -> None:
    if isinstance(dim, bool) or not isinstance(dim, int) or not 0 <= dim < len(shape):
        raise ModuleArgumentError(
            f"{owner}: dim must index a non-batch axis of the shape {shape}, i.e. lie in "
            f"[0, {len(shape) - 1}], got {dim!r}."
        )


def split_sections(size: int, section_sizes: Any, n_sections: int, owner: str) -> list[int]:
    """Section lengths for splitting an axis of length ``size``, following FrEIA's rules.

    ``section_sizes=None`` splits into ``n_sections`` nearly equal parts like
    ``numpy.array_split``; an int ``k`` gives ``[k, size - k]``; a list is used as given, with an
    extra section for any remainder.

    Raises:
        ModuleArgumentError: For sections that do not fit ``size`` or ``n_sections < 2``.

    Example:
        >>> split_sections(7, None, 3, "Split")
        [3, 2, 2]
    """
    if section_sizes is None:
        if isinstance(n_sections, bool) or not isinstance(n_sections, int) or n_sections < 2:
            raise ModuleArgumentError(
                f"{owner}: n_sections must be an int >= 2, got {n_sections!r}."
            )
        base, extra = divmod(size, n_sections)
        if extra:
            warnings.warn(f"{owner} creates sections of unequal size from {size} entries.",
                          stacklevel=3)
        return [base + 1] * extra + [base] * (n_sections - extra)
    if isinstance(section_sizes, int) and not isinstance(section_sizes, bool):
        if not 0 < section_sizes < size:
            raise ModuleArgumentError(
                f"{owner}: an int section_sizes must lie in [1, {size - 1}], got {section_sizes}."
            )
        return [section_sizes, size - section_sizes]
    sections = list(section_sizes)
    if any(isinstance(s, bool) or not isinstance(s, int) or s < 0 for s in sections):
        raise ModuleArgumentError(
            f"{owner}: section_sizes must be non-negative ints, got {section_sizes!r}."
        )
    if sum(sections) > size:
        raise ModuleArgumentError(
            f"{owner}: section_sizes {sections} add up to {sum(sections)}, more than the "
            f"axis length {size}."
        )
    if sum(sections) < size:
        warnings.warn(f"{owner}: section_sizes {sections} add up to less than {size}; adding a "
                      f"section of {size - sum(sections)}.", stacklevel=3)
        sections.append(size - sum(sections))
    return sections


class Split(InvertibleModule):
    """Split one tensor into sections along ``dim`` (a non-batch axis); the inverse concatenates.

    The log-determinant is zero.

    Args:
        dims_in: One input shape.
        section_sizes: ``None`` (use ``n_sections``), an int ``k`` (sections ``[k, size - k]``),
            or a list of lengths (a remainder becomes an extra section, with a warning).
        n_sections: Number of nearly equal sections when ``section_sizes`` is ``None``.
        dim: The axis to split, counting non-batch axes (0 is the channel axis).
        dims_c: Accepted for uniformity; ``Split`` takes no conditions.

    Raises:
        ModuleArgumentError: For several inputs, a bad axis, or sections that do not fit.

    Example:
        >>> split = Split([(5, 4)], section_sizes=[2, 3])
        >>> split.output_dims(split.dims_in)
        [(2, 4), (3, 4)]
    """

    exact_inverse = True  # see InvertibleModule.exact_inverse

    def __init__(
        self,
        dims_in: Any,
        section_sizes: int | Sequence[int] | None = None,
        n_sections: int = 2,
        dim: int = 0,
        dims_c: Any = None,
    ) -> None:
        super().__init__(dims_in, dims_c)
        owner = type(self).__name__
        _check_axis(dim, single_input_shape(self), owner)
        self.dim = dim
        self.split_size_or_sections = split_sections(self.dims_in[0][dim], section_sizes,
                                                     n_sections, owner)

    def _forward(self, x: Tensors, c: Tensors, jac: bool) -> tuple[Tensors, Tensor]:
        parts = torch.split(x[0], self.split_size_or_sections, dim=self.dim + 1)
        return tuple(parts), x[0].new_zeros(x[0].shape[0])

    def _inverse(self, z: Tensors, c: Tensors, jac: bool) -> tuple[Tensors, Tensor]:
        return (torch.cat(z, dim=self.dim + 1),), z[0].new_zeros(z[0].shape[0])

    def output_dims(self, input_dims: ShapeList) -> ShapeList:
        """One shape per section."""
        shape = list(input_dims[0])
        return [tuple([*shape[:self.dim], size, *shape[self.dim + 1:]])
                for size in self.split_size_or_sections]


class Concat(InvertibleModule):
    """Concatenate two or more tensors along ``dim``; the inverse splits them again.

    All other axes must agree. The log-determinant is zero.

    Args:
        dims_in: Two or more input shapes of equal rank.
        dim: The axis to concatenate along, counting non-batch axes.
        dims_c: Accepted for uniformity; ``Concat`` takes no conditions.

    Raises:
        ModuleArgumentError: For fewer than two inputs or incompatible shapes.

    Example:
        >>> Concat([(2, 4), (3, 4)]).output_dims([(2, 4), (3, 4)])
        [(5, 4)]
    """

    exact_inverse = True  # see InvertibleModule.exact_inverse

    def __init__(self, dims_in: Any, dim: int = 0, dims_c: Any = None) -> None:
        super().__init__(dims_in, dims_c)
        owner = type(self).__name__
        if len(self.dims_in) < 2:
            raise ModuleArgumentError(f"{owner} needs at least two inputs, got {self.dims_in}.")
        _check_axis(dim, self.dims_in[0], owner)
        first = self.dims_in[0]
        for shape in self.dims_in[1:]:
            if len(shape) != len(first) or any(
                a != b for axis, (a, b) in enumerate(zip(shape, first, strict=True)) if axis != dim
            ):
                raise ModuleArgumentError(
                    f"{owner}: input shapes {self.dims_in} must agree on every axis except "
                    f"dim={dim}."
                )
        self.dim = dim
        self.split_size_or_sections = [shape[dim] for shape in self.dims_in]

    def _forward(self, x: Tensors, c: Tensors, jac: bool) -> tuple[Tensors, Tensor]:
        return (torch.cat(x, dim=self.dim + 1),), x[0].new_zeros(x[0].shape[0])

    def _inverse(self, z: Tensors, c: Tensors, jac: bool) -> tuple[Tensors, Tensor]:
        parts = torch.split(z[0], self.split_size_or_sections, dim=self.dim + 1)
        return tuple(parts), z[0].new_zeros(z[0].shape[0])

    def output_dims(self, input_dims: ShapeList) -> ShapeList:
        """The concatenated shape."""
        shape = list(input_dims[0])
        shape[self.dim] = sum(s[self.dim] for s in input_dims)
        return [tuple(shape)]


def _deprecated_alias(base: type, name: str) -> type:
    def __init__(self: Any, *args: Any, **kwargs: Any) -> None:
        warnings.warn(f"{name} is deprecated: use {base.__name__} instead.", DeprecationWarning,
                      stacklevel=2)
        base.__init__(self, *args, **kwargs)

    doc = f"Deprecated alias of :class:`{base.__name__}`."
    return type(name, (base,), {"__init__": __init__, "__doc__": doc, "__module__": __name__})


SplitChannel = _deprecated_alias(Split, "SplitChannel")
Split1D = _deprecated_alias(Split, "Split1D")
ConcatChannel = _deprecated_alias(Concat, "ConcatChannel")
Concat1d = _deprecated_alias(Concat, "Concat1d")
