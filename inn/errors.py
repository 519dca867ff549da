"""The single error family of ``inn``.

Every error ``inn`` raises on purpose derives from :class:`InnError`. Each class also derives from
the builtin that FrEIA raises in the same situation, so ``except ValueError`` (or ``TypeError``,
``RuntimeError``) code written for FrEIA keeps working::

    InnError(Exception)
    ├── GraphError(InnError, ValueError)            bad graph structure, found at construction
    │   ├── CycleError(GraphError)
    │   └── DanglingError(GraphError, TypeError)     unconsumed outputs, nodes reaching no output
    ├── NodeTypeError(InnError, TypeError)           a wrong object where a node or edge belongs
    ├── ModuleArgumentError(InnError, ValueError)    bad constructor arguments
    │   └── ArgumentTypeError(ModuleArgumentError, TypeError)  unknown keywords, non-list dims
    ├── InputCountError(InnError, ValueError)        wrong number of inputs at call time
    ├── ConditionError(InnError, ValueError, TypeError)  missing, extra or unused conditions
    ├── ShapeError(InnError, ValueError, RuntimeError)   wrong tensor shapes or batch sizes
    ├── RecomputationError(InnError, RuntimeError)   memory-efficient backward rebuilt wrong inputs
    ├── InputTypeError(InnError, TypeError, RuntimeError)  no tensor, wrong dtype or device
    ├── NonFiniteError(InnError, FloatingPointError)  NaN or Inf (set_validation("full"), fit)
    ├── BlockIndexError(InnError, IndexError)        a block index out of range
    ├── TorchScriptError(InnError, RuntimeError)     torch.jit.script is not supported
    └── ModuleCheckError(InnError, AssertionError)   inn.testing.check_module found failures
"""

from __future__ import annotations

__all__ = [
    "ArgumentTypeError",
    "BlockIndexError",
    "ConditionError",
    "CycleError",
    "DanglingError",
    "GraphError",
    "InnError",
    "InputCountError",
    "InputTypeError",
    "ModuleArgumentError",
    "ModuleCheckError",
    "NodeTypeError",
    "NonFiniteError",
    "RecomputationError",
    "ShapeError",
    "TorchScriptError",
    "with_context",
]


class InnError(Exception):
    """Root of every error that ``inn`` raises on purpose."""


class GraphError(InnError, ValueError):
    """A graph is malformed: a node is missing from the list, an output is consumed twice, ..."""


class CycleError(GraphError):
    """The graph has a cycle in the forward or in the reverse direction."""


class DanglingError(GraphError, TypeError):
    """An output is never consumed, or a node reaches no output."""


class NodeTypeError(InnError, TypeError):
    """An object of the wrong kind was given where a node or a node output is expected."""


class ModuleArgumentError(InnError, ValueError):
    """A module or container was constructed with invalid arguments."""


class ArgumentTypeError(ModuleArgumentError, TypeError):
    """A constructor got an unknown keyword, or dims that are not a list of shapes."""


class InputCountError(InnError, ValueError):
    """A module or network was called with the wrong number of inputs."""


class ConditionError(InnError, ValueError, TypeError):
    """Conditions are missing, superfluous, or supplied but used by no block."""


class ShapeError(InnError, ValueError, RuntimeError):
    """A tensor has the wrong shape or batch size."""


class ModuleCheckError(InnError, AssertionError):
    """:func:`inn.testing.check_module` found properties a module fails; lists all of them."""


class RecomputationError(InnError, RuntimeError):
    """Inputs rebuilt by inverting a block differ from the true ones beyond the tolerance.

    Raised only inside :func:`inn.backprop.check_recomputation`.
    """


class InputTypeError(InnError, TypeError, RuntimeError):
    """An input is no tensor (a numpy array, a dict, numbers), or has the wrong dtype or device.

    Also a ``RuntimeError``, which torch raises for dtype and device mismatches.
    """


class NonFiniteError(InnError, FloatingPointError):
    """A NaN or Inf: an input, output or log-det (``set_validation("full")``), or a fit's loss."""


class BlockIndexError(InnError, IndexError):
    """A ``SequenceINN`` block index is out of range."""


class TorchScriptError(InnError, RuntimeError):
    """``torch.jit.script`` is not supported; ``torch.compile`` and ``torch.export`` are."""


def with_context(error: BaseException, context: str) -> BaseException:
    """Return an error of the same type whose message starts with ``context``.

    Used by the containers to name the node in which an error happened without changing the
    error's type (``except ValueError`` still catches it). Errors whose type cannot be rebuilt
    from a single message are returned unchanged.

    Args:
        error: The error raised inside a module.
        context: Text to prepend, e.g. ``"Node 'coupling_3' (GLOWCouplingBlock)"``.

    Returns:
        The new error, to be raised ``from error``; or ``error`` itself.

    Example:
        >>> e = with_context(ValueError("bad value"), "Node 'a' (Split)")
        >>> type(e).__name__, str(e)
        ('ValueError', "Node 'a' (Split): bad value")
    """
    message = str(error.args[0]) if len(error.args) == 1 else str(error)
    if message.startswith(context):
        return error
    try:
        rebuilt = type(error)(f"{context}: {message}")
    except Exception:
        return error
    return rebuilt
