"""Pure pieces of ``AllInOneBlock``: global-scale activations, rotations, channel mixing."""

from __future__ import annotations

import math
from collections.abc import Callable

import torch
import torch.nn.functional as F
from torch import Tensor

from ...errors import ModuleArgumentError

# A rotation counts as orthogonal while max|WᵀW − I| <= this factor · C · eps(dtype); beyond (a
# float32 rotation cast to float64) it is re-orthonormalised so that inverses stay exact.
ORTHOGONALITY_TOLERANCE_FACTOR = 10.0

__all__ = [
    "GLOBAL_AFFINE_TYPES",
    "channel_mix",
    "exp_global_scale",
    "global_affine",
    "global_scale_init",
    "haar_rotation",
    "nearest_orthogonal",
    "orthogonality_error",
    "orthonormalized_if_inexact",
    "permutation_index",
    "random_channel_rotation",
    "sigmoid_global_scale",
    "softplus_global_scale",
    "tanh_clamp_activation",
]

# FrEIA's constants of the global scale activations, kept so that checkpoints give equal outputs.
SOFTPLUS_BETA = 0.5  # Psi = 0.1 * softplus_{beta=0.5}(a)
SOFTPLUS_OUTPUT_SCALE = 0.1
SIGMOID_OUTPUT_SCALE = 10.0  # Psi = 10 * sigmoid(a - 2)
SIGMOID_SHIFT = 2.0


def softplus_global_scale(a: Tensor) -> Tensor:
    r"""FrEIA's ``"SOFTPLUS"`` global scale :math:`\Psi(a) = 0.1 \cdot \mathrm{softplus}_{\beta=0.5}(a)`.

    Example:
        >>> softplus_global_scale(torch.tensor([2 * math.log(math.exp(5.0) - 1)]))
        tensor([1.])
    """  # noqa: E501
    return SOFTPLUS_OUTPUT_SCALE * F.softplus(a, beta=SOFTPLUS_BETA)


def sigmoid_global_scale(a: Tensor) -> Tensor:
    r"""FrEIA's ``"SIGMOID"`` global scale :math:`\Psi(a) = 10 \cdot \sigma(a - 2)`, in :math:`(0, 10)`.

    Example:
        >>> sigmoid_global_scale(torch.tensor([2.0]))
        tensor([5.])
    """  # noqa: E501
    return SIGMOID_OUTPUT_SCALE * torch.sigmoid(a - SIGMOID_SHIFT)


def exp_global_scale(a: Tensor) -> Tensor:
    r"""FrEIA's ``"EXP"`` global scale :math:`\Psi(a) = e^a`.

    Example:
        >>> exp_global_scale(torch.tensor([0.0]))
        tensor([1.])
    """
    return torch.exp(a)


def _softplus_init(value: float) -> float:
    # 2·log(exp(5v) − 1), written stably as 2·(5v + log(1 − exp(−5v))).
    u = value * SOFTPLUS_BETA / SOFTPLUS_OUTPUT_SCALE
    return (u + math.log(-math.expm1(-u))) / SOFTPLUS_BETA


def _sigmoid_init(value: float) -> float:
    return SIGMOID_SHIFT - math.log(SIGMOID_OUTPUT_SCALE / value - 1.0)


# type -> (activation Psi, inverse of Psi for the initial value, open range of valid values)
GLOBAL_AFFINE_TYPES: dict[str, tuple[Callable[[Tensor], Tensor], Callable[[float], float],
                                     tuple[float, float]]] = {
    "SOFTPLUS": (softplus_global_scale, _softplus_init, (0.0, math.inf)),
    "SIGMOID": (sigmoid_global_scale, _sigmoid_init, (0.0, SIGMOID_OUTPUT_SCALE)),
    "EXP": (exp_global_scale, math.log, (0.0, math.inf)),
}


def global_scale_init(global_affine_type: str, value: float) -> float:
    r"""The pre-activation :math:`\gamma_0` with :math:`\Psi(\gamma_0) = ` ``value``.

    Example:
        >>> round(global_scale_init("SIGMOID", 5.0), 6), global_scale_init("EXP", 1.0)
        (2.0, 0.0)
    """
    return GLOBAL_AFFINE_TYPES[global_affine_type][1](value)


def tanh_clamp_activation(u: Tensor, clamp: float) -> Tensor:
    r"""``AllInOneBlock``'s clamp activation :math:`\tanh(u / c)`; times :math:`c` it is :math:`c\tanh(u/c)`.

    Example:
        >>> tanh_clamp_activation(torch.tensor([0.0, 1e3]), clamp=2.0)
        tensor([0., 1.])
    """  # noqa: E501
    return torch.tanh(u / clamp)


def haar_rotation(
    n: int, *, generator: torch.Generator | None = None, dtype: torch.dtype = torch.float64
) -> Tensor:
    r"""A random rotation from the Haar measure on :math:`SO(n)`.

    QR of a standard Gaussian matrix, with the signs of :math:`R`'s diagonal moved into
    :math:`Q` (which makes :math:`Q` Haar-distributed on :math:`O(n)`); a determinant of -1 is
    fixed by negating the first column. Sampled in float64, then cast to ``dtype``.

    References:
        Mezzadri. How to generate random matrices from the classical compact groups.
        arXiv:math-ph/0609050.

    Example:
        >>> q = haar_rotation(4, generator=torch.Generator().manual_seed(0))
        >>> torch.allclose(q @ q.T, torch.eye(4, dtype=q.dtype)), round(float(torch.det(q)), 6)
        (True, 1.0)
    """
    gaussian = torch.randn(n, n, generator=generator, dtype=torch.float64)
    q, r = torch.linalg.qr(gaussian)
    q = q * torch.sign(torch.diagonal(r)).unsqueeze(0)
    if torch.linalg.det(q) < 0:
        q[:, 0] = -q[:, 0]
    return q.to(dtype)


