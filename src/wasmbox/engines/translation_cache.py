"""Translated functions on disk, so a second run of a large program starts with its hot code ready.

A function that got hot enough to be translated to Python is stored as its
marshalled code object (with the lines of its head and its line map) under
``$WASMBOX_CACHE/python/<translator>-<Python>/<module digest>/``: the
translator's version is a hash of its source, and code objects are tied to
the exact Python version (its magic number).  On a later run the function
starts on that code at its first call instead of on the baseline interpreter.
Writes are atomic (a temporary file renamed), reads that fail are misses.
"""

from __future__ import annotations

import importlib.util
import marshal
import os
from functools import cache
from typing import Any

from ..cache_location import cache_base, read_file, touch, write_atomically
from ..digests import source_fingerprint
from ..ir.module import Module
from .sealed import seal, unseal

Translation = tuple[Any, int, list[tuple[int, int]]]  # code object, head lines, line map


def cache_root() -> str:
    return os.path.join(cache_base(), "python")


# The code that decides what a translation is: the portable engine's translator (its GC part, which writes the
# text of GC instructions, and the namespace whose names the text uses), this cache's format, the legacy-exception
# lowering.
_SOURCES = (
    "interp.py",
    "expressions.py",
    "interp_gc.py",
    "namespace.py",
    "translation_cache.py",
    "../ir/legacy_exceptions.py",
)


@cache
def translator_version() -> str:
    """A fingerprint of the code translations depend on (it names the cache's directory)."""
    return source_fingerprint(os.path.dirname(__file__), _SOURCES, importlib.util.MAGIC_NUMBER)


def directory(module: Module) -> str:
    return os.path.join(cache_root(), translator_version(), module.digest().hex()[:32])


def _path(module: Module, index: int, interruptible: bool) -> str:
    return os.path.join(directory(module), f"f{index}{'i' if interruptible else ''}.code")


def load(module: Module, index: int, interruptible: bool) -> Translation | None:
    try:
        data = unseal(read_file(_path(module, index, interruptible)))
        if data is None:
            return None
        head_lines, line_starts, code = marshal.loads(data)
        return marshal.loads(code), head_lines, list(line_starts)
    except (OSError, EOFError, ValueError, TypeError):
        return None


def store(
    module: Module, index: int, interruptible: bool, code: bytes, head_lines: int, line_starts: list[Any]
) -> None:
    """Keep a translation (``code``: the marshalled code object); a read-only or full disk only costs
    the next run its translation."""
    target = _path(module, index, interruptible)
    try:
        os.makedirs(os.path.dirname(target), exist_ok=True)
        data = marshal.dumps((head_lines, tuple(line_starts), code))  # pairs stay tuples
        write_atomically(target, seal(data))
    except OSError:
        pass


def known(module: Module) -> frozenset[str]:
    """The file names cached for ``module`` (one listing instead of a failed open per function)."""
    try:
        return frozenset(os.listdir(directory(module)))
    except OSError:
        return frozenset()


def native_marker(interruptible: bool) -> str:
    """The file name saying an earlier run made this module's whole machine code (the native code
    cache's own directory depends on LLVM, which this check must not load)."""
    return f"module{'i' if interruptible else ''}.native"


def mark_native(module: Module, interruptible: bool) -> None:
    _mark(module, native_marker(interruptible))


def hot_marker(interruptible: bool) -> str:
    """The file name saying an earlier run of this module got hot (its hot functions became the quick
    compiler's code, which is not cached: see tiers.TieredFunctions.quick_code_made)."""
    return f"module{'i' if interruptible else ''}.hot"


def mark_hot(module: Module, interruptible: bool) -> None:
    _mark(module, hot_marker(interruptible))


def _mark(module: Module, name: str) -> None:
    """Leave the marker file ``name`` in the module's directory (a read-only disk only costs later runs)."""
    try:
        folder = directory(module)
        os.makedirs(folder, exist_ok=True)
        touch(os.path.join(folder, name))
    except OSError:
        pass
