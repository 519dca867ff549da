"""Sphinx extension: writes the API reference pages from the ``__all__`` of every public module.

Every object is documented once, under the first namespace in ``NAMESPACES`` that exports it
(``inn.framework.GraphINN``, not also ``inn.GraphINN``); a second public name for the same object
becomes an "alias of" entry. Names that only implementation modules export (helpers of the
framework, the modules' pure maths) go to one "implementation modules" page, one section per
module, so every public name of every public module appears in the reference.
tests/test_docs.py checks the built pages against ``__all__``.
"""

import importlib
import inspect
import pkgutil
from pathlib import Path

import inn

# The namespaces a user imports, in the order of the reference; the first one that exports an
# object documents it. Namespaces that do not exist (yet) are skipped.
NAMESPACES = [
    ("inn", "The top-level package: ``Flow``, validation switches and re-exports"),
    ("inn.framework", "Nodes and containers: ``GraphINN``, ``SequenceINN``"),
    ("inn.modules", "Invertible modules"),
    ("inn.flows", "Ready-made flows (presets)"),
    ("inn.transformers", "Elementwise bijections with external parameters"),
    ("inn.transformers.functional", "Pure kernels of the transformers"),
    ("inn.nn", "Subnet constructors and MADE"),
    ("inn.distributions", "torch.distributions views of networks"),
    ("inn.flow_bases", "Base distributions of ``Flow``"),
    ("inn.datasets", "Toy densities and digits"),
    ("inn.training", "The training loop behind ``Flow.fit``"),
    ("inn.backprop", "Invertible backprop (``memory_efficient=True``)"),
    ("inn.distributed", "Helpers for ``torch.distributed``"),
    ("inn.testing", "Checks for your own modules"),
    ("inn.plot", "Plots of densities and samples"),
    ("inn.plotting", "Graph plots with graphviz"),
    ("inn.utils", "Utilities"),
    ("inn.errors", "The error family"),
]
# Documented first so that the top-level page keeps only what lives nowhere else (Flow, ...).
CANONICAL_ORDER = [name for name, _ in NAMESPACES[1:]] + ["inn"]
# Sorts before "inn...": Sphinx re-reads changed pages in name order, and an object that moves
# from this page to a namespace page must leave this page first (no duplicate description).
INTERNALS = "implementation"


def public_modules() -> list[str]:
    """Every importable module of ``inn`` whose dotted path has no part starting with ``_``."""
    names = ["inn"] + [
        info.name for info in pkgutil.walk_packages(inn.__path__, "inn.")
        if not any(part.startswith("_") for part in info.name.split("."))
    ]
    return sorted(names)


def _directive(obj: object) -> str | None:
    if inspect.ismodule(obj):
        return None
    if inspect.isclass(obj):
        return "autoclass"
    if inspect.isfunction(obj) or inspect.isbuiltin(obj):
        return "autofunction"
    return "autodata"


def _entry(namespace: str, name: str, obj: object, documented: dict[int, str]) -> str:
    directive = _directive(obj)
    if directive is None:
        return f"* :mod:`{obj.__name__}`\n"
    if id(obj) in documented:  # a second name for an object documented elsewhere
        # A bare name: the page's automodule has set the current module.
        return (f".. py:data:: {name}\n   :no-index-entry:\n\n"
                f"   Alias of :py:obj:`{documented[id(obj)]}`.\n")
    documented[id(obj)] = f"{namespace}.{name}"
    options = "   :members:\n   :show-inheritance:\n" if directive == "autoclass" else ""
    if directive == "autodata" and getattr(obj, "__doc__", None) == type(obj).__doc__:
        # A constant without its own docstring: autodoc would show its type's docstring.
        value = repr(obj)
        value = value if len(value) <= 80 else value[:77] + "..."
        return (f".. py:data:: {name}\n   :type: {type(obj).__name__}\n"
                f"   :value: {value}\n")
    return f".. {directive}:: {namespace}.{name}\n{options}"


def _plan(modules: list[str]) -> dict[str, list[str]]:
    """Which names each module's section documents; every object goes to its first owner."""
    owners: dict[int, str] = {}
    plan: dict[str, list[str]] = {}
    for namespace in [*CANONICAL_ORDER, *modules]:
        if namespace in plan or namespace not in modules:
            continue
        module = importlib.import_module(namespace)
        plan[namespace] = []
        for name in module.__all__:
            obj = getattr(module, name)
            same_object_elsewhere = owners.get(id(obj))
            if same_object_elsewhere is None or same_object_elsewhere.split(".")[-1] != name:
                plan[namespace].append(name)
                owners.setdefault(id(obj), f"{namespace}.{name}")
    return plan


def _section(namespace: str, names: list[str], documented: dict[int, str]) -> str:
    module = importlib.import_module(namespace)
    entries = [_entry(namespace, name, getattr(module, name), documented) for name in names]
    return "\n".join(entries)


def write_pages(app) -> None:
    """Write ``docs/api/*.rst`` (one page per namespace and the implementation modules)."""
    out = Path(app.srcdir) / "api"
    out.mkdir(exist_ok=True)
    modules = public_modules()
    plan = _plan(modules)
    documented: dict[int, str] = {}
    pages = {}
    for namespace in CANONICAL_ORDER:
        if namespace not in plan:
            continue
        header = f".. automodule:: {namespace}\n   :no-members:\n\n"
        pages[namespace] = header + _section(namespace, plan[namespace], documented)
    internal = [m for m in modules if m not in pages and plan.get(m)]
    sections = []
    for namespace in internal:
        body = _section(namespace, plan[namespace], documented)
        if body.strip():
            title = f"``{namespace}``"
            sections.append(f"{title}\n{'-' * len(title)}\n\n.. automodule:: {namespace}\n"
                            f"   :no-members:\n\n{body}")
    intro = ("Implementation modules\n======================\n\nNames that the implementation "
             "modules export and no user-facing namespace re-exports: the framework's helpers "
             "and the modules' pure maths. They are public and tested, but most programs never "
             "need them.\n\n")
    pages[INTERNALS] = intro + "\n".join(sections)
    for name, text in pages.items():
        if name != INTERNALS:
            title = f"``{name}``"
            text = f"{title}\n{'=' * len(title)}\n\n{text}"
        _write_if_changed(out / f"{name}.rst", text)
    summary = [(name, doc) for name, doc in NAMESPACES if name in pages]
    # Included from docs/api.md, so document names are relative to docs/.
    toctree = "\n".join(f"   api/{name}" for name, _ in summary) + f"\n   api/{INTERNALS}\n"
    table = "\n".join(f"   * - :doc:`{name} <api/{name}>`\n     - {doc}" for name, doc in summary)
    table += f"\n   * - :doc:`{INTERNALS} <api/{INTERNALS}>`\n     - Implementation modules\n"
    table_head = ".. list-table::\n   :widths: 30 70\n\n"
    index = f".. toctree::\n   :hidden:\n\n{toctree}\n{table_head}{table}"
    _write_if_changed(out / "index.rst.inc", index)


def _write_if_changed(path: Path, text: str) -> None:
    # Rewriting an unchanged page would make Sphinx re-read it on every incremental build.
    if not path.exists() or path.read_text() != text:
        path.write_text(text)


def setup(app) -> dict:
    """Register the page writer."""
    app.connect("builder-inited", write_pages)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
