"""Pure math of learned invertible linear maps: LU and QR (Householder) factors, solves, inits."""

from __future__ import annotations

import torch
from torch import Tensor

from .householder import householder_matrix

__all__ = [
    "householder_factors",
    "lu_factors",
    "lu_solve",
    "lu_weight",
    "qr_solve",
    "qr_weight",
]


def _diagonal(sign: Tensor, log_abs_diag: Tensor) -> Tensor:
    r"""The diagonal matrix :math:`\mathrm{diag}(\mathrm{sign} \cdot e^{\log|d|})`."""
    return torch.diag_embed(sign * torch.exp(log_abs_diag))


def lu_weight(
    perm: Tensor, lower: Tensor, upper: Tensor, sign: Tensor, log_abs_s: Tensor
) -> Tensor:
    r"""Assemble :math:`W = P L (U + \mathrm{diag}(\mathrm{sign} \cdot e^{\log|s|}))`.

    .. math::

        W = P L (U + \mathrm{diag}(\sigma \odot e^{\log|s|})), \qquad
        \log|\det W| = \sum_i \log|s_i|.

    Args:
        perm: ``(C,)`` row indices of the permutation: :math:`(P M)_i = M_{\mathrm{perm}_i}`.
        lower: ``(C, C)``; only its strictly lower part is used (:math:`L` has a unit diagonal).
        upper: ``(C, C)``; only its strictly upper part is used.
        sign: ``(C,)`` signs :math:`\sigma` of the diagonal of the upper factor.
        log_abs_s: ``(C,)`` log-magnitudes of that diagonal.

    Returns:
        The ``(C, C)`` matrix :math:`W`.

    Example:
        >>> zeros = torch.zeros(2, 2)
        >>> lu_weight(torch.tensor([1, 0]), zeros, zeros, torch.ones(2), torch.zeros(2))
        tensor([[0., 1.],
                [1., 0.]])
    """
    eye = torch.eye(lower.shape[-1], dtype=lower.dtype, device=lower.device)
    unit_lower = torch.tril(lower, -1) + eye
    full_upper = torch.triu(upper, 1) + _diagonal(sign, log_abs_s)
    return (unit_lower @ full_upper)[perm]


def lu_solve(
    perm: Tensor, lower: Tensor, upper: Tensor, sign: Tensor, log_abs_s: Tensor, y: Tensor
) -> Tensor:
    r"""Solve :math:`W x = y` for the :math:`W` of :func:`lu_weight` by two triangular solves.

    .. math::

        x = (U + \mathrm{diag}(\sigma \odot e^{\log|s|}))^{-1} L^{-1} P^\top y.

    Args:
        perm: ``(C,)`` permutation indices, as in :func:`lu_weight`.
        lower: ``(C, C)``; its strictly lower part.
        upper: ``(C, C)``; its strictly upper part.
        sign: ``(C,)`` signs of the diagonal of the upper factor.
        log_abs_s: ``(C,)`` log-magnitudes of that diagonal.
        y: ``(..., C, N)``: columns to solve for, batched over leading axes.

    Returns:
        ``x`` with the shape of ``y``.

    Example:
        >>> factors = (torch.tensor([1, 0]), torch.zeros(2, 2), torch.zeros(2, 2),
        ...            torch.ones(2), torch.log(torch.tensor([2.0, 4.0])))
        >>> lu_solve(*factors, torch.tensor([[4.0], [2.0]]))
        tensor([[1.],
                [1.]])
    """
    full_upper = torch.triu(upper, 1) + _diagonal(sign, log_abs_s)
    # P^T y: the inverse permutation of the rows (P y = y[perm]).
    y = y[..., torch.argsort(perm), :]
    y = torch.linalg.solve_triangular(lower, y, upper=False, unitriangular=True)
    return torch.linalg.solve_triangular(full_upper, y, upper=True)


def qr_weight(vectors: Tensor, upper: Tensor, sign: Tensor, log_diag: Tensor) -> Tensor:
    r"""Assemble :math:`W = Q R` from Householder vectors and an upper-triangular factor.

    .. math::

        W = H_1 \cdots H_C \, (U + \mathrm{diag}(\sigma \odot e^{r})), \quad
        H_k = I - 2 \frac{v_k v_k^\top}{v_k^\top v_k}, \qquad \log|\det W| = \sum_i r_i.

    Args:
        vectors: ``(C, C)``; row ``k`` is the reflection vector :math:`v_k`.
        upper: ``(C, C)``; only its strictly upper part is used.
        sign: ``(C,)`` fixed signs :math:`\sigma` of the diagonal of :math:`R`.
        log_diag: ``(C,)`` log-magnitudes :math:`r` of that diagonal.

    Returns:
        The ``(C, C)`` matrix :math:`W`.

    Example:
        >>> qr_weight(torch.eye(2), torch.zeros(2, 2), -torch.ones(2), torch.zeros(2))
        tensor([[1., 0.],
                [0., 1.]])
    """
    return householder_matrix(vectors) @ (torch.triu(upper, 1) + _diagonal(sign, log_diag))


