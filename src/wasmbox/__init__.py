"""wasmbox: a WebAssembly toolkit written in Python.

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

from .api import ENGINES, Func, Global, Instance, Linker, Memory, Module, Store, Table, func
from .binary.decode import decode_module as decode
from .binary.encode import encode_module as encode
from .errors import (
    ConcurrentUseError,
    Exhaustion,
    LinkError,
    MalformedError,
    OutOfBoundsError,
    SerializationError,
    Trap,
    ValidationError,
    WasiExit,
    WasmError,
)
from .ir.types import F32, F64, I32, I64, V128, FuncType, GlobalType, ValType
from .load import load_module, load_module_file
from .text.parser import parse_module_text as parse_wat
from .text.printer import print_module as print_wat
from .validate import validate_module as validate

__all__ = [
    "ENGINES",
    "F32",
    "F64",
    "I32",
    "I64",
    "V128",
    "ConcurrentUseError",
    "Exhaustion",
    "Func",
    "FuncType",
    "Global",
    "GlobalType",
    "Instance",
    "LinkError",
    "Linker",
    "MalformedError",
    "Memory",
    "Module",
    "OutOfBoundsError",
    "SerializationError",
    "Store",
    "Table",
    "Trap",
    "ValType",
    "ValidationError",
    "WasiExit",
    "WasmError",
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
