"""FrEIA's deprecated container names: ``ReversibleGraphNet`` and ``ReversibleSequential``."""

from __future__ import annotations

import warnings
from typing import Any

from ..errors import ModuleArgumentError
from .graph import GraphINN
from .sequence import SequenceINN

__all__ = ["ReversibleGraphNet", "ReversibleSequential"]


class ReversibleGraphNet(GraphINN):
    """Deprecated name of :class:`GraphINN`; ``ind_in`` and ``ind_out`` were removed in v0.3.

    Raises:
        ModuleArgumentError: If ``ind_in`` or ``ind_out`` is given.
    """

    def __init__(
        self,
        node_list: Any,
        ind_in: Any = None,
        ind_out: Any = None,
        verbose: bool = True,
        force_tuple_output: bool = False,
    ) -> None:
        warnings.warn("ReversibleGraphNet is deprecated in favour of GraphINN.",
                      DeprecationWarning, stacklevel=2)
        for name, value in (("ind_in", ind_in), ("ind_out", ind_out)):
            if value is not None:
                raise ModuleArgumentError(
                    f"ReversibleGraphNet's {name} was removed in v0.3: use InputNodes and "
                    f"OutputNodes with GraphINN instead."
                )
        super().__init__(node_list, force_tuple_output=force_tuple_output, verbose=verbose)

    def forward(
        self,
        x_or_z: Any,
        c: Any = None,
        rev: bool = False,
        jac: bool = True,
        intermediate_outputs: bool = False,
    ) -> tuple[Any, Any]:
        """Warn that the return value is ``(output, log_jac_det)`` now, then run the graph."""
        warnings.warn("ReversibleGraphNet.forward() returns a tuple (output, log_jac_det).",
                      DeprecationWarning, stacklevel=2)
        return super().forward(x_or_z, c, rev, jac, intermediate_outputs)


class ReversibleSequential(SequenceINN):
    """Deprecated name of :class:`SequenceINN`."""

    def __init__(self, *dims: int) -> None:
        warnings.warn("ReversibleSequential is deprecated in favour of SequenceINN.",
                      DeprecationWarning, stacklevel=2)
        super().__init__(*dims)
