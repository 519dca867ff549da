"""Elementary learned transforms: elementwise affine maps and invertible linear (1x1) maps."""

from __future__ import annotations

import math
from typing import Any

import torch
import torch.nn as nn
from torch import Tensor

from ..errors import ModuleArgumentError
from ..transformers.functional import affine
from ..utils import ShapeList
from ._helpers import log_of_positive, single_input_shape
from .base import InvertibleModule, Tensors
from .coupling.all_in_one_functional import haar_rotation
from .linear_functional import (
    householder_factors,
    lu_factors,
    lu_solve,
    lu_weight,
    qr_solve,
    qr_weight,
)

__all__ = ["ElementwiseAffine", "InvertibleLinear"]

PARAMETERIZATIONS = ("lu", "qr")
INITS = ("orthogonal", "identity")


def _check_choice(owner: str, name: str, value: Any, allowed: tuple[str, ...]) -> None:
    """Raise a ModuleArgumentError unless ``value`` is one of ``allowed``."""
    if not isinstance(value, str) or value not in allowed:
        choices = ", ".join(repr(a) for a in allowed)
        raise ModuleArgumentError(f"{owner}: {name} must be one of {choices}, got {value!r}.")


class ElementwiseAffine(InvertibleModule):
    r"""A learned elementwise affine map :math:`y = a \odot x + b` with :math:`a = e^{\log a} > 0`.

    .. math::

        y = e^{\log a} \odot x + b, \qquad \log|\det J| = \sum_{\text{elements}} \log a;
        \qquad x = (y - b) \odot e^{-\log a}.

    The parameters ``log_scale`` (:math:`\log a`) and ``shift`` (:math:`b`) have the input's
    shape, one value per element; with ``per_channel`` they have shape ``(C, 1, ..., 1)`` and
    are shared by all positions of a channel, so each :math:`\log a_c` counts once per position
    in the log-det.

    Args:
        dims_in: One input shape ``(C, *spatial)`` of any rank.
        dims_c: Must be empty.
        init_scale: The initial factor :math:`a > 0`.
        init_shift: The initial offset :math:`b`.
        per_channel: Share the parameters over the spatial axes.

    Raises:
        ModuleArgumentError: For ``init_scale <= 0``, several inputs or any condition.

    Example:
        >>> m = ElementwiseAffine([(2, 3, 3)], init_scale=2.0, init_shift=1.0, per_channel=True)
        >>> m.log_scale.shape
        torch.Size([2, 1, 1])
        >>> (y,), log_jac_det = m([torch.zeros(1, 2, 3, 3)])
        >>> y[0, :, 0, 0].detach(), log_jac_det.detach()  # 18 elements, each with log 2
        (tensor([1., 1.]), tensor([12.4766]))
    """

    exact_inverse = True  # see InvertibleModule.exact_inverse

    def __init__(
        self,
        dims_in: Any,
        dims_c: Any = None,
        *,
        init_scale: float = 1.0,
        init_shift: float = 0.0,
        per_channel: bool = False,
    ) -> None:
        super().__init__(dims_in, dims_c)
        shape = single_input_shape(self)
        self.per_channel = per_channel
        param_shape = (shape[0],) + (1,) * (len(shape) - 1) if per_channel else shape
        log_scale = log_of_positive(type(self).__name__, "init_scale", init_scale)
        self.log_scale = nn.Parameter(torch.full(param_shape, log_scale))
        self.shift = nn.Parameter(torch.full(param_shape, float(init_shift)))
        # How many elements share each log-scale (the spatial positions when per channel).
        self._repeats = math.prod(shape) // math.prod(param_shape)

    def _log_jac_det(self, batch: int) -> Tensor:
        return (self._repeats * self.log_scale.sum()).repeat(batch)

    def _forward(self, x: Tensors, c: Tensors, jac: bool) -> tuple[Tensors, Tensor]:
        y, _ = affine(x[0], self.log_scale, self.shift)
        return (y,), self._log_jac_det(x[0].shape[0])

    def _inverse(self, z: Tensors, c: Tensors, jac: bool) -> tuple[Tensors, Tensor]:
        x, _ = affine(z[0], self.log_scale, self.shift, inverse=True)
        return (x,), -self._log_jac_det(z[0].shape[0])

    def output_dims(self, input_dims: ShapeList) -> ShapeList:
        """The input shape."""
        return [tuple(input_dims[0])]


