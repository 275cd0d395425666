"""Function bodies validated by native code, straight from the binary: large modules load in a second, not a minute.

The Python decoder and validator (``binary.decode``, ``validate``) walk about
a million instructions a second; yosys.wasm has 18 million.  This package
builds, once per machine and wasmbox version, a validator in LLVM IR
(``emit``) that checks a body's encoding and types in one pass over its
bytes, and runs it over every code entry.  The Python code stays the
reference: a body the native validator refuses is decoded and validated
again in Python, which raises the error with its words and place, or finds
the body valid after all (the native side refuses what it is unsure of).
Modules without a binary, or machines without llvmlite, use Python alone.
"""

from __future__ import annotations

import ctypes
import importlib.util
import os
import threading
from collections.abc import Iterable
from functools import cache
from typing import Any

from ..digests import source_fingerprint
from ..ir.module import Module
from .tables import ContextData, declarations_representable

# What the compiled validator bakes in: its own code, and the instruction table, types and limits it is built
# from (an opcode or type code that moves must give a new build: a cached one would judge by the old table).
_SOURCES = (
    "emit.py",
    "tables.py",
    "../ir/instructions.py",
    "../ir/types.py",
    "../ir/subtyping.py",
    "../ir/module.py",
    "../limits.py",
)
_lock = threading.Lock()


def available() -> bool:
    return importlib.util.find_spec("llvmlite") is not None


def _module_name() -> str:
    return f"wvalidator{source_fingerprint(os.path.dirname(__file__), _SOURCES)}"


@cache
def _validate_body() -> Any:
    """The compiled ``validate_body``.

    Optimised, it validates yosys.wasm in a quarter of a second but takes LLVM
    two seconds to build; built fast, a second and a tenth of a second.  So the
    optimised code comes from the code cache, and until some process has put it
    there (``build_optimized``, which the translation worker does when idle)
    this one builds the fast code.
    """
    from ..engines.native.jit import jit
    from .emit import FUNCTION_NAME, validator_module

    compiler = jit()
    name = _module_name()
    data = compiler.cached_object(name)
    if data is None:
        data = compiler.fast_object(validator_module(name + "fast", compiler.triple))
    address = compiler.add_object(data, [FUNCTION_NAME])[FUNCTION_NAME]
    signature = ctypes.CFUNCTYPE(
        ctypes.c_int32, ctypes.c_void_p, ctypes.c_void_p, ctypes.c_int64, ctypes.c_int64, ctypes.c_int64
    )
    return signature(address)


def build_optimized() -> None:
    """Put the optimised validator in the code cache, unless it is there."""
    from ..engines.native.jit import jit
    from .emit import validator_module

    compiler = jit()
    name = _module_name()
    if compiler.cached_object(name) is None:
        compiler.optimized_object(validator_module(name, compiler.triple))


def refused_bodies(
    module: Module, data: bytes, bodies: Iterable[tuple[int, int, int]], features: frozenset[str], max_locals: int
) -> list[int]:
    """The defined functions (indices into ``module.funcs``) whose bodies the native validator refuses.

    ``bodies`` gives (function, start, end) byte ranges of code entries in
    ``data`` (after the entry's size).  Module-level validation must have
    passed: type indices of functions and tags are trusted here.
    """
    bodies = list(bodies)
    if not declarations_representable(module):
        return [function for function, _, _ in bodies]  # typed references: Python checks them all
    validate = _validate_body()
    context = ContextData(module, features, max_locals)
    buffer = ctypes.c_char_p(data)
    base = ctypes.cast(buffer, ctypes.c_void_p).value
    refused = []
    with _lock:  # the context's scratch stacks are shared
        for function, start, end in bodies:
            if validate(context.address, base, start, end, module.funcs[function].type_index):
                refused.append(function)
    return refused
