"""WIT, the interface language of the Component Model: parse, resolve and print packages of interfaces and worlds.

``load_wit(path)`` reads a file or a directory (with its ``deps/``) and returns a ``Resolve`` whose types point at
each other (``model.py``); ``print_resolve`` writes one back as text. Errors are ``WitError`` naming
``file:line:column``.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

from .errors import WitError

_HOMES = {"load_wit": ".loader", "parse_wit_text": ".loader", "Resolve": ".model", "print_resolve": ".printer"}


def __getattr__(name: str) -> Any:
    """The public names, imported on first use (the CLI loads ``wasmbox.wit.command`` for every command)."""
    if name not in _HOMES:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(import_module(_HOMES[name], __name__), name)
    globals()[name] = value
    return value


if TYPE_CHECKING:
    from .loader import load_wit, parse_wit_text
    from .model import Resolve
    from .printer import print_resolve

__all__ = ["WitError", "Resolve", "load_wit", "parse_wit_text", "print_resolve"]