def random_channel_rotation(channels: int, soft: bool) -> tuple[Tensor, Tensor | None]:
    """A random ``(C, C)`` rotation from the global RNG, with its index if it is a permutation.

    ``soft``: Haar-distributed (:func:`haar_rotation`, seeded from the global RNG, which is
    never reseeded), in the default dtype, and ``None``; otherwise a random permutation matrix
    and its index (``matrix = eye(C)[index]``).

    Example:
        >>> matrix, index = random_channel_rotation(3, soft=False)
        >>> torch.equal(matrix, torch.eye(3)[index])
        True
    """
    if soft:
        seed = int(torch.randint(0, 2**62, (1,)))  # from the global RNG, never reseeding it
        matrix = haar_rotation(channels, generator=torch.Generator().manual_seed(seed),
                               dtype=torch.get_default_dtype())
        return matrix, None
    index = torch.randperm(channels)
    return torch.eye(channels)[index], index


def global_affine(
    x: Tensor, scale: Tensor | None, offset: Tensor, n_positions: int, inverse: bool
) -> tuple[Tensor, Tensor | None]:
    r"""Apply :math:`s \odot x + \beta` (or its inverse) and its log-det.

    The log-det is :math:`n \sum \log s` for ``n_positions`` positions per channel (negated in
    reverse); ``scale=None`` (a GIN block) only shifts and has no log-det.

    Example:
        >>> x = torch.ones(1, 2)
        >>> global_affine(x, torch.full((1, 2), 2.0), torch.zeros(1, 2), 1, inverse=False)
        (tensor([[2., 2.]]), tensor(1.3863))
    """
    if scale is None:
        return (x - offset if inverse else x + offset), None
    log_det = n_positions * torch.log(scale).sum()
    if inverse:
        return (x - offset) / scale, -log_det
    return x * scale + offset, log_det


def channel_mix(x: Tensor, w: Tensor) -> Tensor:
    r"""Multiply the channel axis by a matrix at every position: :math:`y_{:, i} = \sum_j w_{ij} x_{:, j}`.

    Vectors use a matrix product, ``(C, *spatial)`` data a 1×1 convolution (1-3 spatial axes).

    Example:
        >>> channel_mix(torch.ones(1, 2, 3), torch.tensor([[1.0, 1.0], [0.0, 2.0]]))[0]
        tensor([[2., 2., 2.],
                [2., 2., 2.]])
    """  # noqa: E501
    if x.dim() == 2:
        return F.linear(x, w)
    conv = (F.conv1d, F.conv2d, F.conv3d)[x.dim() - 3]
    return conv(x, w.reshape(*w.shape, *[1] * (x.dim() - 2)))


def orthogonality_error(w: Tensor) -> float:
    r"""The largest entry of :math:`|W^\top W - I|`, computed in float64.

    Example:
        >>> orthogonality_error(torch.eye(3))
        0.0
    """
    w64 = w.detach().to(torch.float64)
    identity = torch.eye(w64.shape[0], dtype=torch.float64, device=w64.device)
    return float((w64.T @ w64 - identity).abs().max())


def nearest_orthogonal(w: Tensor) -> Tensor:
    r"""The orthogonal matrix closest to ``w`` (polar factor :math:`U V^\top` of the SVD), in float64.

    Example:
        >>> nearest_orthogonal(torch.tensor([[2.0, 0.0], [0.0, 0.5]]))
        tensor([[1., 0.],
                [0., 1.]], dtype=torch.float64)
    """  # noqa: E501
    u, _, vh = torch.linalg.svd(w.detach().to(torch.float64))
    return u @ vh


def orthonormalized_if_inexact(w: Tensor) -> Tensor | None:
    r"""The nearest orthogonal matrix in ``w``'s dtype if ``w`` is not orthogonal to its precision.

    ``w`` counts as orthogonal while :math:`\max|W^\top W - I| \le 10\, C\, \epsilon`
    (``ORTHOGONALITY_TOLERANCE_FACTOR``); beyond, as for a float32 rotation cast to float64, its
    transpose would no longer invert it exactly.

    Returns:
        ``None`` when ``w`` is orthogonal enough, else the re-orthonormalised matrix.

    Example:
        >>> w = haar_rotation(3, generator=torch.Generator().manual_seed(0), dtype=torch.float32)
        >>> orthonormalized_if_inexact(w) is None, orthonormalized_if_inexact(w.double()) is None
        (True, False)
    """
    tolerance = ORTHOGONALITY_TOLERANCE_FACTOR * w.shape[0] * torch.finfo(w.dtype).eps
    if orthogonality_error(w) <= tolerance:
        return None
    return nearest_orthogonal(w).to(w.dtype)


def permutation_index(matrix: Tensor, channels: int) -> Tensor:
    """The index ``p`` with ``matrix[i, p[i]] = 1`` of a (C, C, 1, ...) permutation matrix.

    FrEIA 0.2 stores ``AllInOneBlock``'s hard permutations as matrices, inn as indices.

    Raises:
        ModuleArgumentError: If ``matrix`` is not a permutation matrix.

    Example:
        >>> permutation_index(torch.tensor([[0.0, 1.0], [1.0, 0.0]]), 2)
        tensor([1, 0])
    """
    square = matrix.reshape(channels, channels)
    index = square.argmax(dim=1)
    if not torch.equal(square, torch.eye(channels, dtype=square.dtype)[index]):
        raise ModuleArgumentError(
            f"AllInOneBlock: a loaded hard permutation is not a permutation matrix "
            f"(shape {tuple(matrix.shape)})."
        )
    return index
