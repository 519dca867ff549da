"""``MADE``: the masked MLP that predicts the parameters of autoregressive flows."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import torch
import torch.nn as nn
import torch.nn.functional as F
from torch import Tensor

from ..errors import ConditionError, ModuleArgumentError, ShapeError
from ..utils import format_shape

__all__ = [
    "MADE",
    "MaskedLinear",
    "autoregressive_mask",
    "check_degrees",
    "check_hidden_features",
    "hidden_degrees",
]


# -- pure mask construction --------------------------------------------------------------------

def check_degrees(degrees: Any, name: str, owner: str) -> Tensor:
    """Return ``degrees`` as a non-empty 1-d int64 tensor.

    Raises:
        ModuleArgumentError: For non-integer, non-1-d or empty degrees.
    """
    try:
        tensor = torch.as_tensor(degrees)
    except (TypeError, ValueError, RuntimeError):
        tensor = None
    if tensor is None or tensor.dtype == torch.bool or tensor.is_floating_point() \
            or tensor.is_complex():
        raise ModuleArgumentError(
            f"{owner}: {name} must be integer degrees (a 1-d int tensor or sequence), "
            f"got {degrees!r}."
        )
    if tensor.dim() != 1 or tensor.numel() == 0:
        raise ModuleArgumentError(
            f"{owner}: {name} must be a non-empty 1-d tensor, got shape {tuple(tensor.shape)}."
        )
    return tensor.to(torch.int64).clone()


def check_hidden_features(hidden_features: Any, owner: str) -> tuple[int, ...]:
    """Return ``hidden_features`` (an int or a sequence of ints) as a tuple of positive ints.

    Raises:
        ModuleArgumentError: For a non-int or non-positive width.
    """
    widths = (hidden_features,) if isinstance(hidden_features, int) else hidden_features
    try:
        widths = tuple(widths)
    except TypeError:
        widths = None
    if widths is None or any(isinstance(w, bool) or not isinstance(w, int) or w < 1
                             for w in widths):
        raise ModuleArgumentError(
            f"{owner}: hidden_features must be a sequence of positive ints (possibly empty), "
            f"got {hidden_features!r}."
        )
    return widths


def hidden_degrees(width: int, low: int, high: int) -> Tensor:
    """Degrees of ``width`` hidden units, cycling over ``low, low+1, ..., high``.

    Example:
        >>> hidden_degrees(5, -1, 1)
        tensor([-1,  0,  1, -1,  0])
    """
    return low + torch.arange(width) % (high - low + 1)


def autoregressive_mask(degrees_out: Tensor, degrees_in: Tensor, *, strict: bool) -> Tensor:
    r"""Connectivity ``(len(degrees_out), len(degrees_in))`` of one masked layer.

    Unit :math:`j` may read unit :math:`i` if :math:`d_j \ge d_i` (hidden layers) or
    :math:`d_j > d_i` (``strict``, the output layer).

    Example:
        >>> autoregressive_mask(torch.tensor([0, 1]), torch.tensor([0, 1]), strict=True)
        tensor([[False, False],
                [ True, False]])
    """
    if strict:
        return degrees_out[:, None] > degrees_in[None, :]
    return degrees_out[:, None] >= degrees_in[None, :]


class MaskedLinear(nn.Linear):
    r"""A linear layer :math:`y = (W \odot M) x + b` with a fixed bool mask buffer ``mask``.

    Example:
        >>> layer = MaskedLinear(2, 2, torch.tensor([[True, False], [True, True]]))
        >>> x = torch.randn(3, 2, requires_grad=True)
        >>> torch.autograd.grad(layer(x)[:, 0].sum(), x)[0][:, 1]
        tensor([0., 0., 0.])
    """

    def __init__(self, in_features: int, out_features: int, mask: Tensor) -> None:
        super().__init__(in_features, out_features)
        self.register_buffer("mask", mask.to(torch.bool).clone())

    def forward(self, x: Tensor) -> Tensor:
        """Apply the masked weight."""
        return F.linear(x, self.weight * self.mask, self.bias)


# -- the network -------------------------------------------------------------------------------

class MADE(nn.Module):
    r"""Masked MLP whose output of degree :math:`d` depends only on inputs of degree :math:`< d`.

    Inputs have degrees ``degrees_in`` (tfep convention: ``0..D-1``, in any order), outputs
    ``degrees_out`` (usually ``transformer.get_degrees_out(degrees_in)``). Hidden units cycle
    over the degrees :math:`[\min d_\text{in}, \max d_\text{in} - 1]`, extended below by
    :math:`\min d_\text{in} - 1` when there is a context (or a single input degree): units of
    that degree read the context alone and feed the outputs of the lowest degree (as tfep's
    degree-:math:`-1` conditioning inputs do). A hidden unit of degree :math:`h` reads inputs of
    degree :math:`\le h`, an output of degree :math:`d` reads hidden units of degree :math:`< d`:

    .. math::

        \frac{\partial\, \mathrm{out}_j}{\partial x_i} = 0
        \quad \text{whenever} \quad d^\text{out}_j \le d^\text{in}_i.

    The context feeds every hidden unit (every output without hidden layers), so outputs of the
    lowest degree depend on the context alone. ``residual=True`` replaces each layer between
    two hidden layers of equal width by a masked residual block
    :math:`h \mapsto h + W(\sigma(h))`. Masks are persistent buffers.

    Args:
        degrees_in: ``(D,)`` integer degrees of the inputs.
        degrees_out: ``(M,)`` integer degrees of the outputs, within
            :math:`[\min d_\text{in}, \max d_\text{in}]`.
        hidden_features: Widths of the hidden layers (``()`` for a single masked layer).
        context_features: Size of the flat context vector (0 for none).
        activation: Zero-argument factory of the activation module.
        residual: Use masked residual blocks between equally wide hidden layers.

    Raises:
        ModuleArgumentError: For non-integer or non-1-d degrees, output degrees out of range,
            non-positive widths, a negative ``context_features`` or a bad ``activation``.

    References:
        Germain, Gregor, Murray, Larochelle. MADE: Masked Autoencoder for Distribution
        Estimation. arXiv:1502.03509.

    Example:
        >>> made = MADE(torch.tensor([0, 1, 2]), torch.tensor([0, 1, 2, 0, 1, 2]), (8,))
        >>> x = torch.randn(4, 3, requires_grad=True)
        >>> made(x).shape
        torch.Size([4, 6])
        >>> torch.autograd.grad(made(x)[:, 1].sum(), x)[0][:, 1:].abs().max()
        tensor(0.)
    """

    def __init__(
        self,
        degrees_in: Tensor | Sequence[int],
        degrees_out: Tensor | Sequence[int],
        hidden_features: Sequence[int] = (64, 64),
        context_features: int = 0,
        activation: Callable[[], nn.Module] = nn.ReLU,
        residual: bool = False,
    ) -> None:
        super().__init__()
        owner = type(self).__name__
        d_in = check_degrees(degrees_in, "degrees_in", owner)
        d_out = check_degrees(degrees_out, "degrees_out", owner)
        low, high = int(d_in.min()), int(d_in.max())
        if bool(((d_out < low) | (d_out > high)).any()):
            raise ModuleArgumentError(
                f"{owner}: degrees_out must lie in [{low}, {high}] (the range of degrees_in), "
                f"got {d_out.tolist()}."
            )
        widths = check_hidden_features(hidden_features, owner)
        if isinstance(context_features, bool) or not isinstance(context_features, int) \
                or context_features < 0:
            raise ModuleArgumentError(
                f"{owner}: context_features must be a non-negative int, got {context_features!r}."
            )
        self.context_features = context_features
        self.register_buffer("degrees_in", d_in)
        self.register_buffer("degrees_out", d_out)
        # The context gets the degree below every input, so units of that degree read it alone.
        context_degree = low - 1
        # Hidden degrees start at the context's when there is one (or when a single input degree
        # leaves nothing else), so that outputs of the lowest degree still get hidden units.
        hidden_low = min(low - (context_features > 0), high - 1)
        degrees = [torch.cat([d_in, d_in.new_full((context_features,), context_degree)])]
        degrees += [hidden_degrees(w, hidden_low, high - 1) for w in widths]
        degrees.append(d_out)
        sizes = [len(d) for d in degrees]
        n_layers = len(sizes) - 1
        self.layers = nn.ModuleList(
            MaskedLinear(sizes[k], sizes[k + 1],
                         autoregressive_mask(degrees[k + 1], degrees[k], strict=k == n_layers - 1))
            for k in range(n_layers)
        )
        self.activations = nn.ModuleList(_build_activation(activation, owner) for _ in widths)
        # Layer k (between hidden layers k-1 and k) is a residual block when both are equally
        # wide: the hidden degrees then coincide and the non-strict mask keeps the order.
        self.residual = bool(residual)
        self._skip = tuple(self.residual and 0 < k < n_layers - 1 and sizes[k] == sizes[k + 1]
                           for k in range(n_layers))

    def forward(self, x: Tensor, context: Tensor | None = None) -> Tensor:
        """Predict ``(B, M)`` outputs from ``(B, D)`` inputs and a ``(B, C)`` context.

        Raises:
            ConditionError: For a context given to a MADE without context features, or missing.
            ShapeError: For inputs or a context of the wrong shape.
        """
        h = self._join(x, context)
        h = self.layers[0](h)
        for k in range(1, len(self.layers)):
            step = self.layers[k](self.activations[k - 1](h))
            h = h + step if self._skip[k] else step
        return h

    def _join(self, x: Tensor, context: Tensor | None) -> Tensor:
        owner = type(self).__name__
        n_in = len(self.degrees_in)
        if x.dim() != 2 or x.shape[1] != n_in:
            raise ShapeError(
                f"{owner}: expected inputs of shape {format_shape((n_in,))}, "
                f"got {tuple(x.shape)}."
            )
        if (context is None) != (self.context_features == 0):
            raise ConditionError(
                f"{owner}: expected {'a' if self.context_features else 'no'} context "
                f"(context_features={self.context_features}), got "
                f"{'none' if context is None else 'one'}."
            )
        if context is None:
            return x
        expected = (x.shape[0], self.context_features)
        if tuple(context.shape) != expected:
            raise ShapeError(
                f"{owner}: expected a context of shape {expected}, got {tuple(context.shape)}."
            )
        return torch.cat([x, context], dim=1)

    def extra_repr(self) -> str:
        """The numbers of inputs, outputs and context features."""
        return (f"in_features={len(self.degrees_in)}, out_features={len(self.degrees_out)}, "
                f"context_features={self.context_features}, residual={self.residual}")


def _build_activation(activation: Any, owner: str) -> nn.Module:
    try:
        module = activation()
    except TypeError:
        module = None
    if not isinstance(module, nn.Module):
        raise ModuleArgumentError(
            f"{owner}: activation must be a zero-argument factory of nn.Module (e.g. nn.ReLU), "
            f"got {activation!r}."
        )
    return module
