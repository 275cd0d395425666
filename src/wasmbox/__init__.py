"""wasmbox: a WebAssembly toolkit written in Python.

The embedding API (``api``; modelled on wasmtime-py's core API): ``Store``, ``Module``, ``Instance``,
``Linker``, ``Func`` (with ``Caller`` and ``call_async``), ``Memory``, ``Table``, ``Global``, ``Tag``,
the types, the errors, and the feature switches ``Module(..., features=...)`` takes (``FEATURES``,
``WASM_2_0``, ``ALL_FEATURES``).

The toolchain API: parse or decode a module, validate it, encode or print it.

>>> import wasmbox
>>> module = wasmbox.parse_wat('(module (func (export "add") (param i32 i32) (result i32) '
...                            'local.get 0 local.get 1 i32.add))')
>>> wasmbox.validate(module)
>>> binary = wasmbox.encode(module)
>>> wasmbox.decode(binary) == module
True
>>> print(wasmbox.print_wat(wasmbox.decode(binary)), end="")
(module
  (type (;0;) (func (param i32 i32) (result i32)))
  (export "add" (func 0))
  (func (;0;) (type 0) (param i32 i32) (result i32)
    local.get 0
    local.get 1
    i32.add))
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .api import (
    ENGINES,
    Caller,
    ExportType,
    Func,
    Global,
    ImportType,
    Instance,
    Linker,
    Memory,
    Module,
    Store,
    Table,
    Tag,
    TagType,
    func,
)
from .binary.decode import decode_module as decode
from .errors import (
    ConcurrentUseError,
    DuplicateDefinitionError,
    Exhaustion,
    IncompatibleImportError,
    LinkError,
    MalformedError,
    OutOfBoundsError,
    SerializationError,
    Trap,
    UnknownImportError,
    ValidationError,
    WasiExit,
    WasmError,
    WasmException,
)
from .features import FEATURES
from .ir.instructions import ALL_FEATURES, WASM_2_0
from .ir.types import (
    EXTERNREF,
    F32,
    F64,
    FUNCREF,
    I32,
    I64,
    V128,
    FuncType,
    GlobalType,
    Limits,
    MemoryType,
    TableType,
    ValType,
)
from .load import load_module, load_module_file
from .validate import validate_module as validate

if TYPE_CHECKING:
    from .binary.encode import encode_module as encode
    from .text.parser import parse_module_text as parse_wat
    from .text.printer import print_module as print_wat

# The toolchain's text and encoding halves, imported when first used: running a binary needs
# neither, and `wasmbox run`'s start-up is mostly imports.  (name: (module, attribute))
_LAZY = {
    "encode": ("binary.encode", "encode_module"),
    "parse_wat": ("text.parser", "parse_module_text"),
    "print_wat": ("text.printer", "print_module"),
}


def __getattr__(name: str) -> Any:
    if name not in _LAZY:
        raise AttributeError(f"module 'wasmbox' has no attribute {name!r}")
    from importlib import import_module

    module, attribute = _LAZY[name]
    value = getattr(import_module(f".{module}", __name__), attribute)
    globals()[name] = value  # later lookups find it directly
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_LAZY))


__all__ = [
    "ALL_FEATURES",
    "ENGINES",
    "EXTERNREF",
    "F32",
    "F64",
    "FEATURES",
    "FUNCREF",
    "I32",
    "I64",
    "V128",
    "WASM_2_0",
    "Caller",
    "ConcurrentUseError",
    "DuplicateDefinitionError",
    "Exhaustion",
    "ExportType",
    "Func",
    "FuncType",
    "Global",
    "GlobalType",
    "ImportType",
    "IncompatibleImportError",
    "Instance",
    "Limits",
    "LinkError",
    "Linker",
    "MalformedError",
    "Memory",
    "MemoryType",
    "Module",
    "OutOfBoundsError",
    "SerializationError",
    "Store",
    "Table",
    "TableType",
    "Tag",
    "TagType",
    "Trap",
    "UnknownImportError",
    "ValType",
    "ValidationError",
    "WasiExit",
    "WasmError",
    "WasmException",
    "func",
    "decode",
    "encode",
    "load_module",
    "load_module_file",
    "parse_wat",
    "print_wat",
    "validate",
]
__version__ = "0.1.0"
