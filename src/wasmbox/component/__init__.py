"""The Component Model: components' binary and text formats, validation, and running them from Python.

``Component`` loads one and ``Component.instantiate`` runs it; values cross as ``wasmbox.canonical_abi``
describes (``Record``, ``Variant``, ``Ok``/``Err``, ...); resources are ``RuntimeResource`` types whose values
are ``ResourceValue`` objects.
"""

from __future__ import annotations

from ..canonical_abi.values import Err, Ok, Record, Some, Variant
from .api import Component
from .instance import ComponentInstance
from .resources import ResourceValue, RuntimeResource

__all__ = [
    "Component",
    "ComponentInstance",
    "Err",
    "Ok",
    "Record",
    "ResourceValue",
    "RuntimeResource",
    "Some",
    "Variant",
]
