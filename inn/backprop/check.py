"""``check_recomputation``: compare the inputs that backward rebuilds with the true ones."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from torch import Tensor

from ..errors import RecomputationError

__all__ = ["RecomputationReport", "active_check", "check_recomputation"]

_ACTIVE: list[check_recomputation] = []


@dataclass(frozen=True)
class RecomputedBlock:
    """The reconstruction error of one block's inputs in one backward pass."""

    block: str
    max_abs_error: float
    relative_error: float


@dataclass
class RecomputationReport:
    """Every block whose inputs were rebuilt by inversion, in backward order."""

    blocks: list[RecomputedBlock] = field(default_factory=list)

    @property
    def max_relative_error(self) -> float:
        r""":math:`\max_k \|\hat x_k - x_k\|_\infty / \|x_k\|_\infty` over the blocks, or 0."""
        return max((b.relative_error for b in self.blocks), default=0.0)


class check_recomputation:
    r"""Debug switch: memory-efficient calls made inside keep their true inputs too.

    During backward, each input rebuilt by inverting a block is compared with the value the
    forward pass saw, :math:`\|\hat x - x\|_\infty / \|x\|_\infty`, and recorded in the
    report the context manager returns. With ``rtol``, a larger error raises
    :class:`~inn.errors.RecomputationError` naming the block. Forward passes made inside the
    context are checked, whenever their backward runs. It costs the memory that
    ``memory_efficient=True`` saves, so use it to debug, not to train.

    Args:
        rtol: Raise when a block's relative error exceeds this; ``None`` only records.

    Example:
        >>> import torch, torch.nn as nn
        >>> import inn.framework as Ff, inn.modules as Fm
        >>> net = Ff.SequenceINN(4, memory_efficient=True)
        >>> for _ in range(3):
        ...     net.append(Fm.GLOWCouplingBlock, subnet_constructor=nn.Linear)
        >>> with check_recomputation(rtol=1e-4) as report:
        ...     z, log_jac_det = net(torch.randn(8, 4))
        ...     (z.square().sum() - log_jac_det.sum()).backward()
        >>> len(report.blocks), report.max_relative_error < 1e-4
        (3, True)
    """

    def __init__(self, rtol: float | None = None) -> None:
        self.rtol = rtol
        self.report = RecomputationReport()

    def __enter__(self) -> RecomputationReport:
        _ACTIVE.append(self)
        return self.report

    def __exit__(self, *exc: Any) -> None:
        _ACTIVE.remove(self)

    def compare(self, block: str, rebuilt: tuple, true: tuple) -> None:
        """Record (and with ``rtol``, check) the error of one block's rebuilt inputs."""
        max_abs, relative = 0.0, 0.0
        for a, b in zip(rebuilt, true, strict=True):
            if not (isinstance(a, Tensor) and a.is_floating_point()) or a.numel() == 0:
                continue
            error = float((a.detach() - b.detach()).abs().max())
            scale = float(b.detach().abs().max())
            max_abs = max(max_abs, error)
            relative = max(relative, error / scale if scale > 0 else error)
        if not (relative == relative):  # NaN
            relative = float("inf")
        self.report.blocks.append(RecomputedBlock(block, max_abs, relative))
        if self.rtol is not None and relative > self.rtol:
            raise RecomputationError(
                f"{block}: the inputs rebuilt by inverting the block differ from the true ones "
                f"by {relative:.3g} (relative, max abs {max_abs:.3g}), more than rtol="
                f"{self.rtol:g}; the block's inverse is not exact enough for "
                f"memory_efficient=True (declare exact_inverse = False to keep its inputs)."
            )


def active_check() -> check_recomputation | None:
    """The innermost active :class:`check_recomputation`, or ``None``."""
    return _ACTIVE[-1] if _ACTIVE else None

