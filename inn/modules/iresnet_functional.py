"""The math of i-ResNet layers: sign probes, the log-det power series, spectral norms, inverses."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch
import torch.nn as nn
import torch.nn.functional as F
from torch import Tensor
from torch.autograd.function import once_differentiable

__all__ = [
    "fixed_point_inverse",
    "log_det_power_series",
    "rademacher",
    "spectral_norm_estimate",
]

_CONV_OPS = {1: (F.conv1d, F.conv_transpose1d), 2: (F.conv2d, F.conv_transpose2d),
             3: (F.conv3d, F.conv_transpose3d)}


def rademacher(like: Tensor, generator: torch.Generator) -> Tensor:
    """A tensor of random signs ``+-1`` shaped like ``like``, in its dtype and on its device.

    Example:
        >>> v = rademacher(torch.zeros(2, 3), torch.Generator().manual_seed(0))
        >>> v.shape, bool(v.abs().eq(1).all())
        (torch.Size([2, 3]), True)
    """
    bits = torch.empty_like(like, memory_format=torch.contiguous_format)
    return bits.bernoulli_(0.5, generator=generator).mul_(2).sub_(1)


def log_det_power_series(
    residual_out: Tensor, x: Tensor, probes: Tensor, n_terms: int, create_graph: bool
) -> Tensor:
    r"""Stochastic :math:`\log\det(I + J_g)` per row of ``x``, from ``residual_out = g(x)``.

    .. math::

        \log\det(I + J_g) = \sum_{k \ge 1} \frac{(-1)^{k+1}}{k} \operatorname{tr}(J_g^k)
        \approx \sum_{k=1}^{n} \frac{(-1)^{k+1}}{k}\, v^\top J_g^k v,

    with a Hutchinson probe :math:`v` per row (random signs make the trace estimate exact for
    a diagonal :math:`J_g`) and :math:`v^\top J_g^k` from :math:`k` vector-Jacobian products.
    The series converges for :math:`\operatorname{Lip}(g) < 1`. Average the rows of several
    probes (``x`` repeated) for a lower variance.

    Args:
        residual_out: ``g(x)``, computed with gradients from ``x``.
        x: The input rows (part of the graph of ``residual_out``).
        probes: One probe per row, shaped like ``x``.
        n_terms: Number of terms :math:`n` of the series.
        create_graph: Keep the estimate differentiable.

    Returns:
        The estimate per row, shape ``(x.shape[0],)``.
    """
    rows = x.shape[0]
    total = x.new_zeros(rows)
    left = probes
    for k in range(1, n_terms + 1):
        (left,) = torch.autograd.grad(residual_out, x, left, retain_graph=True,
                                      create_graph=create_graph)
        total = total + ((-1) ** (k + 1) / k) * (left * probes).reshape(rows, -1).sum(1)
    return total


class _ImplicitInverseGradient(torch.autograd.Function):
    r"""Identity on the value; multiplies incoming gradients by :math:`(I + J_g^\top)^{-1}`."""

    @staticmethod
    def forward(
        ctx: Any, value: Tensor, x: Tensor, residual: nn.Module, iterations: int
    ) -> Tensor:
        ctx.save_for_backward(x)
        ctx.residual, ctx.iterations = residual, iterations
        return value.clone()

    @staticmethod
    @once_differentiable
    def backward(ctx: Any, grad: Tensor) -> tuple[Tensor | None, ...]:
        (x,) = ctx.saved_tensors
        with torch.enable_grad():
            x = x.detach().requires_grad_()
            residual_out = ctx.residual(x)
            adjoint = grad
            for _ in range(ctx.iterations):  # u = grad - J^T u, a contraction for Lip(g) < 1
                (vjp,) = torch.autograd.grad(residual_out, x, adjoint, retain_graph=True)
                adjoint = grad - vjp
        return adjoint, None, None, None


def _normalize(u: Tensor) -> Tensor:
    """Scale each sample of ``u`` to unit norm (keeps the power iteration in range)."""
    norms = u.flatten(1).norm(dim=1).clamp_min(torch.finfo(u.dtype).tiny)
    return u / norms.view(-1, *[1] * (u.dim() - 1))


def _linear_map(layer: nn.Module) -> tuple[Callable, Callable]:
    """The weight's linear map of a Linear or convolution layer (no bias) and its adjoint."""
    weight = layer.weight
    if isinstance(layer, nn.Linear):
        return (lambda u: F.linear(u, weight)), (lambda v: v @ weight)
    conv, conv_transpose = _CONV_OPS[weight.dim() - 2]
    return (lambda u: conv(u, weight, padding=layer.padding),
            lambda v: conv_transpose(v, weight, padding=layer.padding))


@torch.no_grad()
def spectral_norm_estimate(layer: nn.Module, start: Tensor, iterations: int) -> Tensor:
    r"""Estimate :math:`\|W\|_2` of a layer's linear map by power iteration on :math:`W^\top W`.

    Args:
        layer: A Linear or convolution layer (its padding is part of the map).
        start: ``(n, *input_shape)`` start vectors, in the layer's dtype and device.
        iterations: Power iterations.

    Returns:
        The largest ratio :math:`\|W u\| / \|u\|` over the iterated vectors (a lower bound).

    Example:
        >>> layer = torch.nn.Linear(2, 2)
        >>> _ = layer.weight.data.copy_(torch.tensor([[3.0, 0.0], [0.0, 1.0]]))
        >>> spectral_norm_estimate(layer, torch.randn(4, 2), 30)
        tensor(3.)
    """
    apply, adjoint = _linear_map(layer)
    u = start
    for _ in range(iterations):
        u = _normalize(adjoint(apply(u)))
    return (apply(u).flatten(1).norm(dim=1) / u.flatten(1).norm(dim=1)).max()


def fixed_point_inverse(residual: nn.Module, z: Tensor, iterations: int) -> Tensor:
    r"""Solve :math:`x + g(x) = z` by the iteration :math:`x \leftarrow z - g(x)` from :math:`z`.

    The iterations run without gradients; one final step :math:`z - g(x^*)` connects the result
    to ``z`` and the parameters of ``g``, and its gradients are corrected by implicit
    differentiation, so that autograd sees the exact inverse Jacobian
    :math:`(I + J_g)^{-1}`. Converges for :math:`\operatorname{Lip}(g) < 1`.

    Example:
        >>> g = torch.nn.Linear(2, 2)
        >>> with torch.no_grad():
        ...     _ = g.weight.copy_(torch.tensor([[0.3, 0.1], [0.0, 0.2]]))
        >>> z = torch.randn(4, 2, dtype=torch.float64)
        >>> x = fixed_point_inverse(g.double(), z, 60)
        >>> bool(torch.allclose(x + g(x), z, atol=1e-12, rtol=0))
        True
    """
    with torch.no_grad():
        x = z
        for _ in range(iterations):
            x = z - residual(x)
    value = z - residual(x)
    if not torch.is_grad_enabled():
        return value
    return _ImplicitInverseGradient.apply(value, x, residual, max(iterations, 1))
