"""Shared domain handling of the spline transformers: bounds as buffers, minimum bin sizes."""

from __future__ import annotations

import torch
from torch import Tensor

from ...errors import ModuleArgumentError, ShapeError
from ..base import Transformer

__all__ = ["SplineTransformer"]


def _domain_tensor(value: Tensor | float, name: str, owner: str) -> Tensor:
    """A float or ``(n_features,)`` bound as a tensor (Python floats in the default dtype)."""
    if isinstance(value, Tensor) and value.is_floating_point():
        tensor = value.detach().clone()
    else:
        tensor = torch.as_tensor(value, dtype=torch.get_default_dtype())
    if tensor.dim() > 1:
        raise ModuleArgumentError(
            f"{owner}: {name} must be a float or a (n_features,) tensor, got shape "
            f"{tuple(tensor.shape)}."
        )
    return tensor


class SplineTransformer(Transformer):
    """Shared domain handling of the spline transformers: bounds as buffers, bins of min size."""

    def __init__(self, x0: Tensor | float, xf: Tensor | float, n_bins: int,
                 y0: Tensor | float | None, yf: Tensor | float | None,
                 min_bin_size: float) -> None:
        super().__init__()
        owner = type(self).__name__
        if isinstance(n_bins, bool) or not isinstance(n_bins, int) or n_bins < 1:
            raise ModuleArgumentError(f"{owner}: n_bins must be an int >= 1, got {n_bins!r}.")
        if not min_bin_size >= 0:
            raise ModuleArgumentError(
                f"{owner}: min_bin_size must be >= 0, got {min_bin_size!r}."
            )
        bounds = {"x0": x0, "xf": xf, "y0": x0 if y0 is None else y0,
                  "yf": xf if yf is None else yf}
        for name, value in bounds.items():
            self.register_buffer(name, _domain_tensor(value, name, owner))
        sizes = {self.x0.numel(), self.xf.numel(), self.y0.numel(), self.yf.numel()} - {1}
        if len(sizes) > 1:
            raise ModuleArgumentError(
                f"{owner}: x0, xf, y0 and yf must be floats or tensors of one length "
                f"(n_features), got lengths {sorted(sizes)}."
            )
        self.n_bins = n_bins
        self.min_bin_size = float(min_bin_size)
        for low, high in (("x0", "xf"), ("y0", "yf")):
            size = getattr(self, high) - getattr(self, low)
            if not bool((size > 0).all()):
                raise ModuleArgumentError(
                    f"{owner}: the domain must be increasing ({high} > {low}), got "
                    f"{low}={getattr(self, low).tolist()}, {high}={getattr(self, high).tolist()}."
                )
            if not bool((size >= n_bins * self.min_bin_size).all()):
                raise ModuleArgumentError(
                    f"{owner}: {n_bins} bins of min_bin_size {min_bin_size} do not fit the "
                    f"domain [{getattr(self, low).tolist()}, {getattr(self, high).tolist()}]."
                )

    def _bounds(self, x: Tensor) -> tuple[Tensor, Tensor, Tensor, Tensor]:
        """``x0, xf, y0, yf`` shaped to broadcast against ``x`` of shape ``(B, F, *rest)``."""
        n_features = x.shape[1]
        trailing = (1,) * (x.dim() - 2)
        result = []
        for bound in (self.x0, self.xf, self.y0, self.yf):
            if bound.dim() == 1:
                if bound.numel() != n_features:
                    raise ShapeError(
                        f"{type(self).__name__}: the domain bounds have {bound.numel()} "
                        f"features, but the input has {n_features} (shape "
                        f"{tuple(x.shape)})."
                    )
                bound = bound.reshape(n_features, *trailing)
            result.append(bound)
        return result[0], result[1], result[2], result[3]

    def _bin_sizes(self, raw: Tensor, width: Tensor, height: Tensor) -> Tensor:
        """Bin sizes ``(..., 2, K)`` (widths, heights) from raw ``(..., 2K)`` parameters.

        A softmax spreads each total size over the bins after reserving ``min_bin_size`` each.
        """
        reserved = self.n_bins * self.min_bin_size
        free = torch.stack(torch.broadcast_tensors(width - reserved, height - reserved), dim=-1)
        fractions = torch.softmax(raw.unflatten(-1, (2, self.n_bins)), dim=-1)
        return torch.addcmul(free.new_full((), self.min_bin_size), free.unsqueeze(-1), fractions)

    def _check_n_features(self, n_features: int) -> None:
        sizes = {self.x0.numel(), self.xf.numel(), self.y0.numel(), self.yf.numel()} - {1}
        if sizes and sizes != {n_features}:
            raise ShapeError(
                f"{type(self).__name__}: the domain bounds have {sizes.pop()} features, "
                f"but {n_features} were requested."
            )

    def _domain_repr(self) -> str:
        return (f"x0={self.x0.tolist()}, xf={self.xf.tolist()}, n_bins={self.n_bins}, "
                f"y0={self.y0.tolist()}, yf={self.yf.tolist()}")
