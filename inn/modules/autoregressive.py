"""Autoregressive flows over any transformer: ``MaskedAutoregressive`` (MAF) and IAF."""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Any

import torch
import torch.nn as nn
from torch import Tensor

from ..errors import ModuleArgumentError
from ..nn.made import MADE, check_hidden_features
from ..transformers import Affine, Transformer
from ..utils import ShapeList
from ._helpers import single_input_shape
from .base import InvertibleModule, Tensors

__all__ = ["InverseAutoregressive", "MaskedAutoregressive"]

TransformerSpec = Transformer | Callable[[], Transformer]

# Names accepted by ``order`` besides an explicit permutation.
_ORDERS = ("forward", "reverse", "random")


class _Autoregressive(InvertibleModule):
    r"""Shared construction and the two passes of MAF and IAF.

    Both flows evaluate :math:`v = \tau(u; \theta(u_{<}, c))` in one MADE pass (*parallel*) and
    solve :math:`u = \tau^{-1}(v; \theta(u_{<}, c))` in ``D`` passes (*sequential*). MAF's
    forward pass is the parallel one (:math:`u = x`), IAF's reverse pass is (:math:`u = z`).
    """

    exact_inverse = True  # see InvertibleModule.exact_inverse

    #: IAF: the parallel direction is the reverse pass.
    _inverse_autoregressive: bool = False

    def __init__(
        self,
        dims_in: Any,
        dims_c: Any = None,
        *,
        transformer: TransformerSpec | None = None,
        hidden_features: Sequence[int] = (64, 64),
        order: str | Tensor | Sequence[int] = "forward",
        activation: Callable[[], nn.Module] = nn.ReLU,
        init_identity: bool = True,
        seed: int | None = None,
        residual: bool = False,
    ) -> None:
        super().__init__(dims_in, dims_c)
        owner = type(self).__name__
        (n_features,) = single_input_shape(
            self, rank=1, conditions=True,
            what="vector inputs (D,) (put a Flatten block first for images and other shapes)",
        )
        self.transformer = _resolve_transformer(transformer, owner)
        hidden = check_hidden_features(hidden_features, owner)
        degrees = order_degrees(order, n_features, seed=seed, owner=owner)
        self.made = MADE(degrees, self.transformer.get_degrees_out(degrees), hidden,
                         context_features=sum(math.prod(shape) for shape in self.dims_c),
                         activation=activation, residual=residual)
        if init_identity:
            last = self.made.layers[-1]
            with torch.no_grad():
                last.weight.zero_()
                last.bias.copy_(self.transformer.get_identity_parameters(n_features))

    @property
    def degrees(self) -> Tensor:
        """``(D,)`` autoregressive degree of each feature (a buffer of the MADE)."""
        return self.made.degrees_in

    def output_dims(self, input_dims: ShapeList) -> ShapeList:
        """The input shape: the flow maps ``(D,)`` to ``(D,)``."""
        return [tuple(input_dims[0])]

    def _forward(self, x: Tensors, c: Tensors, jac: bool) -> tuple[Tensors, Tensor]:
        return self._run(x[0], c, inverse=self._inverse_autoregressive)

    def _inverse(self, z: Tensors, c: Tensors, jac: bool) -> tuple[Tensors, Tensor]:
        return self._run(z[0], c, inverse=not self._inverse_autoregressive)

    def _run(self, u: Tensor, c: Tensors, inverse: bool) -> tuple[Tensors, Tensor]:
        r"""Apply :math:`\tau` in one pass, or solve for :math:`\tau^{-1}` in ``D`` passes."""
        context = torch.cat([t.reshape(t.shape[0], -1) for t in c], dim=1) if c else None
        if not inverse:
            v, log_jac_det = self.transformer(u, self.made(u, context))
            return (v,), log_jac_det
        # Fixed-point sweep: after pass k every feature of degree < k is exact, because its
        # parameters read only features of lower degree. The last pass thus uses the parameters
        # of the final point, so its log-det is exact too (no extra pass needed).
        v = torch.zeros_like(u)
        for _ in range(u.shape[1]):
            v, log_jac_det = self.transformer.inverse(u, self.made(v, context))
        return (v,), log_jac_det

    def extra_repr(self) -> str:
        """The autoregressive order."""
        return f"degrees={self.degrees.tolist()}"


