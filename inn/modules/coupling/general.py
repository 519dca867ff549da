"""``CouplingBlock``: a coupling over any transformer, split by length, channel or element mask."""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Any

import torch
import torch.nn as nn
from torch import Tensor

from ...errors import ModuleArgumentError
from ...transformers import Transformer
from ...utils import sum_except_batch
from ..base import Tensors
from .base import CouplingBase, SubnetConstructor

__all__ = ["CouplingBlock"]

TransformerSpec = Transformer | Callable[..., Transformer]

# Layers whose weights init_identity zeroes and whose bias it sets.
_LAST_LAYER_TYPES = (nn.Linear, nn.modules.conv._ConvNd)


class CouplingBlock(CouplingBase):
    r"""General coupling :math:`y_b = \tau(x_b;\ \mathrm{subnet}([x_a, c]))` over any transformer.

    The input is divided into a passive part :math:`a` and an active part :math:`b`; the subnet
    predicts the transformer's parameters for :math:`b` from :math:`a` and the conditions. With
    ``two_sided=True`` a second subnet then transforms :math:`a` from :math:`[y_b, c]`:

    .. math::

        y_a = x_a,\ y_b = \tau(x_b; \theta_b(x_a, c)); \qquad
        \text{two-sided: } y_a = \tau(x_a; \theta_a(y_b, c)); \qquad
        \log|\det J| = \sum \log \tau'.

    The parts are chosen by exactly one rule:

    * ``split_len`` (default): the first ``l1`` channels are passive (FrEIA's rules: a float
      fraction in ``[0, 1]`` rounded half to even, or an int in ``[0, C]``).
    * ``num_masked`` (TFP's RealNVP): the first ``n`` channels are passive; a negative ``n``
      makes the last ``|n|`` channels passive. ``fraction_masked`` in ``[-1, 1]`` gives
      ``n = int(C·fraction)``, rounded towards zero.
    * ``mask``, a bool tensor where ``True`` marks passive entries: of shape ``(C,)`` a
      *channel mask*; of the full input shape ``dims_in[0]`` (rank ≥ 2) an *element mask*
      (e.g. :func:`~inn.modules.coupling.checkerboard_mask`). With an element mask the subnet
      sees the masked input :math:`x \odot m` (``C + cc`` channels) and predicts parameters for
      every position (``P·C`` channels); only unmasked elements are transformed and counted in
      the log-det.

    The transformer is a :class:`~inn.transformers.Transformer`, a zero-argument factory, or a
    TFP-style ``bijector_fn(passive, c) -> Transformer``, called at every step with the passive
    part and the conditions (probed once at construction with zeros to size the subnet).

    Args:
        dims_in: One input shape ``(C, *spatial)``.
        dims_c: Condition shapes ``(c_i, *spatial)``, concatenated after the passive part.
        transformer: The elementwise bijection (instance, factory or ``bijector_fn``).
        subnet_constructor: ``(c_in, c_out) -> nn.Module``; outputs are parameter-major,
            ``P·|b|`` channels (see :class:`~inn.transformers.Transformer`).
        split_len: Length of the passive first part.
        mask: Bool channel or element mask, ``True`` = passive.
        two_sided: Also transform the passive part, from the transformed active part.
        init_identity: Zero the last ``Linear``/``Conv`` layer of each subnet and set its bias to
            the transformer's identity parameters, so the block starts as the identity.
        num_masked: TFP's number of passive channels (negative: the last ones).
        fraction_masked: TFP's fraction of passive channels (negative: the last ones).

    Raises:
        ModuleArgumentError: Without ``subnet_constructor``; for a transformer that is none of
            the three forms; for several part rules at once, a bad ``split_len``, ``num_masked``
            or ``fraction_masked``, a mask of the wrong shape or dtype; for condition shapes
            that do not match; for ``init_identity`` with a subnet lacking a final
            ``Linear``/``Conv`` layer with bias.

    References:
        Dinh, Sohl-Dickstein, Bengio. Density estimation using Real NVP. arXiv:1605.08803.

    Example:
        >>> import torch.nn as nn
        >>> from inn.transformers import Affine
        >>> block = CouplingBlock([(6,)], transformer=Affine(), subnet_constructor=nn.Linear,
        ...                       num_masked=-2, two_sided=True, init_identity=True)
        >>> x = torch.randn(3, 6)
        >>> (z,), log_jac_det = block([x])
        >>> torch.equal(z, x), log_jac_det.tolist()
        (True, [0.0, 0.0, 0.0])
    """

    def __init__(
        self,
        dims_in: Any,
        dims_c: Any = None,
        *,
        transformer: TransformerSpec,
        subnet_constructor: SubnetConstructor,
        split_len: float | int = 0.5,
        mask: Tensor | None = None,
        two_sided: bool = False,
        init_identity: bool = False,
        num_masked: int | None = None,
        fraction_masked: float | None = None,
    ) -> None:
        super().__init__(dims_in, dims_c, transformer=None, split_len=split_len)
        owner = type(self).__name__
        constructor = self._require_subnet_constructor(subnet_constructor, owner)
        self._configure_parts(mask, num_masked, fraction_masked)
        self._transformer_fn = None
        self.transformer = self._resolve_transformer(transformer)
        self.two_sided = bool(two_sided)
        active = 1 if self.element_mask else 1 - self.passive_part
        steps = [(active, "subnet")]
        if self.two_sided:
            steps.append((1 - active, "subnet2"))
        self._steps = tuple(steps)
        self.subnet = constructor(*self.subnet_dims(active))
        if self.two_sided:
            self.subnet2 = constructor(*self.subnet_dims(1 - active))
        if init_identity:
            for part, name in self._steps:
                self._init_identity(getattr(self, name), self._n_active_features(part))

    # -- construction ------------------------------------------------------------------------

    def _configure_parts(self, mask: Any, num_masked: Any, fraction_masked: Any) -> None:
        owner = type(self).__name__
        given = [name for name, value in [("mask", mask), ("num_masked", num_masked),
                                          ("fraction_masked", fraction_masked)]
                 if value is not None]
        if len(given) > 1:
            raise ModuleArgumentError(
                f"{owner}: give at most one of mask, num_masked and fraction_masked, got {given}."
            )
        self.passive_part = 0
        self.element_mask = False
        self._permuted = False
        if fraction_masked is not None:
            num_masked = self._fraction_to_count(fraction_masked)
        if num_masked is not None:
            self._set_num_masked(num_masked)
        elif mask is not None:
            self._set_mask(mask)

    def _fraction_to_count(self, fraction: Any) -> int:
        if isinstance(fraction, bool) or not isinstance(fraction, (int, float)) \
                or not -1.0 <= fraction <= 1.0:
            raise ModuleArgumentError(
                f"{type(self).__name__}: fraction_masked must be a float in [-1, 1], "
                f"got {fraction!r}."
            )
        return int(self.channels * fraction)  # int() rounds towards zero, as TFP does

    def _set_num_masked(self, num_masked: Any) -> None:
        channels = self.channels
        if isinstance(num_masked, bool) or not isinstance(num_masked, int) \
                or not -channels <= num_masked <= channels:
            raise ModuleArgumentError(
                f"{type(self).__name__}: num_masked must be an int in [-{channels}, {channels}] "
                f"(negative: the last channels are masked), got {num_masked!r}."
            )
        if num_masked >= 0:
            self.split_len1, self.split_len2 = num_masked, channels - num_masked
        else:
            self.split_len1, self.split_len2 = channels + num_masked, -num_masked
            self.passive_part = 1

    def _set_mask(self, mask: Any) -> None:
        owner = type(self).__name__
        mask = torch.as_tensor(mask)
        shape = self.dims_in[0]
        if mask.dtype != torch.bool:
            raise ModuleArgumentError(
                f"{owner}: mask must be a bool tensor (True = passive), got dtype {mask.dtype}."
            )
        if tuple(mask.shape) == (self.channels,):
            passive = torch.nonzero(mask).flatten()
            active = torch.nonzero(~mask).flatten()
            order = torch.cat([passive, active])
            self.split_len1, self.split_len2 = len(passive), len(active)
            self._permuted = not torch.equal(order, torch.arange(self.channels))
            self.register_buffer("channel_order", order)
            self.register_buffer("channel_order_inv", torch.argsort(order))
        elif tuple(mask.shape) == shape and len(shape) > 1:
            self.element_mask = True
        else:
            raise ModuleArgumentError(
                f"{owner}: mask must have shape ({self.channels},) (a channel mask) or the input "
                f"shape {shape} (an element mask), got {tuple(mask.shape)}."
            )
        self.register_buffer("mask", mask.clone())

    def _resolve_transformer(self, spec: Any) -> Transformer:
        owner = type(self).__name__
        if isinstance(spec, Transformer):
            return spec
        if callable(spec) and not (isinstance(spec, type) and not issubclass(spec, Transformer)):
            if isinstance(spec, type) or _required_positional(spec) == 0:
                result = spec()
            else:
                self._transformer_fn = spec
                result = spec(*self._probe_inputs())
            if isinstance(result, Transformer):
                return result
        raise ModuleArgumentError(
            f"{owner}: transformer must be a Transformer, a zero-argument factory or a "
            f"bijector_fn (passive, c) -> Transformer, got {spec!r}."
        )

    def _probe_inputs(self) -> tuple[Tensor, Tensors]:
        """Zero batch-1 stand-ins for ``(passive, c)``, to size the subnet of a bijector_fn."""
        if self.element_mask:
            passive = torch.zeros(1, *self.dims_in[0])
        else:
            passive = torch.zeros(1, self.part_lengths[self.passive_part], *self.dims_in[0][1:])
        return passive, tuple(torch.zeros(1, *shape) for shape in self.dims_c)

    def _n_active_features(self, part: int) -> int:
        return self.channels if self.element_mask else self.part_lengths[part]

    def _init_identity(self, subnet: nn.Module, n_features: int) -> None:
        owner = type(self).__name__
        layers = [m for m in subnet.modules() if isinstance(m, _LAST_LAYER_TYPES)]
        identity = self.transformer.get_identity_parameters(n_features)
        if not layers or (layers[-1].bias is None and bool(identity.any())):
            raise ModuleArgumentError(
                f"{owner}: init_identity needs a subnet whose last layer is an nn.Linear or "
                f"nn.ConvNd with bias, got {type(subnet).__name__}."
            )
        last = layers[-1]
        with torch.no_grad():
            last.weight.zero_()
            if last.bias is not None:
                last.bias.copy_(identity)

    # -- hooks ---------------------------------------------------------------------------------

    def subnet_dims(self, active: int) -> tuple[int, int]:
        """``(in, out)`` channels of the subnet that predicts the parameters of part ``active``."""
        if self.element_mask:
            n_params = self.transformer.n_parameters_per_feature
            return self.channels + self.condition_length, n_params * self.channels
        return super().subnet_dims(active)

    def _transformer_for(self, passive: Tensor, c: Tensors) -> Transformer:
        if self._transformer_fn is None:
            return self.transformer
        return self._transformer_fn(passive, c)

    def _split(self, x: Tensor) -> list[Tensor]:
        if self.element_mask:
            return [x]
        if self._permuted:
            x = x.index_select(1, self.channel_order)
        return super()._split(x)

    def _merge(self, parts: list[Tensor]) -> Tensor:
        if self.element_mask:
            return parts[0]
        merged = super()._merge(parts)
        if self._permuted:
            merged = merged.index_select(1, self.channel_order_inv)
        return merged

    def _step(self, parts: list[Tensor], c: Tensors, active: int, predictor: Any,
              inverse: bool) -> Tensor:
        if not self.element_mask:
            return super()._step(parts, c, active, predictor, inverse)
        # Element mask: part 1 of a step is the unmasked entries, part 0 the masked ones.
        x = parts[0]
        keep = self.mask if active == 1 else ~self.mask
        passive = x * keep
        conditioner_input = torch.cat([passive, *c], dim=1) if c else passive
        parameters = self._predict_parameters(predictor, conditioner_input)
        transformer = self._transformer_for(passive, c)
        y, log_det = transformer._transform(
            x, transformer.unflatten_parameters(x, parameters), inverse
        )
        parts[0] = torch.where(keep, x, y)
        if transformer.volume_preserving:
            return x.new_zeros(x.shape[0])
        return sum_except_batch(torch.where(keep, log_det.new_zeros(()), log_det))

    def extra_repr(self) -> str:
        """The part rule and sidedness, shown in the module's repr."""
        if self.element_mask:
            rule = "element mask"
        else:
            rule = f"passive part {self.passive_part}, lengths {self.part_lengths}"
        return f"{rule}, two_sided={self.two_sided}"


def _required_positional(fn: Callable) -> int:
    """The number of positional parameters ``fn`` requires (2 for ``*args``)."""
    try:
        parameters = inspect.signature(fn).parameters.values()
    except (TypeError, ValueError):
        return 0
    count = 0
    for p in parameters:
        if p.kind is p.VAR_POSITIONAL:
            return 2
        if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD) and p.default is p.empty:
            count += 1
    return count
