"""Shared helpers: shape aliases and coercion, reductions, device moves, tuple-free calls.

The public names are FrEIA's ``FrEIA.utils``; the shape helpers are used across ``inn``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import Any, TypeAlias

import torch
from torch import Tensor
from torch.utils.data import DataLoader, TensorDataset

from .errors import ArgumentTypeError, InputTypeError, ModuleArgumentError
from .plotting import plot_graph

__all__ = [
    "Shape",
    "ShapeList",
    "as_tuple",
    "describe_kind",
    "f_except",
    "force_to",
    "format_shape",
    "normalize_dims",
    "output_dims_compatible",
    "plot_graph",
    "sum_except",
    "sum_except_batch",
    "tuple_free_batch_forward",
    "tuple_free_forward",
]

Shape: TypeAlias = tuple[int, ...]
ShapeList: TypeAlias = list[Shape]


def normalize_dims(dims: Any) -> ShapeList:
    """Coerce a dims specification into a list of int tuples.

    Args:
        dims: ``None``, or an iterable of shapes; each shape an iterable of int-likes
            (``tuple``, ``list``, ``torch.Size``).

    Returns:
        A new ``list[tuple[int, ...]]``; ``None`` gives ``[]``.

    Raises:
        ArgumentTypeError: (a ``TypeError``) If ``dims`` or one of its shapes is not iterable,
            or an entry is no int. A bare int where a shape belongs gets a hint to wrap the shape
            in a list.

    Example:
        >>> normalize_dims([torch.Size([3, 2]), [4]])
        [(3, 2), (4,)]
        >>> normalize_dims(None)
        []
    """
    if dims is None:
        return []
    problem = f"Invalid dimension specification {dims!r}: expected a list of int tuples, but"
    if isinstance(dims, str) or _is_int_like(dims):
        raise ArgumentTypeError(
            f"{problem} it is a single {type(dims).__name__}; write the shapes as a list of "
            f"tuples, e.g. [(4,)] or [(3, 32, 32)]."
        )
    try:
        shapes = list(dims)
    except TypeError:
        raise ArgumentTypeError(f"{problem} it cannot be iterated.") from None
    result = []
    for shape in shapes:
        try:
            entries = list(shape)
        except TypeError:
            hint = ""
            if _is_int_like(shape):
                hint = f" Even a single shape must be wrapped in a list, e.g. [({shape},)]."
            raise ArgumentTypeError(
                f"{problem} its entry {shape!r} cannot be iterated.{hint}") from None
        if isinstance(shape, str):
            raise ArgumentTypeError(f"{problem} its entry {shape!r} is a string.")
        for entry in entries:
            if not _is_int_like(entry) or int(entry) < 0:
                raise ArgumentTypeError(
                    f"{problem} {entry!r} in {shape!r} is not a non-negative int.")
        result.append(tuple(int(entry) for entry in entries))
    return result


def _is_int_like(value: Any) -> bool:
    if isinstance(value, bool):
        return False
    if isinstance(value, Tensor):
        return value.dim() == 0 and not value.is_floating_point()
    try:
        return int(value) == value
    except (TypeError, ValueError):
        return False


def as_tuple(values: Any, what: str = "input", owner: Any = None) -> tuple:
    """Coerce call arguments into a tuple: a tensor becomes a 1-tuple and ``None`` an empty one.

    Args:
        values: ``None``, a tensor, or a list or tuple (of tensors, checked later).
        what: ``"input"`` or ``"condition"``, for the message.
        owner: The module called (or its name), for the message.

    Raises:
        InputTypeError: For anything else (a numpy array, a dict, a number, a string), which
            would otherwise be iterated into rows, keys or characters.

    Example:
        >>> as_tuple(None), len(as_tuple(torch.zeros(2))), as_tuple([1, 2])
        ((), 1, (1, 2))
    """
    if values is None:
        return ()
    if isinstance(values, Tensor):
        return (values,)
    if isinstance(values, tuple):
        return values
    if isinstance(values, list):
        return tuple(values)
    name = owner if isinstance(owner, str) or owner is None else type(owner).__name__
    raise InputTypeError(
        f"{name + ' ' if name else ''}{what}s: expected a tensor or a list/tuple of tensors, "
        f"got {describe_kind(values)}."
    )


def describe_kind(value: Any) -> str:
    """Name a non-tensor value and say how to turn it into what ``inn`` expects.

    Example:
        >>> describe_kind({"x": 1})
        'a dict (pass the tensors as a list, in the order of the InputNodes / ConditionNodes)'
    """
    module = type(value).__module__
    if module == "numpy" and hasattr(value, "shape"):
        return (f"a numpy array of shape {tuple(value.shape)} (convert it with "
                f"torch.as_tensor(array, dtype=torch.float32))")
    if isinstance(value, dict):
        return ("a dict (pass the tensors as a list, in the order of the InputNodes / "
                "ConditionNodes)")
    if isinstance(value, (int, float, complex)) and not isinstance(value, bool):
        return (f"a number ({value!r}; pass a tensor, "
                f"e.g. torch.as_tensor(values, dtype=torch.float32))")
    if isinstance(value, (list, tuple)):
        return (f"a {type(value).__name__} (a nested list; pass a tensor, "
                f"e.g. torch.as_tensor(values, dtype=torch.float32))")
    name = type(value).__name__
    return f"{'an' if name[0] in 'aeiouAEIOU' else 'a'} {name}"


def format_shape(shape: Sequence[Any], batch: Any = "B") -> str:
    """Write a shape with its batch axis, as in error messages.

    Example:
        >>> format_shape((3, 32), batch="B"), format_shape((5,), batch=None)
        ('(B, 3, 32)', '(5,)')
    """
    entries = [str(batch)] if batch is not None else []
    entries += [str(int(d)) for d in shape]
    if len(entries) == 1:
        return f"({entries[0]},)"
    return "(" + ", ".join(entries) + ")"


def f_except(f: Callable[..., Tensor], x: Tensor, *dim: int, **kwargs: Any) -> Tensor:
    """Apply the reduction ``f`` over every axis of ``x`` except those in ``dim``.

    Raises:
        ModuleArgumentError: If no axis is left to reduce over.

    Example:
        >>> f_except(torch.sum, torch.ones(2, 3, 4), 0)
        tensor([12., 12.])
    """
    dims = [d for d in range(x.dim()) if d not in dim and d - x.dim() not in dim]
    if not dims:
        raise ModuleArgumentError(
            f"Cannot exclude dims {dim} from x with shape {tuple(x.shape)}: no dimension is left."
        )
    return f(x, dim=dims, **kwargs)


def sum_except(x: Tensor, *dim: int) -> Tensor:
    """Sum ``x`` over every axis except those in ``dim``."""
    return f_except(torch.sum, x, *dim)


def sum_except_batch(x: Tensor) -> Tensor:
    """Sum ``x`` over every axis except the first (batch) axis; a 1-d ``x`` is returned as is.

    Example:
        >>> sum_except_batch(torch.ones(2, 3, 4))
        tensor([12., 12.])
    """
    if x.dim() == 1:
        return x
    return x.flatten(1).sum(1)


def force_to(obj: Any, *args: Any, **kwargs: Any) -> Any:
    """Recursively apply ``.to(*args, **kwargs)`` to every tensor inside ``obj``.

    Lists, dicts and objects' ``__dict__`` are changed in place; tuples are rebuilt.

    Returns:
        ``obj``, or the moved tensor when ``obj`` is a tensor.

    Raises:
        ModuleArgumentError: If the structure references itself.
    """
    in_progress: set[int] = set()

    def move(item: Any) -> Any:
        if isinstance(item, Tensor):
            return item.to(*args, **kwargs)
        if not isinstance(item, (dict, list, tuple)) and not hasattr(item, "__dict__"):
            return item
        if id(item) in in_progress:
            raise ModuleArgumentError("force_to cannot move a self-referential structure.")
        in_progress.add(id(item))
        if isinstance(item, dict):
            for key, value in item.items():
                item[key] = move(value)
        elif isinstance(item, list):
            for i, value in enumerate(item):
                item[i] = move(value)
        elif isinstance(item, tuple):
            item = tuple(move(value) for value in item)
        else:
            move(item.__dict__)
        in_progress.discard(id(item))
        return item

    return move(obj)


def _is_tuple_module(module: Any) -> bool:
    return getattr(module, "force_tuple_output", True)


def output_dims_compatible(module: Any) -> ShapeList:
    """Return the output shapes of any invertible module, containers included."""
    return list(module.output_dims(module.dims_in))


def tuple_free_forward(
    module: Any, data: Tensor, *args: Any, **kwargs: Any
) -> tuple[Tensor, Tensor | None]:
    """Call ``module`` on a bare tensor, wrapping and unwrapping the 1-tuple where it needs one.

    Modules without a ``force_tuple_output`` attribute count as tuple modules.
    """
    tuple_module = _is_tuple_module(module)
    out, log_jac_det = module((data,) if tuple_module else data, *args, **kwargs)
    if tuple_module:
        (out,) = out
    return out, log_jac_det


def tuple_free_batch_forward(
    module: Any,
    data: Tensor,
    batch_size: int,
    loader_kwargs: dict | None = None,
    device: torch.device | str | None = None,
    **forward_kwargs: Any,
) -> tuple[Tensor, Tensor | None]:
    """Run :func:`tuple_free_forward` over ``data`` in batches and concatenate the results.

    CPU data goes through a ``DataLoader(**loader_kwargs)`` (useful to pin memory); other data is
    split directly. Each batch is moved to ``device`` (default: the data's device), and results are
    gathered on the data's device.

    Returns:
        ``(out, log_jac_det)``; ``log_jac_det`` is ``None`` if any batch returned ``None``.

    Raises:
        ModuleArgumentError: If ``loader_kwargs`` is given for non-CPU data.
    """
    loader_kwargs = dict(loader_kwargs or {})
    if data.device.type == "cpu":
        loader = DataLoader(TensorDataset(data), batch_size, **loader_kwargs)
        batches: Iterable = (batch for (batch,) in loader)
    elif loader_kwargs:
        raise ModuleArgumentError("loader_kwargs can only be used with data on the CPU.")
    else:
        batches = data.split(batch_size)
    outs, log_dets = [], []
    for batch in batches:
        target = batch if device is None else batch.to(device)
        out, log_jac_det = tuple_free_forward(module, target, **forward_kwargs)
        outs.append(out.to(data.device))
        log_dets.append(None if log_jac_det is None else log_jac_det.to(data.device))
    if any(ld is None for ld in log_dets):
        return torch.cat(outs), None
    return torch.cat(outs), torch.cat(log_dets)