def qr_solve(vectors: Tensor, upper: Tensor, sign: Tensor, log_diag: Tensor, y: Tensor) -> Tensor:
    r"""Solve :math:`W x = y` for the :math:`W` of :func:`qr_weight`.

    .. math::

        x = R^{-1} Q^\top y, \qquad Q^\top = H_C \cdots H_1.

    Args:
        vectors: ``(C, C)`` reflection vectors (rows), as in :func:`qr_weight`.
        upper: ``(C, C)``; its strictly upper part.
        sign: ``(C,)`` signs of the diagonal of :math:`R`.
        log_diag: ``(C,)`` log-magnitudes of that diagonal.
        y: ``(..., C, N)``: columns to solve for, batched over leading axes.

    Returns:
        ``x`` with the shape of ``y``.

    Example:
        >>> qr_solve(torch.eye(2), torch.zeros(2, 2), -torch.ones(2), torch.zeros(2),
        ...          torch.tensor([[3.0], [5.0]]))
        tensor([[3.],
                [5.]])
    """
    full_upper = torch.triu(upper, 1) + _diagonal(sign, log_diag)
    rotated = householder_matrix(vectors).transpose(-1, -2) @ y
    return torch.linalg.solve_triangular(full_upper, rotated, upper=True)


def lu_factors(matrix: Tensor) -> tuple[Tensor, Tensor, Tensor, Tensor, Tensor]:
    r"""Decompose an invertible matrix into the factors of :func:`lu_weight`.

    Args:
        matrix: An invertible ``(C, C)`` matrix.

    Returns:
        ``(perm, lower, upper, sign, log_abs_s)`` with ``lu_weight(...) == matrix`` up to
        rounding; ``lower`` and ``upper`` are strictly triangular.

    Example:
        >>> m = torch.tensor([[0.0, 2.0], [-3.0, 1.0]], dtype=torch.float64)
        >>> torch.allclose(lu_weight(*lu_factors(m)), m)
        True
    """
    p, lower, upper = torch.linalg.lu(matrix)
    diag = torch.diagonal(upper)
    perm = p.argmax(dim=1)  # (P M)_i = M_{perm_i}
    return perm, torch.tril(lower, -1), torch.triu(upper, 1), torch.sign(diag), diag.abs().log()


def householder_factors(orthogonal: Tensor) -> tuple[Tensor, Tensor]:
    r"""Householder vectors and signs with :math:`H_1 \cdots H_C \mathrm{diag}(\sigma) = O`.

    The Householder QR of an orthogonal matrix has :math:`R = \mathrm{diag}(\sigma)`; each
    reflection maps its column to :math:`-\mathrm{sign}(x_1) \|x\| e_1`, the choice that avoids
    cancellation in :math:`v = x - \alpha e_1`.

    Args:
        orthogonal: A ``(C, C)`` orthogonal matrix :math:`O`.

    Returns:
        ``(vectors, sign)``: ``(C, C)`` reflection vectors (row ``k`` is :math:`v_k`) and the
        ``(C,)`` signs, so that ``qr_weight(vectors, 0, sign, 0) == orthogonal`` up to rounding.

    Example:
        >>> from inn.modules.coupling.all_in_one_functional import haar_rotation
        >>> o = haar_rotation(4, generator=torch.Generator().manual_seed(1))
        >>> vectors, sign = householder_factors(o)
        >>> torch.allclose(qr_weight(vectors, 0 * o, sign, 0 * sign), o)
        True
    """
    size = orthogonal.shape[-1]
    rest = orthogonal.clone()
    vectors = orthogonal.new_zeros(size, size)
    sign = orthogonal.new_empty(size)
    for k in range(size):
        column = rest[k:, k]
        alpha = torch.where(column[0] < 0, 1.0, -1.0).to(column)
        target = column.new_zeros(size - k)
        target[0] = alpha * torch.linalg.vector_norm(column)
        v = column - target
        rest[k:] = rest[k:] - 2.0 * torch.outer(v, v @ rest[k:]) / v.dot(v)
        vectors[k, k:] = v
        sign[k] = alpha
    return vectors, sign
