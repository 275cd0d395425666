"""The engines a store or a spec script can run on, by name; each imported only when asked for.

A run on cached machine code needs neither Python engine, and a store on the baseline no LLVM:
``ENGINE_CLASSES`` names every engine available here, and importing one is left to the first
lookup of its name (``engines.contract`` says what an engine is).
"""

from __future__ import annotations

import importlib
import importlib.util
from collections.abc import Callable, Iterator, Mapping
from typing import Any

# name -> (module, class) of each engine; "native" and "tiered"'s machine code need llvmlite.
_WHERE = {
    "interp": ("wasmbox.engines.interp", "InterpEngine"),
    "baseline": ("wasmbox.engines.baseline", "BaselineEngine"),
    "native": ("wasmbox.engines.native.engine", "NativeEngine"),
    "tiered": ("wasmbox.engines.tiers", "TieredEngine"),
}
# What "auto" picks: tiers (baseline, Python, machine code when llvmlite is there), which start at once.
DEFAULT_ENGINE = "tiered"


def native_available() -> bool:
    """Whether llvmlite can be imported here (without importing it: that loads LLVM)."""
    return importlib.util.find_spec("llvmlite") is not None


class _Engines(Mapping[str, Callable[[], Any]]):
    """Engine classes by name, in ``_WHERE``'s order; a class is imported at its first lookup."""

    def __init__(self) -> None:
        self._names = [name for name in _WHERE if name != "native" or native_available()]

    def __getitem__(self, name: str) -> Callable[[], Any]:
        if name not in self._names:
            raise KeyError(name)
        module, attribute = _WHERE[name]
        engine_class: Callable[[], Any] = getattr(importlib.import_module(module), attribute)
        return engine_class

    def __iter__(self) -> Iterator[str]:
        return iter(self._names)

    def __len__(self) -> int:
        return len(self._names)

    def __repr__(self) -> str:
        return f"ENGINE_CLASSES({', '.join(self._names)})"


ENGINE_CLASSES: Mapping[str, Callable[[], Any]] = _Engines()
