"""Regional compilation of containers: ``compile_blocks`` compiles each block on its own."""

from __future__ import annotations

import types
from typing import Any

import torch
import torch.nn as nn

__all__ = ["RegionalCompilation", "compile_blocks"]


def _call_forward(module: nn.Module, *args: Any, **kwargs: Any) -> Any:
    return type(module).forward(module, *args, **kwargs)


def _forward_of(cls: type, compile_kwargs: dict) -> Any:
    """``cls.forward`` compiled through a function with a code object of its own.

    Dynamo keeps its compiled graphs, and its limit of recompilations (8), per code object.
    Every built-in block runs the same ``InvertibleModule.forward``, so compiling the blocks'
    ``forward`` directly would make the block classes of a network share one budget that a
    few classes, directions and grad modes exhaust (dynamo then falls back to eager). A copy
    of the code per class gives each its own cache and budget.
    """
    code = _call_forward.__code__.replace(co_name=f"{cls.__name__}_block")
    function = types.FunctionType(code, _call_forward.__globals__, code.co_name)
    return torch.compile(function, **compile_kwargs)


def compile_blocks(container: Any, **compile_kwargs: Any) -> None:
    """Compile every block of ``container`` in place (see ``RegionalCompilation``).

    Each block gets an instance ``forward`` that runs its class's ``forward`` compiled, shared
    by all blocks of that class; nested containers compile their own blocks rather than
    themselves, so identical blocks at any depth share one compiled graph.
    """
    compiled: dict[type, Any] = {}
    for block in _blocks(container):
        cls = type(block)
        if cls not in compiled:
            compiled[cls] = _forward_of(cls, compile_kwargs)
        block.forward = types.MethodType(compiled[cls], block)


def _blocks(container: Any) -> list[nn.Module]:
    """The blocks of ``container`` and of the containers nested in it, depth first."""
    blocks = []
    for block in container.module_list:
        if isinstance(block, RegionalCompilation):
            blocks += _blocks(block)
        elif isinstance(block, nn.Module):
            blocks.append(block)
    return blocks


class RegionalCompilation:
    """Adds :meth:`compile_blocks` to ``SequenceINN`` and ``GraphINN``."""

    module_list: nn.ModuleList

    def compile_blocks(self, **compile_kwargs: Any) -> Any:
        r"""Compile each block on its own (regional compilation) and return the container.

        ``torch.compile`` traces one block at a time. Blocks of the same class and
        configuration share one compiled graph, because dynamo guards on a module's structure
        and passes its parameters as graph inputs, so the compile time of a stack of identical
        blocks does not grow with its depth. The container itself keeps running eagerly:
        its per-block Python (the loop, the log-det sum, the input checks) stays outside the
        graphs.

        Use it for deep stacks of repeated blocks, where compiling the whole network with
        ``torch.compile(net)`` would trace, and build kernels for, every block again. Compile
        the whole network instead when its blocks are few or all different, or when the
        per-block Python between graphs matters (small tensors, many tiny blocks): one graph
        then fuses across blocks and runs without any Python. Either way, pass
        ``dynamic=True`` to compile once for all batch sizes.

        Args:
            **compile_kwargs: Passed to ``nn.Module.compile`` of every block (``backend``,
                ``mode``, ``dynamic``, ``fullgraph``, ...).

        Returns:
            The container itself, now running compiled blocks.

        Example:
            >>> import torch, torch.nn as nn
            >>> import inn.framework as Ff, inn.modules as Fm
            >>> net = Ff.SequenceINN(4)
            >>> for _ in range(3):
            ...     net.append(Fm.GLOWCouplingBlock, subnet_constructor=nn.Linear)
            >>> net = net.compile_blocks(backend="eager", dynamic=True)
            >>> z, log_jac_det = net(torch.randn(8, 4))
            >>> z.shape, log_jac_det.shape
            (torch.Size([8, 4]), torch.Size([8]))
        """
        compile_blocks(self, **compile_kwargs)
        return self
