"""Keyword-argument checks of constructors: unknown keywords name the class and the closest match.

Python reports a misspelt keyword as ``TypeError: _OneNetPerHalf.__init__() got an unexpected
keyword argument 'clmap'``: a private base class, no list of what is accepted, no suggestion.
:func:`check_keywords` replaces this with an :class:`~inn.errors.ArgumentTypeError` (also a
``TypeError``) naming the public class, listing every accepted keyword and suggesting the
closest (``difflib``). ``InvertibleModule`` and the graph nodes call it from ``__new__``, which
sees the keywords before any ``__init__`` runs and adds no frame between the caller and
``__init__`` (so ``warnings.warn(..., stacklevel=2)`` in constructors still points at the
caller); ``SequenceINN.append`` calls it with its own keywords added.
"""

from __future__ import annotations

import difflib
import inspect
from collections.abc import Callable, Iterable
from typing import Any

import torch.nn as nn

from .errors import ArgumentTypeError

__all__ = ["CheckedNew", "accepted_keywords", "check_arguments", "check_keywords"]

_ACCEPTED: dict[type, tuple[str, ...] | None] = {}
_NAMED = (inspect.Parameter.POSITIONAL_OR_KEYWORD, inspect.Parameter.KEYWORD_ONLY)


def _init_of(cls: type) -> Callable | None:
    init = cls.__dict__.get("__init__")
    return getattr(init, "__wrapped__", init)


def accepted_keywords(cls: type) -> tuple[str, ...] | None:
    """The keywords ``cls(...)`` accepts, following ``**kwargs`` up the MRO; ``None`` if open.

    A constructor that forwards ``**kwargs`` accepts what the next ``__init__`` in the MRO
    accepts. The set is open (``None``) if the chain ends in a ``**kwargs`` that is not forwarded
    to another ``__init__`` of the chain, or a signature cannot be read.

    Example:
        >>> from inn.modules import PermuteRandom
        >>> accepted_keywords(PermuteRandom)
        ('dims_in', 'dims_c', 'seed')
    """
    if cls in _ACCEPTED:
        return _ACCEPTED[cls]
    names: list[str] = []
    result: tuple[str, ...] | None = None
    for klass in cls.__mro__:
        init = _init_of(klass)
        if init is None:
            continue
        if klass is object or klass is nn.Module:
            break  # the chain reached nn.Module, whose **kwargs accept nothing we could name
        try:
            parameters = list(inspect.signature(init).parameters.values())[1:]
        except (TypeError, ValueError):
            break
        names += [p.name for p in parameters if p.kind in _NAMED and p.name not in names]
        if not any(p.kind is inspect.Parameter.VAR_KEYWORD for p in parameters):
            result = tuple(names)
            break
    _ACCEPTED[cls] = result
    return result


def check_keywords(
    cls: type, given: Iterable[str], *, context: str | None = None,
    extra: Iterable[str] = (), hidden: Iterable[str] = (),
) -> None:
    """Raise if ``given`` holds a keyword that ``cls(...)`` does not accept.

    Args:
        cls: The class to be constructed.
        given: The keyword names passed.
        context: Who constructs, for the message (default: ``cls.__name__``).
        extra: Keywords accepted besides the constructor's (``cond`` of ``append``).
        hidden: Accepted keywords to leave out of the message (set by the caller).

    Raises:
        ArgumentTypeError: Naming the unknown keyword, the closest accepted one and the list.

    Example:
        >>> from inn.modules import PermuteRandom
        >>> check_keywords(PermuteRandom, ["sead"])
        Traceback (most recent call last):
        ...
        inn.errors.ArgumentTypeError: PermuteRandom got an unexpected keyword argument 'sead'; did you mean 'seed'? Accepted keywords: dims_in, dims_c, seed.
    """  # noqa: E501
    accepted = accepted_keywords(cls)
    if accepted is None:
        return
    known = [*accepted, *(e for e in extra if e not in accepted)]
    unknown = [name for name in given if name not in known]
    if not unknown:
        return
    shown = [name for name in known if name not in set(hidden)]
    close = difflib.get_close_matches(unknown[0], shown, n=1, cutoff=0.6)
    hint = f"; did you mean {close[0]!r}?" if close else "."
    who = context or cls.__name__
    raise ArgumentTypeError(
        f"{who} got an unexpected keyword argument {unknown[0]!r}{hint} Accepted keywords: "
        f"{', '.join(shown)}."
    )


_SIGNATURES: dict[type, inspect.Signature | None] = {}


def check_arguments(cls: type, args: tuple, kwargs: dict) -> None:
    """Check a constructor call: unknown keywords, missing required and surplus arguments.

    Raises:
        ArgumentTypeError: For an unknown keyword (see :func:`check_keywords`), a missing
            required argument or too many positional ones, naming the public class.

    Example:
        >>> from inn.modules import GLOWCouplingBlock
        >>> check_arguments(GLOWCouplingBlock, (), {"subnet_constructor": None})
        Traceback (most recent call last):
        ...
        inn.errors.ArgumentTypeError: GLOWCouplingBlock(...): missing a required argument: 'dims_in'.
    """  # noqa: E501
    if kwargs:
        check_keywords(cls, kwargs)
    if cls not in _SIGNATURES:
        init = next((_init_of(k) for k in cls.__mro__ if _init_of(k) is not None), None)
        try:
            _SIGNATURES[cls] = inspect.signature(init)
        except (TypeError, ValueError):
            _SIGNATURES[cls] = None
    signature = _SIGNATURES[cls]
    if signature is None:
        return
    try:
        signature.bind(None, *args, **kwargs)
    except TypeError as error:
        raise ArgumentTypeError(f"{cls.__name__}(...): {error}.") from None


class CheckedNew:
    """The ``__new__`` of ``InvertibleModule`` and the graph nodes: checks the call first.

    It runs :func:`check_arguments` before any ``__init__``, adding no frame between the caller
    and ``__init__``. It is a callable object rather than a function, so that documentation
    tools (Sphinx autodoc) show the signature of ``__init__``, not ``(*args, **kwargs)``. Calls
    without arguments (``copy`` and ``pickle`` call ``cls.__new__(cls)``) are not checked.
    """

    def __call__(self, cls: type, *args: Any, **kwargs: Any) -> Any:
        """Check the constructor arguments of ``cls`` and create the bare instance."""
        if args or kwargs:
            check_arguments(cls, args, kwargs)
        return object.__new__(cls)
