"""Distributions defined by invertible modules: push-forwards, pull-backs, a ``Transform`` view."""

from __future__ import annotations

from typing import Any, ClassVar

import torch
from torch import Tensor
from torch.distributions import Distribution, Independent, Normal, Transform, constraints

from .errors import ShapeError
from .modules.base import InvertibleModule
from .modules.inverse import Inverse
from .utils import as_tuple, force_to, format_shape

__all__ = [
    "FlowDistribution",
    "ModuleTransform",
    "PullBackDistribution",
    "PushForwardDistribution",
    "StandardNormalDistribution",
]


def run_module(module: Any, x: Tensor, c: Any, rev: bool, jac: bool) -> tuple[Tensor, Any]:
    """Run a single-input, single-output module on a bare tensor, in tuple mode."""
    if isinstance(module, InvertibleModule):
        (out,), log_jac_det = module._call_as_block((x,), as_tuple(c), rev, jac)
        return out, log_jac_det
    out, log_jac_det = module((x,), c=c, rev=rev, jac=jac) if c is not None else module(
        (x,), rev=rev, jac=jac)
    return out[0], log_jac_det


class StandardNormalDistribution(Independent):
    """A standard normal over ``event_shape``: ``Independent(Normal(0, 1), len(event_shape))``.

    Example:
        >>> d = StandardNormalDistribution(2, 3)
        >>> d.sample((5,)).shape, d.event_shape
        (torch.Size([5, 2, 3]), torch.Size([2, 3]))
    """

    def __init__(
        self,
        *event_shape: int,
        device: torch.device | str | None = None,
        dtype: torch.dtype | None = None,
        validate_args: bool = True,
    ) -> None:
        loc = torch.zeros(event_shape, device=device, dtype=dtype)
        scale = torch.ones(event_shape, device=device, dtype=dtype)
        super().__init__(Normal(loc, scale, validate_args=validate_args), len(event_shape),
                         validate_args=validate_args)


class PushForwardDistribution(Distribution):
    r"""The distribution of :math:`x = T(z)`, :math:`z \sim` ``base``, for an invertible module ``T``.

    .. math::

        \log p(x) = \log p_\text{base}(T^{-1}(x)) + \log\left|\det \frac{\partial T^{-1}}{\partial x}\right|

    Args:
        base_distribution: Distribution of ``z``, with ``event_shape`` equal to ``T``'s input.
        transform: An invertible module with one input and one output.
    """  # noqa: E501

    arg_constraints: ClassVar[dict] = {}

    def __init__(self, base_distribution: Distribution, transform: Any) -> None:
        shapes = transform.output_dims(transform.dims_in)
        super().__init__(torch.Size(), torch.Size(shapes[0]), validate_args=False)
        self.base_distribution = base_distribution
        self.transform = transform

    def _push(self, z: Tensor, conditions: Any) -> Tensor:
        flat = z.reshape(-1, *self._base_event_shape())
        x, _ = run_module(self.transform, flat, conditions, rev=False, jac=False)
        return x.reshape(*z.shape[: z.dim() - len(self._base_event_shape())], *self.event_shape)

    def _base_event_shape(self) -> tuple[int, ...]:
        return tuple(self.transform.dims_in[0])

    @torch.no_grad()
    def sample(self, sample_shape: Any = (), conditions: Any = None) -> Tensor:
        """Draw samples without gradients: ``T(z)`` for ``z ~ base``."""
        return self._push(self.base_distribution.sample(torch.Size(sample_shape)), conditions)

    def rsample(self, sample_shape: Any = (), conditions: Any = None) -> Tensor:
        """Draw samples with gradients to the transform (and to the base where it allows)."""
        shape = torch.Size(sample_shape)
        if self.base_distribution.has_rsample:
            z = self.base_distribution.rsample(shape)
        else:
            z = self.base_distribution.sample(shape)
        return self._push(z, conditions)

    def log_prob(self, value: Tensor, conditions: Any = None) -> Tensor:
        """Log-density of ``value`` of shape ``(*batch, *event_shape)``.

        Raises:
            ShapeError: If ``value`` does not end in ``event_shape``.
        """
        event = tuple(self.event_shape)
        if tuple(value.shape[value.dim() - len(event):]) != event or value.dim() <= len(event):
            raise ShapeError(
                f"{type(self).__name__}.log_prob: expected a value of shape "
                f"{format_shape(event)}, got {tuple(value.shape)}."
            )
        batch_shape = value.shape[: value.dim() - len(event)]
        flat = value.reshape(-1, *event)
        z, log_jac_det = run_module(self.transform, flat, conditions, rev=True, jac=True)
        log_prob = self.base_distribution.log_prob(z) + log_jac_det
        return log_prob.reshape(batch_shape)

    def force_to(self, *args: Any, **kwargs: Any) -> None:
        """Move the base distribution's tensors and the transform with ``.to(*args, **kwargs)``."""
        force_to(self.base_distribution, *args, **kwargs)
        self.transform = self.transform.to(*args, **kwargs)


