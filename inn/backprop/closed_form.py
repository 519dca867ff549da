r"""Closed-form backward steps of linear blocks: rebuild the input and push the gradients at once.

For a block that is linear in its input, the vector-Jacobian product needs no re-run of the
block: it is one more linear map. Memory-efficient backprop uses these for ``ActNorm``,
``Fixed1x1Conv`` and ``InvertibleLinear``, whose general treatment (invert, re-run with grad,
differentiate) costs two extra passes over the activations. The registry's gradient tests
pin each of them, in both directions, against standard backprop in float64.

Example:
    >>> loc, log_scale = torch.zeros(1, 2, 1), torch.zeros(1, 2, 1)
    >>> z = torch.ones(3, 2, 4)
    >>> x, x_grad, log_scale_grad, loc_grad = act_norm_backward(
    ...     z, loc, log_scale, 4, torch.ones_like(z), torch.ones(3), rev=False)
    >>> torch.equal(x, z), loc_grad.flatten().tolist(), log_scale_grad.flatten().tolist()
    (True, [-12.0, -12.0], [-24.0, -24.0])
"""

from __future__ import annotations

import torch
from torch import Tensor

__all__ = ["act_norm_backward", "conv1x1_backward", "linear_backward"]


def act_norm_backward(
    output: Tensor, loc: Tensor, log_scale: Tensor, positions: int, out_grad: Tensor | None,
    log_det_grad: Tensor | None, rev: bool,
) -> tuple[Tensor, Tensor | None, Tensor | None, Tensor | None]:
    r"""Rebuild and backpropagate ``ActNorm``, :math:`z = (x - \mu) e^{-\lambda}`.

    With :math:`\bar z` the output gradient and :math:`\bar J` the log-det's (:math:`\log|\det
    J| = -N \sum_c \lambda_c` per sample, :math:`N` positions), sums running over the batch and
    positions:

    .. math::

        \bar x = \bar z e^{-\lambda}, \quad \bar\mu_c = -\sum \bar x, \quad
        \bar\lambda_c = -\sum \bar z z - N \sum_b \bar J_b.

    With ``rev`` the block ran its inverse :math:`x = \mu + z e^{\lambda}` (output :math:`x`):
    :math:`\bar z = \bar x e^{\lambda}`, :math:`\bar\mu = \sum \bar x`,
    :math:`\bar\lambda = \sum \bar x (x - \mu) + N \sum_b \bar J_b`.

    Args:
        output: The block's output in the executed direction, ``(B, C, *spatial)``.
        loc: :math:`\mu`, ``(1, C, 1, ...)``.
        log_scale: :math:`\lambda`, ``(1, C, 1, ...)``.
        positions: :math:`N`, the number of spatial positions.
        out_grad: The gradient of ``output``, or ``None``.
        log_det_grad: The gradient of the ``(B,)`` log-det, or ``None``.
        rev: Whether the block ran its inverse.

    Returns:
        ``(input, input_grad, log_scale_grad, loc_grad)``; gradients that do not flow are
        ``None``.
    """
    axes = [0, *range(2, output.dim())]
    if rev:
        factor = torch.exp(log_scale)
        centred = output - loc
        rebuilt = centred / factor
    else:
        rebuilt = torch.addcmul(loc, output, torch.exp(log_scale))
        factor = torch.exp(-log_scale)
    input_grad = loc_grad = log_scale_grad = None
    if out_grad is not None:
        input_grad = out_grad * factor
        if rev:
            loc_grad = out_grad.sum(axes, keepdim=True)
            log_scale_grad = (out_grad * centred).sum(axes, keepdim=True)
        else:
            loc_grad = -input_grad.sum(axes, keepdim=True)
            log_scale_grad = -(out_grad * output).sum(axes, keepdim=True)
    if log_det_grad is not None:
        term = (positions * log_det_grad.sum()).to(log_scale.dtype)
        term = term.expand_as(log_scale) if rev else -term.expand_as(log_scale)
        log_scale_grad = term if log_scale_grad is None else log_scale_grad + term
    return rebuilt, input_grad, log_scale_grad, loc_grad


