"""The Component Model: components' binary and text formats, validation and tools.

One job per module, around the IR (``ir.py`` sections, ``types.py`` type
definitions) as the hub: ``decode``/``encode`` (Binary.md), ``parse`` with
``parse_scope`` and ``parse_types`` (the Explainer's text format and the
abbreviations the spec tests use), ``printer``, ``validate`` with
``typecheck`` (resolved types, subtyping), ``abi`` (canonical definitions,
value sizes) and ``names`` (import and export names); ``load`` tells
components from core modules for the tools, ``objdump`` lists sections.
Instantiation is not here yet.
"""

from __future__ import annotations

from .decode import decode_component, is_component
from .encode import encode_component
from .ir import Component
from .parse import parse_component_text
from .printer import print_component
from .validate import validate_component

__all__ = [
    "Component",
    "decode_component",
    "encode_component",
    "is_component",
    "parse_component_text",
    "print_component",
    "validate_component",
]
