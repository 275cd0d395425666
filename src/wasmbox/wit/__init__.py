"""WIT, the interface language of the Component Model: parse, resolve and print packages of interfaces and worlds.

``load_wit(path)`` reads a file or a directory (with its ``deps/``) and returns a ``Resolve`` whose types point at
each other (``model.py``); ``print_resolve`` writes one back as text. Errors are ``WitError`` naming
``file:line:column``.
"""

from __future__ import annotations

from .errors import WitError
from .loader import load_wit, parse_wit_text
from .model import Resolve
from .printer import print_resolve

__all__ = ["WitError", "Resolve", "load_wit", "parse_wit_text", "print_resolve"]
