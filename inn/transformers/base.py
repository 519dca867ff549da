"""``Transformer``: elementwise monotone bijections whose parameters come from outside."""

from __future__ import annotations

import torch.nn as nn
from torch import Tensor

from ..errors import ShapeError
from ..utils import format_shape, sum_except_batch

__all__ = ["Transformer"]


class Transformer(nn.Module):
    r"""An elementwise bijection :math:`y_i = \tau(x_i; \theta_i)` with external parameters.

    Couplings and autoregressive flows predict the parameters :math:`\theta` with a network and
    hand them to a transformer. Transformers hold configuration only (flags, domains as buffers),
    never learned weights; the math lives in :mod:`inn.transformers.functional`.

    Layout: ``x`` is ``(B, F, *rest)`` and ``parameters`` is ``(B, P·F, *rest)``,
    **parameter-major**: viewed as ``(B, P, F, *rest)``, ``parameters[:, p, i]`` is parameter
    ``p`` of feature ``i``. Subclasses set :attr:`n_parameters_per_feature` (``P``) and implement
    :meth:`_transform`; they may set :attr:`volume_preserving` when the log-determinant is
    identically zero.
    """

    #: Whether the log-determinant is identically zero (it is then returned as exact zeros).
    volume_preserving: bool = False

    @property
    def n_parameters_per_feature(self) -> int:
        """``P``, the number of parameters per transformed feature."""
        raise NotImplementedError

    def forward(self, x: Tensor, parameters: Tensor) -> tuple[Tensor, Tensor]:
        """Transform ``x`` with ``parameters``.

        Args:
            x: ``(B, F, *rest)``.
            parameters: ``(B, P·F, *rest)``, parameter-major.

        Returns:
            ``(y, log_det)`` with ``log_det`` of shape ``(B,)``, summed over all non-batch axes.
        """
        return self._run(x, parameters, inverse=False)

    def inverse(self, y: Tensor, parameters: Tensor) -> tuple[Tensor, Tensor]:
        """Invert :meth:`forward`; the log-determinant is that of the inverse, ``-forward``'s."""
        return self._run(y, parameters, inverse=True)

    def _run(self, x: Tensor, parameters: Tensor, inverse: bool) -> tuple[Tensor, Tensor]:
        y, log_det = self._transform(x, self.unflatten_parameters(x, parameters), inverse)
        if self.volume_preserving:
            return y, x.new_zeros(x.shape[0])
        return y, sum_except_batch(log_det)

    def unflatten_parameters(self, x: Tensor, parameters: Tensor) -> Tensor:
        """View ``(B, P·F, *rest)`` parameters as ``(B, P, F, *rest)``, checking their shape.

        Raises:
            ShapeError: If the parameters do not fit ``x``.
        """
        n_params = self.n_parameters_per_feature
        expected = (x.shape[0], n_params * x.shape[1], *x.shape[2:])
        if parameters.shape != expected:
            raise ShapeError(
                f"{type(self).__name__}: parameters for an input of shape "
                f"{format_shape(tuple(x.shape), batch=None)} must have shape "
                f"{format_shape(expected, batch=None)} ({n_params} per feature), "
                f"got {format_shape(tuple(parameters.shape), batch=None)}."
            )
        return parameters.unflatten(1, (n_params, x.shape[1]))

    def _transform(self, x: Tensor, parameters: Tensor, inverse: bool) -> tuple[Tensor, Tensor]:
        """Compute ``(y, elementwise_log_det)`` from ``(B, P, F, *rest)`` parameters."""
        raise NotImplementedError

    def get_identity_parameters(self, n_features: int) -> Tensor:
        """Return ``(P·n_features,)`` parameters for which the transformer is the identity."""
        raise NotImplementedError

    def get_degrees_out(self, degrees_in: Tensor) -> Tensor:
        """MADE degree of each parameter: parameter ``p`` of feature ``i`` has degree ``i``'s.

        Example:
            >>> from inn.transformers import Affine
            >>> Affine().get_degrees_out(torch.tensor([0, 1, 2]))
            tensor([0, 1, 2, 0, 1, 2])
        """
        return degrees_in.repeat(self.n_parameters_per_feature)
