"""Bins of monotone splines: bin sizes to knots, and each point's bin."""

from __future__ import annotations

import torch
from torch import Tensor

__all__ = ["bin_sizes", "gather_pair", "locate_bin"]


def bin_sizes(widths: Tensor, heights: Tensor) -> Tensor:
    """Stack bin widths and heights into one ``(..., 2, K)`` tensor (row 0 ``x``, row 1 ``y``).

    Example:
        >>> bin_sizes(torch.tensor([1.0, 2.0]), torch.tensor([[3.0, 1.0]])).shape
        torch.Size([1, 2, 2])
    """
    return torch.stack(torch.broadcast_tensors(widths, heights), dim=-2)


def locate_bin(position: Tensor, cumulative: Tensor,
               search_row: int) -> tuple[Tensor, Tensor, Tensor, Tensor, Tensor]:
    r"""Find each point's bin and return its lower knot and size on both axes.

    The bin index ``k`` in ``[0, K-1]`` counts the inner knots of row ``search_row`` at or
    below ``position``, a comparison count with no host sync that ``torch.compile`` traces.
    Points before the first knot get bin 0 and points after the last bin ``K-1``, whose end
    knots the linear tails continue. Both knots of the bin come from one ``gather``, so
    neighbouring bins share their knot exactly.

    Args:
        position: Points relative to the first knot, ``(*S)``.
        cumulative: Cumulative bin sizes ``(..., 2, K)`` (row 0 ``x``, row 1 ``y``): the
            offsets of the bins' upper knots, broadcastable to ``(*S, 2, K)``.
        search_row: The axis to search: 0 (``x``) or 1 (``y``).

    Returns:
        ``(index, lower_x, width, lower_y, height)``; ``index`` has shape ``(*S, 1)``, the rest
        ``(*S)``.

    Example:
        >>> sizes = torch.tensor([[1.0, 2.0], [3.0, 1.0]])
        >>> index, lower_x, width, lower_y, height = locate_bin(
        ...     torch.tensor([0.5, 2.0]), sizes.cumsum(-1), 0)
        >>> index.flatten().tolist(), lower_y.tolist(), height.tolist()
        ([0, 1], [0.0, 3.0], [3.0, 1.0])
    """
    inner = cumulative[..., search_row, :-1]
    # Counting in int32 is cheaper than the default int64; gather then needs int64.
    index = (position.unsqueeze(-1) >= inner).sum(-1, keepdim=True, dtype=torch.int32).long()
    shape = (*position.shape, *cumulative.shape[-2:])
    # Knots k-1 and k of the cumulative sizes; bin 0's lower knot is the origin.
    pair = torch.cat((index - 1, index), dim=-1).clamp(min=0)
    knots = cumulative.expand(shape).gather(-1, pair.unsqueeze(-2).expand(*shape[:-1], 2))
    lower = knots[..., 0] * index.clamp(max=1).to(knots.dtype)
    size = knots[..., 1] - lower
    return index, lower[..., 0], size[..., 0], lower[..., 1], size[..., 1]


def gather_pair(table: Tensor, index: Tensor) -> tuple[Tensor, Tensor]:
    """Entries ``k`` and ``k+1`` of ``(..., n)`` tables for ``(*S, 1)`` indices ``k``.

    Example:
        >>> gather_pair(torch.tensor([1.0, 2.0, 3.0]), torch.tensor([[0], [1]]))
        (tensor([1., 2.]), tensor([2., 3.]))
    """
    pair = torch.cat((index, index + 1), dim=-1)
    values = table.expand(*index.shape[:-1], table.shape[-1]).gather(-1, pair)
    return values[..., 0], values[..., 1]
