r"""Backward through ``AllInOneBlock`` with one subnet evaluation, like any coupling.

The block is a chain of pieces, :math:`y = P\big(G(\mathrm{Coupling}(P_0^{-1}(x)))\big)`: an
optional pre-permutation, the coupling sweep, the global affine scaling :math:`G` and the
permutation :math:`P`. Backward walks the pieces last to first. The coupling sweep goes through
:func:`~inn.backprop.coupling.backward_coupling` (one subnet evaluation per step); each of the
other, cheap pieces is inverted without grad and re-run with grad for its vector-Jacobian
product, with the block's own methods, so the rebuild is the block's inverse. The general step
would evaluate the subnet twice, once to invert the block and once to re-run it.

Example:
    >>> import torch.nn as nn
    >>> from inn.modules import AllInOneBlock
    >>> block = AllInOneBlock([(4,)], subnet_constructor=nn.Linear, permute_soft=True)
    >>> x = torch.randn(3, 4)
    >>> with torch.no_grad():
    ...     (y,), _ = block([x])
    >>> params = [p for p in block.parameters() if p.requires_grad]
    >>> rebuilt, x_grad, _, _ = backward_all_in_one(
    ...     block, y, (), False, torch.ones_like(y), torch.ones(3), (), params)
    >>> torch.allclose(rebuilt, x, atol=1e-6), x_grad.shape
    (True, torch.Size([3, 4]))
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import Tensor

from ..modules.coupling.all_in_one import AllInOneBlock
from .coupling import add_gradient, backward_coupling, vjp_roots

__all__ = ["backward_all_in_one"]

#: A cheap piece: ``(h, inverse) -> (h, log_det or None)``; ``None`` stands for the sweep.
Piece = Callable[[Tensor, bool], tuple[Tensor, Tensor | None]] | None


def backward_all_in_one(
    module: AllInOneBlock, output: Tensor, conditions: tuple, rev: bool,
    out_grad: Tensor | None, log_det_grad: Tensor | None, condition_leaves: tuple, params: list,
) -> tuple[Tensor, Tensor | None, list, list]:
    """Rebuild an ``AllInOneBlock``'s input from its output and backpropagate through it.

    Args and returns as :func:`~inn.backprop.coupling.backward_coupling`.
    """
    pieces = _pieces(module)
    executed = [(piece, rev) for piece in (reversed(pieces) if rev else pieces)]
    value, grad = output, out_grad
    condition_grads: list[Tensor | None] = [None] * len(condition_leaves)
    param_grads: list[Tensor | None] = [None] * len(params)
    for piece, inverse in reversed(executed):
        if piece is None:
            value, grad, found_conditions, found = backward_coupling(
                module, value, conditions, rev, grad, log_det_grad, condition_leaves, params)
            condition_grads = [add_gradient(a, b) for a, b in
                               zip(condition_grads, found_conditions, strict=True)]
        else:
            value, grad, found = _backward_piece(piece, inverse, value, grad, log_det_grad,
                                                 params)
        param_grads = [add_gradient(a, b) for a, b in zip(param_grads, found, strict=True)]
    return value, grad, condition_grads, param_grads


def _pieces(module: AllInOneBlock) -> list[Piece]:
    """The block's pieces in the order its forward pass applies them."""

    def permute(h: Tensor, inverse: bool) -> tuple[Tensor, None]:
        return module._permute(h, module._rotation(), inverse), None

    def pre_permute(h: Tensor, inverse: bool) -> tuple[Tensor, None]:
        return permute(h, not inverse)

    pieces: list[Piece] = [pre_permute] if module.reverse_pre_permute else []
    return [*pieces, None, module._global_affine, permute]


def _backward_piece(
    piece: Callable[[Tensor, bool], tuple[Tensor, Tensor | None]], inverse: bool,
    output: Tensor, out_grad: Tensor | None, log_det_grad: Tensor | None, params: list,
) -> tuple[Tensor, Tensor | None, list]:
    """Invert one cheap piece without grad, then re-run it with grad for its gradients."""
    with torch.no_grad():
        before, _ = piece(output, not inverse)
    leaf = before.detach().requires_grad_()
    after, log_det = piece(leaf, inverse)
    roots, root_grads = vjp_roots([(after, out_grad)], log_det, log_det_grad)
    if not roots:
        return leaf.detach(), None, [None] * len(params)
    found = torch.autograd.grad(roots, [leaf, *params], root_grads, allow_unused=True)
    return leaf.detach(), found[0], list(found[1:])
