"""The Component Model: components' binary and text formats, validation, tools, and running them from Python.

One job per module, around the IR (``ir.py`` sections, ``types.py`` type definitions) as the hub:
``decode``/``encode`` (Binary.md), ``parse`` with ``parse_scope`` and ``parse_types`` (the Explainer's text
format and the abbreviations the spec tests use), ``printer``, ``validate`` with ``typecheck`` (resolved types,
subtyping), ``abi`` (canonical definitions, value sizes) and ``names`` (import and export names); ``load``
tells components from core modules for the tools, ``objdump`` lists sections.

Running: ``Component`` (``api.py``) loads one and ``Component.instantiate`` runs it (``instance.py`` walks
the sections, ``functions.py`` lifts and lowers, ``resources.py`` keeps handle tables, ``type_space.py``
resolves types for the canonical ABI); values cross as ``wasmbox.canonical_abi`` describes (``Record``,
``Variant``, ``Ok``/``Err``, ...); resources are ``RuntimeResource`` types whose values are
``ResourceValue`` objects. ``bindgen`` writes typed bindings from WIT; ``script`` runs ``.wast`` commands.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

# Where each public name lives: imported on first use, so that ``wasmbox.component.command`` (which the CLI
# loads for every command) does not pull in the runtime, the decoder and the validator.
_HOMES = {
    "Err": "..canonical_abi.values",
    "Ok": "..canonical_abi.values",
    "Record": "..canonical_abi.values",
    "Some": "..canonical_abi.values",
    "Variant": "..canonical_abi.values",
    "Component": ".api",
    "decode_component": ".decode",
    "is_component": ".decode",
    "encode_component": ".encode",
    "ComponentInstance": ".instance",
    "ComponentIR": ".ir",
    "parse_component_text": ".parse",
    "print_component": ".printer",
    "ResourceValue": ".resources",
    "RuntimeResource": ".resources",
    "validate_component": ".validate",
}


def __getattr__(name: str) -> Any:
    if name not in _HOMES:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    module = import_module(_HOMES[name], __name__)
    value = getattr(module, "Component" if name == "ComponentIR" else name)
    globals()[name] = value
    return value


if TYPE_CHECKING:
    from ..canonical_abi.values import Err, Ok, Record, Some, Variant
    from .api import Component
    from .decode import decode_component, is_component
    from .encode import encode_component
    from .instance import ComponentInstance
    from .ir import Component as ComponentIR
    from .parse import parse_component_text
    from .printer import print_component
    from .resources import ResourceValue, RuntimeResource
    from .validate import validate_component

__all__ = [
    "Component",
    "ComponentIR",
    "ComponentInstance",
    "Err",
    "Ok",
    "Record",
    "ResourceValue",
    "RuntimeResource",
    "Some",
    "Variant",
    "decode_component",
    "encode_component",
    "is_component",
    "parse_component_text",
    "print_component",
    "validate_component",
]
