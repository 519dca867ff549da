"""Loading FrEIA ``GraphINN`` checkpoints whose ``module_list`` order differs from ``inn``'s.

``inn`` orders ``GraphINN.module_list`` as FrEIA does, so a plain ``load_state_dict`` works for
every graph where FrEIA's order is deterministic. Where FrEIA breaks a tie by iterating a set
(two branches that end in the same node, e.g. ``Concat(side, main)``), its order varies between
runs; :func:`load_freia_state_dict` then matches the checkpoint's modules to the graph's by
type and parameter shapes, in graph order.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Mapping
from typing import Any

import torch.nn as nn
from torch import Tensor

from ..errors import ModuleArgumentError

__all__ = ["load_freia_state_dict"]

_BLOCK_KEY = re.compile(r"^module_list\.(\d+)\.(.+)$")


def load_freia_state_dict(net: nn.Module, source: Mapping[str, Tensor] | nn.Module) -> list[int]:
    r"""Load a FrEIA ``GraphINN`` state dict into the ``inn`` graph ``net``.

    First a plain ``net.load_state_dict(state_dict, strict=True)``. If that fails, each block of
    ``net`` (in ``module_list`` order) takes the first unused block of the checkpoint whose
    parameters and buffers it loads with ``strict=True`` (same names and shapes, FrEIA's legacy
    names included) and, when ``source`` is a FrEIA network rather than a state dict, whose
    class has the same name. Blocks of the same type and shapes thus keep their relative order.

    Args:
        net: An ``inn`` ``GraphINN`` with the checkpoint's architecture.
        source: A FrEIA ``GraphINN`` state dict (keys ``module_list.<i>.<name>``), or the FrEIA
            network itself.

    Returns:
        For each block of ``net``, the index of the checkpoint block loaded into it (the
        identity when the plain load worked); ``-1`` for blocks without state.

    Raises:
        ModuleArgumentError: If a key is not a ``module_list`` entry, or some block of either
            side finds no partner.

    Example:
        >>> import inn.framework as Ff, inn.modules as Fm
        >>> x = Ff.InputNode(2)
        >>> p = Ff.Node(x, Fm.PermuteRandom, {"seed": 0})
        >>> net = Ff.GraphINN([x, p, Ff.OutputNode(p)])
        >>> load_freia_state_dict(net, net.state_dict())
        [0]
    """
    types = None
    if isinstance(source, nn.Module):
        types = [type(m).__name__ for m in getattr(source, "module_list", [])]
        source = source.state_dict()
    try:
        net.load_state_dict(dict(source), strict=True)
        return [i if _has_state(m) else -1 for i, m in enumerate(net.module_list)]
    except RuntimeError:
        pass
    blocks = _group_by_block(source)
    mapping, remapped = [], {}
    unused = sorted(blocks)
    for index, module in enumerate(net.module_list):
        if not _has_state(module):
            mapping.append(-1)
            continue
        match = next((b for b in unused if _fits(module, blocks[b], types, b)), None)
        if match is None:
            raise ModuleArgumentError(
                f"load_freia_state_dict: no block of the checkpoint fits block {index} "
                f"({type(module).__name__}) with keys {sorted(module.state_dict())}."
            )
        unused.remove(match)
        mapping.append(match)
        remapped.update({f"module_list.{index}.{k}": v for k, v in blocks[match].items()})
    if unused:
        raise ModuleArgumentError(
            f"load_freia_state_dict: checkpoint blocks {unused} match no block of the graph."
        )
    net.load_state_dict(remapped, strict=True)
    return mapping


def _group_by_block(state_dict: Mapping[str, Tensor]) -> dict[int, dict[str, Tensor]]:
    blocks: dict[int, dict[str, Tensor]] = {}
    for key, value in state_dict.items():
        found = _BLOCK_KEY.match(key)
        if found is None:
            raise ModuleArgumentError(
                f"load_freia_state_dict: key {key!r} is not of the form "
                f"'module_list.<index>.<name>' of a FrEIA GraphINN state dict."
            )
        blocks.setdefault(int(found.group(1)), {})[found.group(2)] = value
    return blocks


def _has_state(module: nn.Module) -> bool:
    return bool(module.state_dict())


def _fits(module: nn.Module, block: dict[str, Tensor], types: Any, index: int) -> bool:
    if types is not None and index < len(types) and types[index] != type(module).__name__:
        return False
    own = module.state_dict()
    if own.keys() == block.keys():
        return all(own[k].shape == block[k].shape for k in own)
    try:  # legacy names (e.g. FrEIA's ActNorm scale/bias) translate when loading
        copy.deepcopy(module).load_state_dict(dict(block), strict=True)
    except (RuntimeError, KeyError, ValueError):
        return False
    return True