class MaskedAutoregressive(_Autoregressive):
    r"""Masked autoregressive flow (MAF): parallel density evaluation, sequential sampling.

    A :class:`~inn.nn.MADE` predicts the parameters of feature :math:`i` of an elementwise
    :class:`~inn.transformers.Transformer` :math:`\tau` from the features before it in the
    autoregressive ``order`` and from the conditions (flattened and concatenated):

    .. math::

        z_i = \tau(x_i;\ \theta_i(x_{<i}, c)), \qquad
        \log\left|\det \frac{\partial z}{\partial x}\right| = \sum_i \log \tau'(x_i; \theta_i).

    The forward pass (``x -> z``) takes one MADE pass; the reverse pass (sampling) takes ``D``,
    one per degree.

    Args:
        dims_in: One vector input ``[(D,)]``; put a ``Flatten`` block first for images.
        dims_c: Condition shapes (any), flattened and concatenated into the MADE's context.
        transformer: A transformer or a zero-argument factory of one; default ``Affine()``.
        hidden_features: Widths of the MADE's hidden layers.
        order: ``"forward"`` (degrees ``0..D-1``), ``"reverse"`` (``D-1..0``), ``"random"``
            (a permutation drawn with ``seed``), or a permutation of ``0..D-1``: ``order[i]`` is
            the position of feature ``i`` in the autoregressive order. Stored in the
            ``state_dict``.
        activation: Zero-argument factory of the MADE's activation module.
        init_identity: Zero the MADE's last weights and set its bias to the transformer's
            identity parameters, so the block starts as the identity.
        seed: Seed of the ``"random"`` order (``None``: torch's global generator).
        residual: Use masked residual blocks between equally wide hidden layers.

    Raises:
        ModuleArgumentError: For several inputs or a non-vector input, a bad transformer,
            ``order``, ``seed`` or ``hidden_features``.

    References:
        Papamakarios, Pavlakou, Murray. Masked Autoregressive Flow for Density Estimation.
        arXiv:1705.07057.

    Example:
        >>> maf = MaskedAutoregressive([(4,)], [(2,)], hidden_features=(16,), order="reverse")
        >>> x, c = torch.randn(3, 4), torch.randn(3, 2)
        >>> (z,), log_jac_det = maf([x], c=[c])
        >>> torch.equal(z, x), log_jac_det.tolist()
        (True, [0.0, 0.0, 0.0])
    """


class InverseAutoregressive(_Autoregressive):
    r"""Inverse autoregressive flow (IAF): parallel sampling, sequential density evaluation.

    The parameterisation of :class:`MaskedAutoregressive` with the directions swapped: the
    reverse pass (``z -> x``) takes one MADE pass on ``z``, the forward pass takes ``D``:

    .. math::

        x_i = \tau(z_i;\ \theta_i(z_{<i}, c)), \qquad
        \log\left|\det \frac{\partial z}{\partial x}\right| = -\sum_i \log \tau'(z_i; \theta_i).

    Takes the arguments of :class:`MaskedAutoregressive`.

    References:
        Kingma, Salimans, Jozefowicz, Chen, Sutskever, Welling. Improved Variational Inference
        with Inverse Autoregressive Flow. arXiv:1606.04934.

    Example:
        >>> from inn.transformers import RationalQuadratic
        >>> iaf = InverseAutoregressive([(3,)], transformer=RationalQuadratic(n_bins=4))
        >>> z = torch.randn(2, 3)
        >>> (x,), log_jac_det = iaf([z], rev=True)
        >>> torch.allclose(x, z), log_jac_det.shape
        (True, torch.Size([2]))
    """

    _inverse_autoregressive = True


def order_degrees(order: Any, n_features: int, *, seed: int | None = None,
                  owner: str = "order_degrees") -> Tensor:
    """The ``(D,)`` int64 degrees (positions in the autoregressive order) that ``order`` names.

    Raises:
        ModuleArgumentError: For an unknown name, a ``seed`` without ``order="random"``, or a
            tensor / sequence that is not a permutation of ``0..D-1``.

    Example:
        >>> order_degrees("reverse", 4), order_degrees("random", 4, seed=0).sort().values
        (tensor([3, 2, 1, 0]), tensor([0, 1, 2, 3]))
    """
    if seed is not None and not (isinstance(order, str) and order == "random"):
        raise ModuleArgumentError(
            f"{owner}: seed is used only with order='random', got order={order!r}."
        )
    if isinstance(order, str):
        if order not in _ORDERS:
            raise _bad_order(order, n_features, owner)
        if order == "forward":
            return torch.arange(n_features)
        if order == "reverse":
            return torch.arange(n_features - 1, -1, -1)
        generator = None if seed is None else torch.Generator().manual_seed(seed)
        return torch.randperm(n_features, generator=generator)
    try:
        degrees = torch.as_tensor(order)
    except (TypeError, ValueError, RuntimeError):
        degrees = None
    if degrees is None or degrees.dtype == torch.bool or degrees.is_floating_point() \
            or degrees.is_complex() or degrees.shape != (n_features,) \
            or not torch.equal(degrees.to(torch.int64).sort().values, torch.arange(n_features)):
        raise _bad_order(order, n_features, owner)
    return degrees.to(torch.int64).clone()


def _bad_order(order: Any, n_features: int, owner: str) -> ModuleArgumentError:
    return ModuleArgumentError(
        f"{owner}: order must be one of {_ORDERS} or a permutation of 0..{n_features - 1}, "
        f"got {order!r}."
    )


def _resolve_transformer(spec: Any, owner: str) -> Transformer:
    """``Affine()`` for ``None``, a transformer as is, or the result of a zero-argument factory."""
    if spec is None:
        return Affine()
    if isinstance(spec, Transformer):
        return spec
    result = None
    if callable(spec) and not isinstance(spec, nn.Module):
        try:
            result = spec()
        except TypeError:
            result = None
    if not isinstance(result, Transformer):
        raise ModuleArgumentError(
            f"{owner}: transformer must be an inn.transformers.Transformer or a zero-argument "
            f"factory of one, got {spec!r}."
        )
    return result
