"""Telling components from core modules, and loading either form of a component.

A binary is a component when its ``layer`` field (bytes 6-7) is 1; a text is
one when its first S-expression is ``(component ...)``.  The tools ask here
first and hand everything else to the core loader.
"""

from __future__ import annotations

import re

from ..errors import MalformedError
from ..ir.instructions import ALL_FEATURES
from .decode import decode_component, is_component
from .ir import Component
from .parse import parse_component_text

_TEXT_COMPONENT = re.compile(rb"\A(?:\s|;;[^\n]*\n|\(;.*?;\))*\(\s*component\b", re.DOTALL)


def is_component_source(data: bytes) -> bool:
    """Whether ``data`` is a component, binary or text."""
    return is_component(data) or _TEXT_COMPONENT.match(data) is not None


def load_component(data: bytes, name: str | None = None, features: frozenset[str] = ALL_FEATURES) -> Component:
    """Decode or parse a component (not validated); errors name ``name``."""
    if is_component(data):
        try:
            return decode_component(data, features)
        except MalformedError as error:
            raise MalformedError(error.message, offset=error.offset, source=name) from None
    text = data.decode("utf-8", "surrogateescape")
    return parse_component_text(text, name, features)
