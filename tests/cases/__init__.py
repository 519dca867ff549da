"""The registry of every invertible module configuration the generic contract tests run on.

Each submodule of this package defines ``CASES: dict[str, Case]``; they are merged here. A new
module joins the registry by adding entries to the file of its family (or a new file), never a
one-off test. See ``Case`` for the knobs.
"""

import importlib
import pkgutil

from .case import Case, conv_subnet, mlp_subnet, perturbed

CASES: dict[str, Case] = {}
for _info in sorted(pkgutil.iter_modules(__path__), key=lambda info: info.name):
    if _info.name == "case":
        continue
    _module = importlib.import_module(f"{__name__}.{_info.name}")
    for _name, _case in _module.CASES.items():
        if _name in CASES:
            raise ValueError(f"duplicate registry entry {_name!r} in {_info.name}")
        CASES[_name] = _case

__all__ = ["CASES", "Case", "conv_subnet", "mlp_subnet", "perturbed"]
