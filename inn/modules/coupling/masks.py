"""Masks for ``CouplingBlock``: which entries of the input are passive."""

from __future__ import annotations

import torch
from torch import Tensor

__all__ = ["checkerboard_mask"]


def checkerboard_mask(shape: tuple[int, ...], parity: int = 0) -> Tensor:
    r"""A checkerboard element mask over ``shape``: ``True`` where the index sum has ``parity``.

    Example:
        >>> checkerboard_mask((1, 2, 3)).int()
        tensor([[[1, 0, 1],
                 [0, 1, 0]]], dtype=torch.int32)
    """
    grids = torch.meshgrid(*[torch.arange(n) for n in shape[1:]], indexing="ij")
    board = sum(grids, torch.zeros((), dtype=torch.long)) % 2 == parity
    return board.expand(tuple(shape)).clone()
