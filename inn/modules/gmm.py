"""``GaussianMixtureModel``: invertible whitening onto the components of a Gaussian mixture."""

from __future__ import annotations

import numbers
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor

from ..errors import ConditionError, InputCountError, ModuleArgumentError, ShapeError
from ..utils import ShapeList, format_shape
from ..validation import check_conditions, check_inputs
from .base import InvertibleModule, Tensors

__all__ = ["GaussianMixtureModel"]

# FrEIA draws the uniforms for component picking in float32; so do we, whatever the weights'
# dtype, so that a seed picks the same components as in FrEIA.
UNIFORM_DTYPE = torch.float32


def _cholesky_factors(entries: Tensor, dims: int) -> Tensor:
    """Upper-triangular factors ``(..., D, D)`` from ``(..., D(D+1)/2)`` entries.

    The first ``D`` entries are the log-diagonal; the rest fill the strict upper triangle row
    by row.
    """
    factors = entries.new_zeros(*entries.shape[:-1], dims, dims)
    rows, cols = torch.triu_indices(dims, dims, offset=1, device=entries.device)
    diagonal = torch.arange(dims, device=entries.device)
    factors[..., rows, cols] = entries[..., dims:]
    factors[..., diagonal, diagonal] = torch.exp(entries[..., :dims])
    return factors


def _is_seed(value: Any) -> bool:
    return isinstance(value, numbers.Integral) and not isinstance(value, bool)


