"""``Inverse``: a module that runs another module backwards."""

from __future__ import annotations

from typing import Any

from torch import Tensor

from ..utils import ShapeList
from .base import InvertibleModule

__all__ = ["Inverse"]


class Inverse(InvertibleModule):
    r"""Swap the directions of an invertible module: ``Inverse(m)(z) = m(z, rev=True)``.

    ``dims_in`` is the wrapped module's output shapes, ``output_dims()`` its ``dims_in``, and
    ``dims_c`` and ``force_tuple_output`` are the wrapped module's. The log-determinant follows
    the usual convention: the forward call of the inverse returns
    :math:`\log|\det \partial f^{-1}/\partial z| = -J`.

    Args:
        module: Any invertible module, containers included.

    Example:
        >>> import torch
        >>> from inn.modules import PermuteRandom
        >>> perm = PermuteRandom([(5,)], seed=1)
        >>> x = torch.randn(2, 5)
        >>> (z,), _ = perm([x])
        >>> (x_rec,), _ = Inverse(perm)([z])
        >>> torch.equal(x, x_rec)
        True
    """

    def __init__(self, module: InvertibleModule) -> None:
        super().__init__(module.output_dims(module.dims_in), module.dims_c)
        self.module = module

    @property
    def exact_inverse(self) -> bool:  # type: ignore[override]
        """The wrapped module's ``exact_inverse``."""
        return getattr(self.module, "exact_inverse", False)

    @property
    def force_tuple_output(self) -> bool:
        """The wrapped module's setting (``True`` for plain modules)."""
        return getattr(self.module, "force_tuple_output", True)

    def output_dims(self, input_dims: ShapeList | None = None) -> ShapeList:
        """The wrapped module's input shapes."""
        return list(self.module.dims_in)

    def forward(self, *args: Any, rev: bool = False, **kwargs: Any) -> tuple[Any, Tensor]:
        """Call the wrapped module with the direction flipped."""
        return self.module(*args, rev=not rev, **kwargs)

    def _call_as_block(self, x_or_z: tuple, c: tuple, rev: bool, jac: bool) -> tuple:
        if isinstance(self.module, InvertibleModule):
            return self.module._call_as_block(x_or_z, c, not rev, jac)
        return super()._call_as_block(x_or_z, c, rev, jac)
