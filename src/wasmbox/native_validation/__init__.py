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

from ..cache_location import write_atomically
from ..digests import source_fingerprint
from ..engines.sealed import read_sealed, seal
from ..ir.module import Module
from .tables import FUNCTION_NAME, ContextData, declarations_representable

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


def installed_path() -> str | None:
    """Where this installation keeps its optimised validator, or None where it has no such place.

    The validator is wasmbox's own code, the same for every module, so it
    lives beside its sources (in ``__pycache__``, as Python keeps bytecode;
    ``$WASMBOX_VALIDATOR_DIR`` elsewhere), not in the per-module code cache:
    a program never seen before starts with it at hand.  The name says what
    the code depends on: the validator's sources (``_module_name``) and the
    host key (the lowering's version, the llvmlite library and the CPU:
    ``code_cache.host_key``), all known without loading LLVM.
    """
    from ..engines.native.code_cache import host_key

    key = host_key()
    if key is None:
        return None
    directory = os.environ.get("WASMBOX_VALIDATOR_DIR") or os.path.join(os.path.dirname(__file__), "__pycache__")
    return os.path.join(directory, f"{_module_name()}-{key}.o")


@cache
def _installed_object() -> bytes | None:
    """The installed validator's object code, checked against its seal (a damaged file is removed)."""
    path = installed_path()
    return None if path is None else read_sealed(path)


def ready() -> bool:
    """Whether the optimised validator is built, so using it costs no compilation (only linking, ~1 ms):
    then modules well under ``NATIVE_VALIDATION_BYTES`` are worth checking natively too."""
    return available() and _installed_object() is not None


@cache
def _validate_body() -> Any:
    """The compiled ``validate_body``.

    Optimised, it validates yosys.wasm in a quarter of a second but takes LLVM
    two seconds to build; built fast, a second and a tenth of a second.  So the
    optimised code is built once (``build_optimized``: the translation worker
    does it when idle, ``python -m wasmbox.native_validation`` at install) and
    until it is there this one builds the fast code.  Either is linked by
    wasmbox's object loader where it can (no LLVM import: ``code_cache``).
    """
    from ..engines.native.code_cache import code_cache

    data = _installed_object()
    if data is None:
        from ..engines.native.jit import jit
        from .emit import validator_module

        compiler = jit()
        name = _module_name()
        data = compiler.cached_object(name)
        if data is None:
            data = compiler.fast_object(validator_module(name + "fast", compiler.triple))
    address = code_cache().add_object(data, [FUNCTION_NAME])[FUNCTION_NAME]
    signature = ctypes.CFUNCTYPE(
        ctypes.c_int32, ctypes.c_void_p, ctypes.c_void_p, ctypes.c_int64, ctypes.c_int64, ctypes.c_int64
    )
    return signature(address)


def build_optimized() -> str | None:
    """Build the optimised validator and install it (see ``installed_path``), unless it is there; where it
    went (None: only into the code cache, the installation's place being unknown or read-only)."""
    path = installed_path()
    if path is not None and _installed_object() is not None:
        return path
    from ..engines.native.jit import jit
    from .emit import validator_module

    compiler = jit()
    name = _module_name()
    data = compiler.cached_object(name)
    if data is None:
        data = compiler.optimized_object(validator_module(name, compiler.triple))
    if path is None:
        return None
    try:
        os.makedirs(os.path.dirname(path), exist_ok=True)
        write_atomically(path, seal(data))
    except OSError:
        return None
    _installed_object.cache_clear()
    return path


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
