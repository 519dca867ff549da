"""``AllInOneBlock``: affine coupling, global affine scaling (ActNorm-like) and a permutation."""

from __future__ import annotations

import math
import warnings
from functools import partial
from numbers import Integral
from typing import Any

import torch
import torch.nn as nn
from torch import Tensor

from ...errors import ModuleArgumentError
from ...transformers import Affine
from ...validation import check_clamp
from ..base import Tensors
from ..householder import householder_reflect
from .all_in_one_functional import (
    GLOBAL_AFFINE_TYPES,
    channel_mix,
    global_affine,
    orthonormalized_if_inexact,
    permutation_index,
    random_channel_rotation,
    tanh_clamp_activation,
)
from .base import CouplingBase, SubnetConstructor

__all__ = ["AllInOneBlock"]

COUPLING_PRE_SCALE = 0.1  # FrEIA scales all subnet outputs by 0.1 before use; kept for parity
HOUSEHOLDER_INIT_STD = 0.2  # FrEIA's initial reflection vectors: 0.2 * randn
SOFT_PERMUTATION_WARN_CHANNELS = 512  # FrEIA warns above this many channels


class AllInOneBlock(CouplingBase):
    r"""FrEIA's all-in-one block: affine coupling, global affine scaling and a permutation.

    .. math::

        y = V R \big(\Psi(\gamma) \odot \mathrm{Coupling}(R^{-1} V^{-1} x) + \beta\big), \qquad
        \log|\det J| = \textstyle\sum s + N_{\mathrm{pos}} \sum_{\mathrm{ch}} \log \Psi(\gamma).

    The coupling splits ``C`` channels into ``x1`` (``C - C//2``) and ``x2`` (``C//2``),
    :math:`a = 0.1\,\mathrm{subnet}([x_1, c])`, :math:`s = \alpha \tanh(a_s / \alpha)` and
    :math:`y_2 = x_2 e^{s} + a_t`, :math:`y_1 = x_1`. The pre-permutation :math:`R^{-1}V^{-1}`
    applies with ``reverse_permutation``; :math:`V` with Householder reflections. ``R`` is a
    random channel permutation, or with ``permute_soft`` a Haar-random rotation of
    :math:`SO(C)`. Permutation matrices are buffers in the module's dtype; inverses are their
    exact transposes. FrEIA 0.2 state dicts (hard permutations stored as matrices, an unused
    ``global_scale`` of GIN blocks) load.

    FrEIA 0.2, the release on PyPI, clamps with :math:`s = \alpha \tanh(a_s)`, which also
    scales small log-scales by :math:`\alpha`; FrEIA fixed this in 2023 (commit ``ae74fd4``) to
    :math:`\alpha \tanh(a_s / \alpha)`, the formula above and the default here. The two agree
    for ``affine_clamping=1``; ``legacy_clamp=True`` selects FrEIA 0.2's formula so that its
    checkpoints give the same numbers for any ``affine_clamping``.

    Args:
        dims_in: One input shape ``(C,)``, ``(C, L)``, ``(C, H, W)`` or ``(C, D, H, W)``.
        dims_c: Condition shapes ``(c_i, *spatial)``.
        subnet_constructor: ``(c_in, c_out) -> nn.Module`` for ``subnet``
            (``C - C//2 + cc -> 2·(C//2)``).
        affine_clamping: :math:`\alpha`, the bound of the coupling log-scales.
        gin_block: Subtract the mean of :math:`s` over all non-batch axes and drop the global
            scale (:math:`\Psi \equiv 1`, no ``global_scale`` parameter): volume preserving.
        global_affine_init: The initial :math:`\Psi(\gamma_0)`.
        global_affine_type: ``"SOFTPLUS"`` (:math:`0.1\,\mathrm{softplus}_{0.5}`),
            ``"SIGMOID"`` (:math:`10\,\sigma(\gamma - 2)`) or ``"EXP"``.
        permute_soft: Use a random rotation instead of a hard permutation (warns above 512
            channels).
        learned_householder_permutation: ``k > 0`` learned reflections :math:`V` applied on top
            of the permutation matrix, hard or soft.
        reverse_permutation: Apply the inverse permutation before the coupling (Putzky et al.).
        legacy_clamp: Clamp as FrEIA 0.2 did, :math:`s = \alpha \tanh(a_s)`, to reproduce models
            trained with it; keyword only. The bound :math:`|s| < \alpha` holds either way.

    Raises:
        ModuleArgumentError: Without ``subnet_constructor``; for an unknown
            ``global_affine_type`` or an initial value outside its range; a non-positive
            ``affine_clamping``; data of rank above 4; condition spatial dims that differ.

    References:
        Ardizzone, Lüth, Kruse, Rother, Köthe. Guided Image Generation with Conditional
        Invertible Neural Networks. arXiv:1907.02392.

    Example:
        >>> import torch.nn as nn
        >>> block = AllInOneBlock([(4,)], subnet_constructor=nn.Linear, permute_soft=True)
        >>> x = torch.randn(3, 4)
        >>> (z,), log_jac_det = block([x])
        >>> (x_rec,), _ = block([z], rev=True)
        >>> torch.allclose(x, x_rec, atol=1e-6), log_jac_det.shape
        (True, torch.Size([3]))
    """

    _steps = ((1, "subnet"),)

    def __init__(
        self,
        dims_in: Any,
        dims_c: Any = None,
        subnet_constructor: SubnetConstructor | None = None,
        affine_clamping: float = 2.0,
        gin_block: bool = False,
        global_affine_init: float = 1.0,
        global_affine_type: str = "SOFTPLUS",
        permute_soft: bool = False,
        learned_householder_permutation: int = 0,
        reverse_permutation: bool = False,
        *,
        legacy_clamp: bool = False,
    ) -> None:
        super().__init__(dims_in, dims_c, transformer=None, split_len=0)
        owner = type(self).__name__
        shape = self.dims_in[0]
        if not 1 <= len(shape) <= 4:
            raise ModuleArgumentError(
                f"{owner}: data must be 1D-4D (C,), (C, L), (C, H, W) or (C, D, H, W), got "
                f"{len(shape)}D input shape {shape}."
            )
        constructor = self._require_subnet_constructor(subnet_constructor, owner)
        check_clamp(owner, "affine_clamping", affine_clamping, positive=True)
        channels = self.channels
        self.split_len1, self.split_len2 = channels - channels // 2, channels // 2
        self.splits = [self.split_len1, self.split_len2]
        self.in_channels = channels
        self.input_rank = len(shape) - 1
        self.sum_dims = tuple(range(1, 2 + self.input_rank))
        self.condition_channels = self.condition_length
        self.clamp = affine_clamping
        self.GIN = bool(gin_block)
        self.permute_soft = bool(permute_soft)
        self.householder = _count(owner, "learned_householder_permutation",
                                  learned_householder_permutation)
        self.reverse_pre_permute = bool(reverse_permutation)
        self._n_positions = math.prod(shape[1:])
        self.legacy_clamp = bool(legacy_clamp)
        # s = α·f(a) with f = tanh(a/α), or FrEIA 0.2's f = tanh(a)
        activation = "TANH" if self.legacy_clamp else partial(tanh_clamp_activation,
                                                               clamp=affine_clamping)
        self.transformer = Affine(
            affine_clamping, activation,
            center_log_scale="all" if self.GIN else None, pre_scale=COUPLING_PRE_SCALE,
        )
        self._init_global_affine(global_affine_type, global_affine_init)
        self._init_permutation()
        self.subnet = constructor(*self.subnet_dims(1))
        self.last_jac = None

    # -- construction ------------------------------------------------------------------------

    def _init_global_affine(self, global_affine_type: str, value: float) -> None:
        owner = type(self).__name__
        if global_affine_type not in GLOBAL_AFFINE_TYPES:
            raise ModuleArgumentError(
                f"{owner}: global_affine_type must be one of {sorted(GLOBAL_AFFINE_TYPES)}, "
                f"got {global_affine_type!r}."
            )
        activation, inverse, (low, high) = GLOBAL_AFFINE_TYPES[global_affine_type]
        if not low < value < high:
            raise ModuleArgumentError(
                f"{owner}: global_affine_init for {global_affine_type} must lie in "
                f"({low}, {high}), got {value!r}."
            )
        self.global_affine_type = global_affine_type
        self.global_scale_activation = activation
        param_shape = (1, self.channels, *[1] * self.input_rank)
        if not self.GIN:  # a GIN block has no global scale; no unused parameter is registered
            self.global_scale = nn.Parameter(torch.full(param_shape, float(inverse(value))))
        self.global_offset = nn.Parameter(torch.zeros(param_shape))

    def _init_permutation(self) -> None:
        channels = self.channels
        if self.permute_soft:
            if channels > SOFT_PERMUTATION_WARN_CHANNELS:
                warnings.warn(
                    f"AllInOneBlock: a soft permutation of {channels} channels is slow to apply; "
                    f"consider permute_soft=False.", stacklevel=3,
                )
        matrix, index = random_channel_rotation(channels, self.permute_soft)
        if self.householder:
            self.vk_householder = nn.Parameter(
                HOUSEHOLDER_INIT_STD * torch.randn(self.householder, channels)
            )
            self.register_buffer("w_0", matrix)
        elif self.permute_soft:
            kernel_shape = (channels, channels, *[1] * self.input_rank)
            self.register_buffer("w_perm", matrix.reshape(kernel_shape))
            self.register_buffer("w_perm_inv", matrix.T.reshape(kernel_shape))
        else:
            self.register_buffer("w_perm", index)
            self.register_buffer("w_perm_inv", torch.argsort(index))

    # -- the three pieces ----------------------------------------------------------------------

    def _rotation(self) -> Tensor | None:
        """The ``(C, C)`` matrix :math:`VR`; ``None`` for a hard permutation (index buffers)."""
        if self.householder:
            return householder_reflect(self.w_0, self.vk_householder)  # W0 · H1 ⋯ Hk
        if self.permute_soft:
            return self.w_perm.reshape(self.channels, self.channels)
        return None

    def _permute(self, x: Tensor, rotation: Tensor | None, inverse: bool) -> Tensor:
        if rotation is None:
            return x.index_select(1, self.w_perm_inv if inverse else self.w_perm)
        if inverse:
            if not self.householder:  # the stored exact transpose
                rotation = self.w_perm_inv.reshape(self.channels, self.channels)
            else:
                rotation = rotation.T
        return channel_mix(x, rotation)

    def _global_affine(self, x: Tensor, inverse: bool) -> tuple[Tensor, Tensor | None]:
        r"""Apply :math:`\Psi(\gamma) \odot x + \beta` (or its inverse) and its log-det."""
        scale = None if self.GIN else self.global_scale_activation(self.global_scale)
        return global_affine(x, scale, self.global_offset, self._n_positions, inverse)

    # -- the sweep -----------------------------------------------------------------------------

    def _forward(self, x: Tensors, c: Tensors, jac: bool) -> tuple[Tensors, Tensor]:
        rotation = self._rotation()
        h = x[0]
        if self.reverse_pre_permute:
            h = self._permute(h, rotation, inverse=True)
        (h,), log_jac_det = super()._forward((h,), c, jac)
        h, global_log_det = self._global_affine(h, inverse=False)
        h = self._permute(h, rotation, inverse=False)
        if global_log_det is not None:
            log_jac_det = log_jac_det + global_log_det
        return (h,), log_jac_det

    def _inverse(self, z: Tensors, c: Tensors, jac: bool) -> tuple[Tensors, Tensor]:
        rotation = self._rotation()
        h = self._permute(z[0], rotation, inverse=True)
        h, global_log_det = self._global_affine(h, inverse=True)
        (h,), log_jac_det = super()._inverse((h,), c, jac)
        if self.reverse_pre_permute:
            h = self._permute(h, rotation, inverse=False)
        if global_log_det is not None:
            log_jac_det = log_jac_det + global_log_det
        return (h,), log_jac_det

    # -- state ---------------------------------------------------------------------------------

    def _apply(self, fn: Any, recurse: bool = True) -> AllInOneBlock:
        result = super()._apply(fn, recurse)
        self._reorthonormalize()
        return result

    def _load_from_state_dict(self, state_dict: dict, prefix: str, *args: Any) -> None:
        if self.GIN:  # FrEIA registers an unused global_scale for GIN blocks
            state_dict.pop(prefix + "global_scale", None)
        if not (self.permute_soft or self.householder):
            for name in ("w_perm", "w_perm_inv"):  # FrEIA 0.2 stores hard permutations as matrices
                value = state_dict.get(prefix + name)
                if isinstance(value, Tensor) and value.is_floating_point() and value.dim() >= 2:
                    state_dict[prefix + name] = permutation_index(value, self.channels)
        super()._load_from_state_dict(state_dict, prefix, *args)
        self._reorthonormalize()

    def _reorthonormalize(self) -> None:
        """Re-orthonormalise a stored rotation whose dtype made it inexact (e.g. float32 -> 64)."""
        if not self.permute_soft:
            return
        stored = self.w_0 if self.householder else self.w_perm
        if not stored.is_floating_point():
            return
        fixed = orthonormalized_if_inexact(stored.reshape(self.channels, self.channels))
        if fixed is None:
            return
        with torch.no_grad():
            stored.copy_(fixed.reshape(stored.shape))
            if not self.householder:
                self.w_perm_inv.copy_(fixed.T.reshape(stored.shape))

    def extra_repr(self) -> str:
        """The block's options, shown in its repr."""
        return (f"affine_clamping={self.clamp}, gin_block={self.GIN}, "
                f"global_affine_type={self.global_affine_type!r}, "
                f"permute_soft={self.permute_soft}, "
                f"learned_householder_permutation={self.householder}, "
                f"reverse_permutation={self.reverse_pre_permute}"
                + (", legacy_clamp=True" if self.legacy_clamp else ""))


def _count(owner: str, name: str, value: Any) -> int:
    """``value`` if it is an int ``>= 0`` (``1.5`` would be truncated silently)."""
    if isinstance(value, bool) or not isinstance(value, Integral) or value < 0:
        raise ModuleArgumentError(f"{owner}: {name} must be an int >= 0, got {value!r}.")
    return int(value)
