"""WASI for the instances a ``Linker`` makes: each gets WASI functions of its own, bound to its
own memory, so two guests linked to one ``WasiInstance`` never read or write each other's memory."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING

from ..ir.module import Module as ModuleIR
from ..runtime.instance import Extern, ModuleInstance
from ..runtime.memory import MemoryInstance
from ..runtime.objects import FunctionInstance

if TYPE_CHECKING:
    from ..wasi import WasiInstance

WASI_MODULE = "wasi_snapshot_preview1"


def with_own_wasi(
    module: ModuleIR,
    definitions: Mapping[tuple[str, str], Extern],
    wasi: WasiInstance | None,
    wasi_defaults: Mapping[tuple[str, str], FunctionInstance],
) -> tuple[Mapping[tuple[str, str], Extern], Callable[[ModuleInstance], None] | None]:
    """The definitions to instantiate ``module`` with, its WASI imports replaced by functions of its
    own, and the hook that binds them to its memory once instantiation made it (a start function
    may already call WASI).  Names defined since ``define_wasi`` (``wasi_defaults``) keep their
    definition.  Unchanged, and no hook, for a module that imports nothing from WASI."""
    if wasi is None or not any(imp.module == WASI_MODULE for imp in module.imports):
        return definitions, None
    from ..wasi.guest import GuestMemory

    guest = GuestMemory()
    own = {
        key: function
        for key, function in wasi.imports(guest).items()
        if key in definitions and definitions[key] is wasi_defaults.get(key)
    }

    def bind(instance: ModuleInstance) -> None:
        memory = instance.exports.get("memory")
        if isinstance(memory, MemoryInstance):
            guest.memory = memory

    return {**definitions, **own}, bind
