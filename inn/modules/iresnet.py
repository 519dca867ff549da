"""``IResNetLayer``: an invertible residual layer (i-ResNet) with a fixed-point inverse."""

from __future__ import annotations

import itertools
from collections.abc import Callable
from typing import Any

import torch
import torch.nn as nn
from torch import Tensor

from ..errors import ModuleArgumentError
from ..utils import ShapeList
from .base import InvertibleModule, Tensors
from .iresnet_functional import (
    fixed_point_inverse,
    log_det_power_series,
    rademacher,
    spectral_norm_estimate,
)

__all__ = ["IResNetLayer"]

CONV_KERNEL_SIZE = 3  # FrEIA's residual convolutions: 3x3 with padding 1 keep the image size
CONV_PADDING = 1
SEED_RANGE = 2**62  # range of the seed drawn once from torch's global RNG for the probes

# Linear for vectors, ConvNd for rank-(N+1) inputs (FrEIA: Linear or Conv2d).
_LAYERS: dict[int, Callable[..., nn.Module]] = {
    1: nn.Linear,
    2: lambda c_in, c_out: nn.Conv1d(c_in, c_out, CONV_KERNEL_SIZE, padding=CONV_PADDING),
    3: lambda c_in, c_out: nn.Conv2d(c_in, c_out, CONV_KERNEL_SIZE, padding=CONV_PADDING),
    4: lambda c_in, c_out: nn.Conv3d(c_in, c_out, CONV_KERNEL_SIZE, padding=CONV_PADDING),
}