class PullBackDistribution(PushForwardDistribution):
    r"""The usual INN density :math:`p(x) = p_\text{base}(T(x)) \left|\det \partial T / \partial x\right|`.

    Sampling runs ``T`` in reverse. This is ``PushForwardDistribution(base, Inverse(T))``.

    Example:
        >>> import torch.nn as nn
        >>> from inn.modules import GLOWCouplingBlock
        >>> T = GLOWCouplingBlock([(2,)], subnet_constructor=nn.Linear)
        >>> p = PullBackDistribution(StandardNormalDistribution(2), T)
        >>> p.sample((7,)).shape, p.log_prob(torch.zeros(7, 2)).shape
        (torch.Size([7, 2]), torch.Size([7]))
    """  # noqa: E501

    def __init__(self, base_distribution: Distribution, transform: Any) -> None:
        super().__init__(base_distribution, Inverse(transform))


class ModuleTransform(Transform):
    """A ``torch.distributions.Transform`` running an invertible module, for ``TransformedDistribution``.

    Args:
        module: An invertible module with one input and one output.
        c: Conditions passed on every call, or ``None``.

    Example:
        >>> from torch.distributions import TransformedDistribution
        >>> from inn.modules import ActNorm
        >>> t = ModuleTransform(ActNorm([(2,)], init_data=torch.randn(10, 2)))
        >>> d = TransformedDistribution(StandardNormalDistribution(2), [t])
        >>> d.log_prob(d.sample((3,))).shape
        torch.Size([3])
    """  # noqa: E501

    bijective = True

    def __init__(self, module: Any, c: Any = None) -> None:
        super().__init__(cache_size=1)
        self.module = module
        self.c = c
        event_dim = len(module.dims_in[0])
        self.domain = constraints.independent(constraints.real, event_dim)
        self.codomain = constraints.independent(constraints.real, event_dim)
        self._event_dims = (tuple(module.dims_in[0]),
                            tuple(module.output_dims(module.dims_in)[0]))

    def _run(self, x: Tensor, rev: bool, jac: bool) -> tuple[Tensor, Any]:
        event_in = self._event_dims[1 if rev else 0]
        event_out = self._event_dims[0 if rev else 1]
        batch_shape = x.shape[: x.dim() - len(event_in)]
        out, log_jac_det = run_module(self.module, x.reshape(-1, *event_in), self.c, rev, jac)
        log_jac_det = None if log_jac_det is None else log_jac_det.reshape(batch_shape)
        return out.reshape(*batch_shape, *event_out), log_jac_det

    def _call(self, x: Tensor) -> Tensor:
        return self._run(x, rev=False, jac=False)[0]

    def _inverse(self, y: Tensor) -> Tensor:
        return self._run(y, rev=True, jac=False)[0]

    def log_abs_det_jacobian(self, x: Tensor, y: Tensor) -> Tensor:
        """The forward log-determinant at ``x``."""
        return self._run(x, rev=False, jac=True)[1]

    def forward_shape(self, shape: Any) -> torch.Size:
        """Output shape for an input shape."""
        n = len(self._event_dims[0])
        return torch.Size((*tuple(shape)[: len(shape) - n], *self._event_dims[1]))

    def inverse_shape(self, shape: Any) -> torch.Size:
        """Input shape for an output shape."""
        n = len(self._event_dims[1])
        return torch.Size((*tuple(shape)[: len(shape) - n], *self._event_dims[0]))


from .flow import FlowDistribution  # noqa: E402 - re-exported; flow.py does not import this file
