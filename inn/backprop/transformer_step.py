r"""One coupling step's transformer in backward: rebuild its input, then re-run it with grad.

Given the step's output :math:`y` and the predicted parameters :math:`\theta` (with grad), the
backward pass needs the input :math:`x = \tau^{-1}(y; \theta)` as a new leaf and the re-run
:math:`\tau(x; \theta)` with its log-det, recorded by autograd. The general way runs the
transformer twice, once in each direction.

For :class:`~inn.transformers.Affine`, :math:`y = x e^{s} + t`, both directions need the same
:math:`e^{s}`, :math:`s = c \cdot f(u)`. It is computed once, with grad, and its value serves
the rebuild :math:`x = (y - t) / e^{s}`: one arctangent and one exponential per step instead
of two each. (The clamp's arctangent is the costliest elementwise operation of a GLOW step.)

Example:
    >>> from inn.transformers import Affine
    >>> tau = Affine(clamp=2.0)
    >>> parameters = torch.randn(3, 4, requires_grad=True)
    >>> y, _ = tau(torch.ones(3, 2), parameters)
    >>> x, y_again, log_det = rerun_step(tau, y.detach(), parameters, rev=False)
    >>> torch.allclose(x, torch.ones(3, 2)), y_again.requires_grad
    (True, True)
"""

from __future__ import annotations

import torch
from torch import Tensor

from ..transformers import Affine
from ..transformers.base import Transformer
from ..utils import sum_except_batch

__all__ = ["rerun_step"]


def rerun_step(
    transformer: Transformer, output: Tensor, parameters: Tensor, rev: bool,
) -> tuple[Tensor, Tensor, Tensor]:
    """Rebuild a step's input from its output, then re-run the step on it with grad.

    Args:
        transformer: The step's transformer.
        output: What the step returned in the executed direction (no grad).
        parameters: The predicted parameters, recorded by autograd.
        rev: Whether the step ran the transformer's inverse.

    Returns:
        ``(leaf, output_again, log_det)``: the rebuilt input as a leaf that requires grad, the
        re-run's output and its ``(B,)`` log-det, both recorded by autograd.
    """
    if _plain_affine(transformer, output, parameters):
        return _rerun_affine(transformer, output, parameters, rev)
    run, undo = (transformer.inverse, transformer.forward) if rev else \
        (transformer.forward, transformer.inverse)
    with torch.no_grad():
        before, _ = undo(output, parameters.detach())
    leaf = before.detach().requires_grad_()
    after, log_jac_det = run(leaf, parameters)
    return leaf, after, log_jac_det


def _plain_affine(transformer: Transformer, output: Tensor, parameters: Tensor) -> bool:
    """An ``Affine`` on ``Affine._run``'s fast path, without pre-scaling or centring."""
    if type(transformer) is not Affine or transformer.pre_scale != 1.0 \
            or transformer.center_log_scale is not None:
        return False
    shape, y_shape = parameters.shape, output.shape
    return (len(shape) == len(y_shape) and shape[0] == y_shape[0]
            and shape[1] == 2 * y_shape[1] and shape[2:] == y_shape[2:])


def _rerun_affine(
    transformer: Affine, output: Tensor, parameters: Tensor, rev: bool,
) -> tuple[Tensor, Tensor, Tensor]:
    r"""``rerun_step`` for an affine step, with :math:`e^{\pm s}` computed once.

    Forward steps: :math:`x = (y - t) / e^{s}` and :math:`y' = x e^{s} + t`. Inverse steps
    (the step computed :math:`y = (x - t) e^{-s}`): :math:`x = y / e^{-s} + t` and
    :math:`y' = (x - t) e^{-s}`.
    """
    raw, shift = parameters.chunk(2, 1)
    log_scale = transformer._log_scale(raw, negate=rev)  # -s for inverse steps
    scale = torch.exp(log_scale)
    shift_value, scale_value = shift.detach(), scale.detach()  # the rebuild is not recorded
    before = torch.add(output / scale_value, shift_value) if rev else \
        (output - shift_value) / scale_value
    leaf = before.requires_grad_()
    after = (leaf - shift) * scale if rev else torch.addcmul(shift, leaf, scale)
    log_det = log_scale.sum(1) if log_scale.dim() == 2 else sum_except_batch(log_scale)
    return leaf, after, log_det