class GaussianMixtureModel(InvertibleModule):
    r"""Whiten data with respect to one or all components of a Gaussian mixture.

    The mixture parameters arrive as four conditions ``[w, mu, U, i]``, typically predicted by a
    network (a mixture density network trained through this module):

    * ``w`` ``(B, K)``: component weights, positive and summing to one (see
      :meth:`normalize_weights`);
    * ``mu`` ``(B, K, D)``: component means;
    * ``U`` ``(B, K, D(D+1)/2)``: the upper-triangular Cholesky factors :math:`U_k` of the
      precision matrices; the first ``D`` entries are the log-diagonal, the rest fill the strict
      upper triangle row by row;
    * ``i``: a ``(B,)`` integer tensor of component indices; a Python int, a seed with which
      components are drawn by :meth:`pick_mixture_component`; or ``None`` for all components.

    .. math::

        z = U_i (x - \mu_i), \qquad \log|\det J| = \sum_d \log (U_i)_{dd};
        \qquad x = \mu_i + U_i^{-1} z.

    With ``i=None``, ``x`` of shape ``(B, D)`` (or ``(B, K, D)``) maps to ``z`` of shape
    ``(B, K, D)``, one code per component, and the log-det has shape ``(B, K)``; the reverse
    maps ``(B, K, D)`` (or ``(B, D)``) to ``(B, K, D)``. The inverse uses triangular solves.
    The call-time checks accept all of these forms (and an index tensor for a
    ``ConditionNode(0)``), so the module overrides ``_check_call``.

    Args:
        dims_in: One vector shape ``(D,)``.
        dims_c: Four condition shapes ``[(K,), (K, D), (K, D(D+1)/2), index_shape]``;
            ``index_shape`` is usually ``(0,)`` (a ``ConditionNode(0)``).

    Raises:
        ModuleArgumentError: For inputs that are not one vector or conditions that do not fit.

    References:
        Kruse. Training Mixture Density Networks with full covariance matrices.
        arXiv:2003.05739.

    Example:
        >>> gmm = GaussianMixtureModel([(2,)], [(3,), (3, 2), (3, 3), (0,)])
        >>> w = GaussianMixtureModel.normalize_weights(torch.randn(5, 3))
        >>> mu, U = torch.randn(5, 3, 2), torch.randn(5, 3, 3)
        >>> x = torch.randn(5, 2)
        >>> (z,), log_jac_det = gmm([x], c=[w, mu, U, torch.tensor([0, 1, 2, 0, 1])])
        >>> z.shape, log_jac_det.shape
        (torch.Size([5, 2]), torch.Size([5]))
        >>> (z_all,), log_jac_det_all = gmm([x], c=[w, mu, U, None])
        >>> z_all.shape, log_jac_det_all.shape
        (torch.Size([5, 3, 2]), torch.Size([5, 3]))
        >>> nll = GaussianMixtureModel.nll_loss(w, z_all, log_jac_det_all)
        >>> nll.shape
        torch.Size([5])
    """

    exact_inverse = True  # see InvertibleModule.exact_inverse

    checks_own_shapes = True  # accepts (B, K, D) in the all-components mode
    multi_dim_log_det = True  # returns a (B, K) log-det in the all-components mode

    def __init__(self, dims_in: Any, dims_c: Any) -> None:
        super().__init__(dims_in, dims_c)
        self._unit_conditions = False  # the index condition is checked and passed as given
        if len(self.dims_in) != 1 or len(self.dims_in[0]) != 1:
            raise ModuleArgumentError(
                f"GaussianMixtureModel takes one vector input (D,), got dims_in={self.dims_in}."
            )
        self.x_dims = self.dims_in[0][0]
        if len(self.dims_c) != 4 or len(self.dims_c[0]) != 1:
            raise ModuleArgumentError(
                f"GaussianMixtureModel takes four conditions [w (K,), mu (K, D), "
                f"U (K, D(D+1)/2), i], got dims_c={self.dims_c}."
            )
        self.n_components = self.dims_c[0][0]
        expected = [(self.n_components, self.x_dims),
                    (self.n_components, self.x_dims * (self.x_dims + 1) // 2)]
        for index, (name, shape) in enumerate(zip(("mu", "U"), expected, strict=True), 1):
            if self.dims_c[index] != shape:
                raise ModuleArgumentError(
                    f"GaussianMixtureModel: condition {index} ({name}) must have shape {shape} "
                    f"for K={self.n_components} components of dimension D={self.x_dims}, got "
                    f"{self.dims_c[index]}."
                )

    # -- mixture helpers -----------------------------------------------------------------------

    @staticmethod
    def pick_mixture_component(w: Tensor, seed: int | None = None) -> Tensor:
        """Draw one component index per sample with probabilities ``w``.

        One uniform number per row is compared with the cumulative weights. An int ``seed``
        seeds a local ``torch.Generator``, so the draw is reproducible and leaves the global
        random state alone; ``seed=None`` draws from torch's global generator.

        Args:
            w: ``(B, K)`` weights, positive and summing to one per row.
            seed: An int seed, or ``None``.

        Returns:
            A ``(B,)`` int32 tensor of indices in ``[0, K)``.

        Example:
            >>> w = torch.tensor([[0.5, 0.5], [0.0, 1.0]])
            >>> GaussianMixtureModel.pick_mixture_component(w, seed=0)
            tensor([0, 1], dtype=torch.int32)
        """
        thresholds = torch.cumsum(w, dim=1)
        generator = None
        if seed is not None:
            generator = torch.Generator(device=w.device).manual_seed(int(seed))
        u = torch.rand(w.shape[0], 1, generator=generator, device=w.device, dtype=UNIFORM_DTYPE)
        indices = torch.sum(u > thresholds, dim=1)
        # Rounding can leave the last cumulative weight below u: stay inside [0, K).
        return indices.clamp(max=w.shape[1] - 1).int()

    @staticmethod
    def normalize_weights(w: Tensor) -> Tensor:
        """Positive weights summing to one: ``softmax(w - w.max())`` over the last axis.

        Example:
            >>> GaussianMixtureModel.normalize_weights(torch.tensor([[0.0, 0.0]]))
            tensor([[0.5000, 0.5000]])
        """
        return F.softmax(w - w.max(), dim=-1)

    @staticmethod
    def nll_loss(w: Tensor, z: Tensor, log_jacobian: Tensor) -> Tensor:
        r"""Negative log-likelihood of the mixture, up to the Gaussian normalisation constant.

        .. math::

            -\log \sum_k w_k \exp\left(-\tfrac12 |z_k|^2 + \log|\det U_k|\right)

        Computed with the largest exponent factored out, so it does not underflow.

        Args:
            w: ``(B, K)`` weights.
            z: ``(B, K, D)`` codes from the all-components mode.
            log_jacobian: ``(B, K)`` log-dets from the all-components mode.

        Returns:
            ``(B,)`` losses.
        """
        exponent = -0.5 * (z**2).sum(dim=-1) + log_jacobian
        top = exponent.max(dim=-1, keepdim=True).values.detach()
        return -(top.squeeze(-1) + (w * torch.exp(exponent - top)).sum(dim=-1).log())

    @staticmethod
    def nll_upper_bound(w: Tensor, z: Tensor, log_jacobian: Tensor) -> Tensor:
        r"""FrEIA's numerically stable surrogate of :meth:`nll_loss`.

        .. math::

            -\sum_k \left(\log w_k - \tfrac12 |z_k|^2 + \log|\det U_k|\right)

        Args:
            w: ``(B, K)`` weights.
            z: ``(B, K, D)`` codes from the all-components mode.
            log_jacobian: ``(B, K)`` log-dets from the all-components mode.

        Returns:
            ``(B,)`` values.
        """
        return -(w.log() - 0.5 * (z**2).sum(dim=-1) + log_jacobian).sum(dim=-1)

    # -- the map -------------------------------------------------------------------------------

    def _select(self, x: Tensor, c: Tensors) -> tuple[Tensor, Tensor, Tensor | None]:
        """``(mu, U entries, index)`` of the chosen components; ``index`` None for all."""
        w, mu, entries, index = c
        if index is None:
            return mu, entries, None
        if not isinstance(index, Tensor):
            index = self.pick_mixture_component(w, seed=index)
        index = index.reshape(-1).long()
        rows = torch.arange(x.shape[0], device=x.device)
        return mu[rows, index], entries[rows, index], index

    def _forward(self, x: Tensors, c: Tensors, jac: bool) -> tuple[Tensors, Tensor]:
        mu, entries, index = self._select(x[0], c)
        shift = x[0] - mu if index is not None or x[0].dim() == 3 else x[0].unsqueeze(1) - mu
        factors = _cholesky_factors(entries, self.x_dims)
        z = (factors @ shift.unsqueeze(-1)).squeeze(-1)
        return (z,), entries[..., : self.x_dims].sum(dim=-1)

    def _inverse(self, z: Tensors, c: Tensors, jac: bool) -> tuple[Tensors, Tensor]:
        mu, entries, index = self._select(z[0], c)
        code = z[0] if index is not None or z[0].dim() == 3 else z[0].unsqueeze(1)
        factors = _cholesky_factors(entries, self.x_dims)
        solved = torch.linalg.solve_triangular(factors, code.unsqueeze(-1), upper=True)
        return (mu + solved.squeeze(-1),), -entries[..., : self.x_dims].sum(dim=-1)

    def output_dims(self, input_dims: ShapeList) -> ShapeList:
        """The input shape (``(D,)``; the all-components mode adds an axis at run time)."""
        return [tuple(input_dims[0])]

    # -- call-time checks ----------------------------------------------------------------------

    def _check_call(self, x_or_z: Tensors, c: Tensors, rev: bool) -> None:
        """Check counts and shapes; the index may be a tensor, an int seed or ``None``.

        Unlike the base check, the index condition is a ``(B,)`` integer tensor (whatever its
        declared shape), an int or ``None``, and with ``None`` inputs may be ``(B, K, D)``.
        """
        owner = type(self).__name__
        if len(x_or_z) != 1:
            raise InputCountError(f"{owner}: expected 1 input, got {len(x_or_z)}.")
        if len(c) != 4:
            raise ConditionError(
                f"{owner}: expected 4 conditions [w, mu, U, i], got {len(c)}."
            )
        index = c[3]
        all_components = index is None
        tensor = x_or_z[0]
        shape = self.dims_in[0]
        if all_components and isinstance(tensor, Tensor) and tensor.dim() == 3:
            shape = (self.n_components, self.x_dims)
        batch = check_inputs(owner, x_or_z, [shape], rev=rev)
        check_conditions(owner, c[:3], self.dims_c[:3], batch)
        if all_components or _is_seed(index):
            return
        if not isinstance(index, Tensor) or index.is_floating_point() or index.is_complex():
            raise ConditionError(
                f"{owner} condition 3 (i): expected a (B,) integer tensor of component indices, "
                f"an int seed or None, got {index!r:.60}."
            )
        if tuple(index.shape) not in ((batch,), (batch, 1)):
            raise ShapeError(
                f"{owner} condition 3 (i): expected component indices of shape "
                f"{format_shape((), batch)}, got {format_shape(tuple(index.shape), None)}."
            )