def conv1x1_backward(
    output: Tensor, kernel: Tensor, inverse_kernel: Tensor, out_grad: Tensor | None, rev: bool,
) -> tuple[Tensor, Tensor | None]:
    r"""Rebuild and backpropagate a fixed invertible 1x1 convolution :math:`y = K * x`.

    At every position, :math:`x = K^{-1} y` and :math:`\bar x = K^\top \bar y`; with ``rev``
    the roles of :math:`K` and :math:`K^{-1}` swap. The log-det is constant.

    Args:
        output: The block's output in the executed direction, ``(B, C, H, W)``.
        kernel: :math:`K`, ``(C, C, 1, 1)``.
        inverse_kernel: :math:`K^{-1}`, ``(C, C, 1, 1)``.
        out_grad: The gradient of ``output``, or ``None``.
        rev: Whether the block ran its inverse.

    Returns:
        ``(input, input_grad)``.
    """
    applied, undo = (inverse_kernel, kernel) if rev else (kernel, inverse_kernel)
    # As products with the (C, C) matrices, broadcast over the batch: on CPU a 1x1
    # convolution of a few channels is about three times slower than the matrix product.
    rebuilt = (undo[:, :, 0, 0] @ output.flatten(2)).view_as(output)
    input_grad = None
    if out_grad is not None:
        input_grad = (applied[:, :, 0, 0].t() @ out_grad.flatten(2)).view_as(out_grad)
    return rebuilt, input_grad


def linear_backward(
    output: Tensor, matrix: Tensor, inverse: Tensor, bias: Tensor | None,
    out_grad: Tensor | None, rev: bool,
) -> tuple[Tensor, Tensor | None, Tensor | None, Tensor | None]:
    r"""Rebuild and backpropagate :math:`y = W x + b` over the channel axis, at every position.

    With the positions of the whole batch as the columns of :math:`X` and :math:`Y`:

    .. math::

        X = W^{-1} (Y - b), \quad \bar X = W^\top \bar Y, \quad
        \bar W = \bar Y X^\top, \quad \bar b = \bar Y \mathbf{1}.

    With ``rev`` the block ran :math:`X = W^{-1} (Y - b)` (output :math:`X`): then
    :math:`Y = W X + b`, :math:`\bar Y = W^{-\top} \bar X`, :math:`\bar W = -\bar Y X^\top` and
    :math:`\bar b = -\bar Y \mathbf{1}`. The log-det does not depend on the input; its gradient
    belongs to the matrix's parameterisation.

    Args:
        output: The block's output in the executed direction, ``(B, C, *spatial)``.
        matrix: :math:`W`, ``(C, C)``.
        inverse: :math:`W^{-1}`, ``(C, C)``. (One product with it over all positions is an
            order of magnitude faster on CPU than triangular solves with thousands of
            right-hand sides.)
        bias: :math:`b`, ``(C,)``, or ``None``.
        out_grad: The gradient of ``output``, or ``None``.
        rev: Whether the block ran its inverse.

    Returns:
        ``(input, input_grad, matrix_grad, bias_grad)``; gradients that do not flow are
        ``None`` (``bias_grad`` also without a bias).

    Example:
        >>> W = torch.tensor([[2.0, 0.0], [0.0, 4.0]])
        >>> y = torch.tensor([[[2.0], [4.0]]])
        >>> x, x_grad, W_grad, _ = linear_backward(
        ...     y, W, torch.linalg.inv(W), None, torch.ones_like(y), rev=False)
        >>> x.flatten().tolist(), x_grad.flatten().tolist(), W_grad.tolist()
        ([1.0, 1.0], [2.0, 4.0], [[1.0, 1.0], [1.0, 1.0]])
    """
    channels = output.shape[1]

    def fold(t: Tensor) -> Tensor:  # (B, C, *spatial) -> (C, B * positions)
        return t.reshape(t.shape[0], channels, -1).transpose(0, 1).reshape(channels, -1)

    def unfold(t: Tensor) -> Tensor:
        return t.reshape(channels, output.shape[0], -1).transpose(0, 1).reshape(output.shape)

    columns = fold(output)
    if rev:
        rebuilt = matrix @ columns
        if bias is not None:
            rebuilt = rebuilt + bias[:, None]
    else:
        rebuilt = inverse @ (columns - bias[:, None] if bias is not None else columns)
    if out_grad is None:
        return unfold(rebuilt), None, None, None
    grad = fold(out_grad)
    if rev:
        input_grad = inverse.t() @ grad
        matrix_grad = -(input_grad @ columns.t())
        bias_grad = None if bias is None else -input_grad.sum(1)
    else:
        input_grad = matrix.t() @ grad
        matrix_grad = grad @ rebuilt.t()
        bias_grad = None if bias is None else grad.sum(1)
    return unfold(rebuilt), unfold(input_grad), matrix_grad, bias_grad
