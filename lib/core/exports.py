"""A package's public face: its `__all__`, and the names in it imported from their home module only when
first asked for, so that importing a package costs nothing (lib.sweep stays free of torch and pandas).

    __all__, __getattr__ = public_face(__name__, {"records": ("read_json", "write_json"), ...})

`from lib.core import write_json` then works, and `lib.core.__all__` lists what other packages may use.
A leading underscore keeps a name to its own module; tests/test_layers.py checks both.
"""

from __future__ import annotations

import importlib
from typing import Any, Callable


def public_face(package: str, homes: dict[str, tuple[str, ...]]) -> tuple[list[str], Callable[[str], Any]]:
    """`__all__` and a module-level `__getattr__` for `package`; `homes` maps each submodule (relative to
    the package) to the public names it defines. A name listed twice is a mistake and raises."""
    home: dict[str, str] = {}
    for module, names in homes.items():
        for name in names:
            if name in home:
                raise ValueError(f"{package}: {name!r} is listed under both {home[name]!r} and {module!r}")
            home[name] = module

    def __getattr__(name: str) -> Any:
        if name not in home:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        return getattr(importlib.import_module(f"{package}.{home[name]}"), name)

    return list(home), __getattr__