class InvertibleLinear(InvertibleModule):
    r"""A learned invertible linear map over the channel axis: :math:`y = W x + b`.

    .. math::

        y_{:, p} = W x_{:, p} + b \ \text{at every position } p, \qquad
        \log|\det J| = (\#\text{positions}) \sum_i \log|d_i|; \qquad
        x_{:, p} = W^{-1} (y_{:, p} - b).

    For vectors ``(C,)`` this is a dense layer; for ``(C, *spatial)`` inputs it is GLOW's
    invertible 1x1 convolution. :math:`W` is invertible by construction:

    * ``"lu"``: :math:`W = P L (U + \mathrm{diag}(\sigma \odot e^{s}))` with a fixed
      permutation ``perm`` (buffer), unit lower-triangular :math:`L` (parameter ``lower``,
      strictly lower part used), strictly upper :math:`U` (``upper``), fixed signs ``sign``
      (buffer) and log-magnitudes :math:`s` (``log_abs_s``); :math:`d = \sigma \odot e^{s}`.
    * ``"qr"``: :math:`W = H_1 \cdots H_C (U + \mathrm{diag}(\sigma \odot e^{r}))` with ``C``
      learned Householder reflections (rows of ``vectors``), strictly upper :math:`U`
      (``upper``), fixed signs ``sign`` (buffer) and :math:`r` (``log_diag``). The signs are
      needed because ``C`` reflections alone have determinant :math:`(-1)^C`.

    The inverse uses triangular solves (and the transposed Householder product), never a matrix
    inverse. ``init="orthogonal"`` decomposes a random rotation into the factors (LU with
    partial pivoting, or Householder QR with :math:`R = \mathrm{diag}(\sigma)`);
    ``init="identity"`` starts at :math:`W = I`. The bias starts at zero.

    Args:
        dims_in: One input shape ``(C, *spatial)``.
        dims_c: Must be empty.
        parameterization: ``"lu"`` or ``"qr"``.
        bias: Learn the offset :math:`b` (parameter ``bias``, shape ``(C,)``).
        init: ``"orthogonal"`` or ``"identity"``.
        seed: Seed of the random rotation; ``None`` draws from torch's global generator.

    Raises:
        ModuleArgumentError: For an unknown ``parameterization`` or ``init``, a ``seed`` that is
            not an int, several inputs or any condition.

    References:
        Kingma, Dhariwal. Glow: Generative Flow with Invertible 1x1 Convolutions.
        arXiv:1807.03039.
        Hoogeboom, van den Berg, Welling. Emerging Convolutions for Generative Normalizing
        Flows. arXiv:1901.11137.

    Example:
        >>> m = InvertibleLinear([(3, 4, 4)], parameterization="qr", seed=0)
        >>> x = torch.randn(2, 3, 4, 4)
        >>> (z,), log_jac_det = m([x])
        >>> (x_rec,), _ = m([z], rev=True)
        >>> torch.allclose(x_rec, x, atol=1e-5), log_jac_det.abs().max().item() < 1e-5
        (True, True)
    """

    exact_inverse = True  # see InvertibleModule.exact_inverse

    def __init__(
        self,
        dims_in: Any,
        dims_c: Any = None,
        *,
        parameterization: str = "lu",
        bias: bool = True,
        init: str = "orthogonal",
        seed: int | None = None,
    ) -> None:
        super().__init__(dims_in, dims_c)
        shape = single_input_shape(self)
        owner = type(self).__name__
        _check_choice(owner, "parameterization", parameterization, PARAMETERIZATIONS)
        _check_choice(owner, "init", init, INITS)
        if seed is not None and (isinstance(seed, bool) or not isinstance(seed, int)):
            raise ModuleArgumentError(f"{owner}: seed must be an int or None, got {seed!r}.")
        self.parameterization = parameterization
        self.channels = shape[0]
        self._positions = math.prod(shape[1:])
        dtype = torch.get_default_dtype()
        for name, value in self._initial_factors(init, seed).items():
            if name == "perm":
                self.register_buffer(name, value)
            elif name == "sign":
                self.register_buffer(name, value.to(dtype))
            else:
                setattr(self, name, nn.Parameter(value.to(dtype)))
        if bias:
            self.bias = nn.Parameter(torch.zeros(self.channels))
        else:
            self.register_parameter("bias", None)

    def _initial_factors(self, init: str, seed: int | None) -> dict[str, Tensor]:
        """The float64 starting factors of the parameterization, by attribute name."""
        size = self.channels
        if init == "identity" and self.parameterization == "qr":
            # H_1 ... H_C = -I for the unit vectors; the signs -1 of R undo it exactly.
            return {"vectors": torch.eye(size, dtype=torch.float64),
                    "upper": torch.zeros(size, size, dtype=torch.float64),
                    "sign": -torch.ones(size, dtype=torch.float64),
                    "log_diag": torch.zeros(size, dtype=torch.float64)}
        if init == "identity":
            rotation = torch.eye(size, dtype=torch.float64)
        else:
            generator = None if seed is None else torch.Generator().manual_seed(seed)
            rotation = haar_rotation(size, generator=generator)
        if self.parameterization == "lu":
            names = ("perm", "lower", "upper", "sign", "log_abs_s")
            return dict(zip(names, lu_factors(rotation), strict=True))
        vectors, sign = householder_factors(rotation)
        return {"vectors": vectors, "upper": torch.zeros_like(rotation), "sign": sign,
                "log_diag": torch.zeros_like(sign)}

    def _factors(self) -> tuple[Tensor, ...]:
        if self.parameterization == "lu":
            return (self.perm, self.lower, self.upper, self.sign, self.log_abs_s)
        return (self.vectors, self.upper, self.sign, self.log_diag)

    def matrix(self) -> Tensor:
        """The current ``(C, C)`` matrix :math:`W`, assembled from the factors."""
        build = lu_weight if self.parameterization == "lu" else qr_weight
        return build(*self._factors())

    def _log_jac_det(self, batch: int) -> Tensor:
        log_abs_diag = self.log_abs_s if self.parameterization == "lu" else self.log_diag
        return (self._positions * log_abs_diag.sum()).repeat(batch)

    def _forward(self, x: Tensors, c: Tensors, jac: bool) -> tuple[Tensors, Tensor]:
        columns = x[0].reshape(x[0].shape[0], self.channels, -1)
        # An explicit batched product: ``W @ columns`` folds the batch into one matmul only when
        # W needs no grad, so its rounding would differ between training and no_grad calls.
        z = self.matrix().expand(columns.shape[0], -1, -1) @ columns
        if self.bias is not None:
            z = z + self.bias[:, None]
        return (z.reshape(x[0].shape),), self._log_jac_det(x[0].shape[0])

    def _inverse(self, z: Tensors, c: Tensors, jac: bool) -> tuple[Tensors, Tensor]:
        columns = z[0].reshape(z[0].shape[0], self.channels, -1)
        if self.bias is not None:
            columns = columns - self.bias[:, None]
        solve = lu_solve if self.parameterization == "lu" else qr_solve
        x = solve(*self._factors(), columns)
        return (x.reshape(z[0].shape),), -self._log_jac_det(z[0].shape[0])

    def output_dims(self, input_dims: ShapeList) -> ShapeList:
        """The input shape."""
        return [tuple(input_dims[0])]
