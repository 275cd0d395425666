"""Components from Python: load one, instantiate it with Python imports, call its exports with Python values.

::

    component = Component.from_file("calc.wasm")
    instance = component.instantiate({"log": print})
    instance.exports["add"](1, 2)

Values follow ``wasmbox.canonical_abi.values`` (records as ``Record``, variants as ``Variant``, results as
``Ok``/``Err``; an export returning ``result`` gives its ok value and raises ``Err``). Imports are Python
functions (for ``func`` imports), mappings of names (for ``instance`` imports), ``RuntimeResource`` objects (for
resource types the host defines), or exports of other component instances.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from ..api import Store
from ..errors import MalformedError
from ..features import FeatureChoice, feature_set
from . import ir
from .decode import decode_component, is_component
from .instance import ComponentInstance, instantiate_component
from .parse import parse_component_text


class Component:
    """A decoded (or parsed) and validated component; instantiate it as often as needed."""

    def __init__(
        self, source: bytes | bytearray | memoryview | str, name: str | None = None, *, features: FeatureChoice = "all"
    ) -> None:
        from .validate import validate_component

        chosen = feature_set(features)
        data = bytes(source) if not isinstance(source, str) else source.encode("utf-8")
        if is_component(data):
            self.ir: ir.Component = decode_component(data, chosen)
        elif data[:4] == b"\0asm":
            raise MalformedError(f"{name or 'input'}: a core module, not a component (use wasmbox.Module)")
        else:
            self.ir = parse_component_text(data, name, chosen)
        validate_component(self.ir)
        self.name = name

    @classmethod
    def from_file(cls, path: str | Path, *, features: FeatureChoice = "all") -> Component:
        """The component in the file at ``path`` (binary or text)."""
        return cls(Path(path).read_bytes(), str(path), features=features)

    def instantiate(self, imports: Mapping[str, Any] | None = None, store: Store | None = None) -> ComponentInstance:
        """A new instance: its core modules instantiated in ``store`` (a new one by default)."""
        return instantiate_component(self.ir, imports, store)