class IResNetLayer(InvertibleModule):
    r"""Invertible residual layer :math:`y = x + g(x)` with :math:`\operatorname{Lip}(g) < 1`.

    :math:`g` alternates Linear layers (vectors) or 3x3 convolutions with padding 1 (images;
    Conv1d/Conv3d for rank 2/4 inputs) with ELUs:
    ``C -> internal_size -> ... -> internal_size -> C`` with ``n_internal_layers`` hidden
    layers. It is invertible when each weight's spectral norm stays below 1; call
    :meth:`lipschitz_correction` after every optimiser step. The reverse pass is a fixed-point
    iteration (exact to machine precision once converged; its gradients use implicit
    differentiation). The log-determinant is the stochastic power series

    .. math::

        \log|\det J| \approx \sum_{k=1}^{n} \frac{(-1)^{k+1}}{k}\,
        \frac1S \sum_{s=1}^{S} v_s^\top J_g^k v_s

    with :math:`n` = ``jacobian_iterations`` and :math:`S` = ``hutchinson_samples`` random
    sign probes :math:`v_s`, drawn from the layer's own generator (seeded once from torch's
    global RNG). It is evaluated at the input :math:`x` in both directions (the reverse pass
    returns its negative at the reconstructed input), works under ``torch.no_grad()`` and is
    differentiable otherwise. Conditions are accepted and unused.

    Not traceable by ``torch.compile(fullgraph=True)``: the log-det series calls
    ``torch.autograd.grad`` inside the forward pass and runs under ``inference_mode(False)``,
    which dynamo does not trace, so a compiled network breaks its graph around this layer
    (without ``fullgraph`` it still runs, the layer eagerly). With ``jac=False`` the forward
    pass traces.

    Args:
        dims_in: One input shape ``(C,)`` or ``(C, *spatial)``.
        dims_c: Condition shapes (unused).
        internal_size: Width of the hidden layers; ``None`` for ``2 C``.
        n_internal_layers: Number of hidden-to-hidden layers.
        jacobian_iterations: Terms of the log-det power series.
        hutchinson_samples: Probes per trace estimate.
        fixed_point_iterations: Iterations of the inverse (and of its gradient).
        lipschitz_iterations: Power iterations per weight in :meth:`lipschitz_correction`.
        lipschitz_batchsize: Random start vectors of the power iteration.
        spectral_norm_max: Upper bound for each weight's spectral norm, in ``(0, 1]``.

    Raises:
        ModuleArgumentError: For ``spectral_norm_max`` outside ``(0, 1]``, non-positive sizes or
            iteration counts, several inputs, or an input of rank above 4.

    References:
        Behrmann, Grathwohl, Chen, Duvenaud, Jacobsen. Invertible Residual Networks.
        arXiv:1811.00995.

    Example:
        >>> layer = IResNetLayer([(3,)], hutchinson_samples=4).double()
        >>> layer.lipschitz_correction()
        >>> x = torch.randn(5, 3, dtype=torch.float64)
        >>> (z,), log_jac_det = layer([x])
        >>> (x_rec,), _ = layer([z], rev=True)
        >>> bool(torch.allclose(x_rec, x, atol=1e-12)), log_jac_det.shape
        (True, torch.Size([5]))
    """

    exact_inverse = False  # the inverse is a fixed-point iteration, exact only to its tolerance

    def __init__(
        self,
        dims_in: Any,
        dims_c: Any = None,
        internal_size: int | None = None,
        n_internal_layers: int = 1,
        jacobian_iterations: int = 20,
        hutchinson_samples: int = 1,
        fixed_point_iterations: int = 50,
        lipschitz_iterations: int = 10,
        lipschitz_batchsize: int = 10,
        spectral_norm_max: float = 0.8,
    ) -> None:
        super().__init__(dims_in, dims_c)
        if len(self.dims_in) != 1 or len(self.dims_in[0]) not in _LAYERS:
            raise ModuleArgumentError(
                f"IResNetLayer takes one input of shape (C,), (C, L), (C, H, W) or "
                f"(C, D, H, W), got dims_in={self.dims_in}."
            )
        if not 0 < spectral_norm_max <= 1:
            raise ModuleArgumentError(
                f"IResNetLayer: spectral_norm_max must lie in (0, 1], got {spectral_norm_max!r}."
            )
        channels = self.dims_in[0][0]
        self.internal_size = internal_size if internal_size else 2 * channels
        counts = {"internal_size": (self.internal_size, 1),
                  "n_internal_layers": (n_internal_layers, 0),
                  "jacobian_iterations": (jacobian_iterations, 0),
                  "hutchinson_samples": (hutchinson_samples, 1),
                  "fixed_point_iterations": (fixed_point_iterations, 0),
                  "lipschitz_iterations": (lipschitz_iterations, 0),
                  "lipschitz_batchsize": (lipschitz_batchsize, 1)}
        for name, (value, minimum) in counts.items():
            if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
                raise ModuleArgumentError(
                    f"IResNetLayer: {name} must be an int >= {minimum}, got {value!r}."
                )
        self.n_internal_layers = n_internal_layers
        self.jacobian_iterations = jacobian_iterations
        self.hutchinson_samples = hutchinson_samples
        self.fixed_point_iterations = fixed_point_iterations
        self.lipschitz_iterations = lipschitz_iterations
        self.lipschitz_batchsize = lipschitz_batchsize
        self.spectral_norm_max = float(spectral_norm_max)

        make = _LAYERS[len(self.dims_in[0])]
        widths = [channels] + [self.internal_size] * (n_internal_layers + 1) + [channels]
        modules: list[nn.Module] = []
        for c_in, c_out in itertools.pairwise(widths):
            modules += [make(c_in, c_out), nn.ELU()]
        # Linear/conv layers at the even indices: state_dict keys residual.0, residual.2, ...
        self.residual = nn.Sequential(*modules[:-1])
        self._seed: int | None = None
        self._generators: dict[str, torch.Generator] = {}

    @property
    def layers(self) -> list[nn.Module]:
        """The Linear or convolution layers of the residual branch, in order."""
        return [m for m in self.residual if not isinstance(m, nn.ELU)]

    def _generator(self, device: torch.device) -> torch.Generator:
        """This layer's random generator on ``device``, seeded once from the global RNG."""
        if self._seed is None:
            self._seed = int(torch.randint(SEED_RANGE, (1,)).item())
        key = str(device)
        if key not in self._generators:
            self._generators[key] = torch.Generator(device=device).manual_seed(self._seed)
        return self._generators[key]

    @torch.no_grad()
    def lipschitz_correction(self) -> None:
        """Rescale every weight whose spectral norm exceeds ``spectral_norm_max`` down to it.

        The spectral norm of each layer's linear map (the convolution with its padding, for
        images) is estimated by ``lipschitz_iterations`` power iterations from
        ``lipschitz_batchsize`` random starts, in the layer's dtype and on its device.
        """
        for layer in self.layers:
            start = layer.weight.new_empty(self.lipschitz_batchsize, layer.weight.shape[1],
                                           *self.dims_in[0][1:])
            start.normal_(generator=self._generator(layer.weight.device))
            norm = spectral_norm_estimate(layer, start, self.lipschitz_iterations)
            layer.weight.mul_((self.spectral_norm_max / norm).clamp(max=1.0))

    def _residual_and_log_det(self, x: Tensor, jac: bool) -> tuple[Tensor, Tensor]:
        """``g(x)`` and the log-det estimate at ``x`` (zeros when ``jac`` is false)."""
        if not jac or self.jacobian_iterations == 0:
            return self.residual(x), x.new_zeros(x.shape[0])
        create_graph = torch.is_grad_enabled()
        samples = self.hutchinson_samples
        # Gradients are needed even under no_grad / inference_mode (FrEIA fails there).
        with torch.inference_mode(False), torch.enable_grad():
            # A private leaf when x carries no graph: the caller's tensor is never modified.
            x_in = x if create_graph and x.requires_grad else (
                x.clone() if x.is_inference() else x.detach()).requires_grad_()
            residual_out = self.residual(x_in)
            series_in, series_out = x_in, residual_out
            if samples > 1:  # all probes in one batch: rows s * B + b
                series_in = x_in.repeat(samples, *[1] * (x.dim() - 1))
                series_out = self.residual(series_in)
            probes = rademacher(series_in, self._generator(x.device))
            per_row = log_det_power_series(series_out, series_in, probes,
                                           self.jacobian_iterations, create_graph)
            log_jac_det = per_row.reshape(samples, x.shape[0]).mean(0)
        if not create_graph:
            return residual_out.detach(), log_jac_det.detach()
        return residual_out, log_jac_det

    def _forward(self, x: Tensors, c: Tensors, jac: bool) -> tuple[Tensors, Tensor]:
        residual_out, log_jac_det = self._residual_and_log_det(x[0], jac)
        return (x[0] + residual_out,), log_jac_det

    def _inverse(self, z: Tensors, c: Tensors, jac: bool) -> tuple[Tensors, Tensor]:
        x = fixed_point_inverse(self.residual, z[0], self.fixed_point_iterations)
        if not jac:
            return (x,), z[0].new_zeros(z[0].shape[0])
        _, log_jac_det = self._residual_and_log_det(x, jac)
        return (x,), -log_jac_det

    def output_dims(self, input_dims: ShapeList) -> ShapeList:
        """The input shape."""
        return [tuple(input_dims[0])]
