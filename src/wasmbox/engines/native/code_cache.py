"""The native code cache and linking its object code, without loading LLVM when a warm run need not.

The code cache's directory is named for what machine code depends on: the
lowering's version, the LLVM version and the host CPU as LLVM sees it (see
``jit``).  Asking LLVM costs its import, the largest part of a warm start that
only links cached code.  So the JIT, once loaded, records its directory and
target triple in a host index (``$WASMBOX_CACHE/hosts/<key>``), keyed by what
can be known without LLVM: the lowering's version, the llvmlite library
installed (path, size, modification time) and the CPU's identity and flags
from ``/proc/cpuinfo``.  A later process with the same key finds the directory
there; a changed CPU or LLVM changes the key, and the JIT is asked again.

Object code is linked by ``object_loader`` where it can (Linux x86-64, an
object of the shape our lowering makes), else by LLVM's MCJIT; set
``WASMBOX_OBJECT_LOADER=llvm`` to always use LLVM.  Every object read from the
cache is checked against its digest first (``sealed``): a damaged file is
removed and rebuilt, never linked.
"""

from __future__ import annotations

import ctypes
import importlib.util
import os
import threading
from functools import cache

from ...cache_location import cache_base, read_file, write_atomically
from ...digests import sha256
from ..sealed import read_sealed, seal, unseal
from .engine import engine_version
from .object_loader import UnsupportedObject, host_supported, link_object

_CPU_FIELDS = ("vendor_id", "cpu family", "model", "model name", "stepping", "flags")


def _cpu_identity() -> str | None:
    """The first processor's identity and feature flags (what LLVM's host CPU name and features come
    from: cpuid), or None where /proc/cpuinfo is not there."""
    fields: list[str] = []
    try:
        with open("/proc/cpuinfo") as info:
            for line in info:
                if not line.strip():
                    break
                key, _, value = line.partition(":")
                if key.strip() in _CPU_FIELDS:
                    fields.append(f"{key.strip()}={value.strip()}")
    except OSError:
        return None
    return "\n".join(fields) if fields else None


@cache
def host_key() -> str | None:
    """The host index's key for this process (None: no index here, ask LLVM)."""
    spec = importlib.util.find_spec("llvmlite")
    cpu = _cpu_identity()
    if spec is None or spec.origin is None or cpu is None:
        return None
    library = os.path.join(os.path.dirname(spec.origin), "binding", "libllvmlite.so")
    try:
        status = os.stat(library)
    except OSError:
        return None
    identity = f"{engine_version()}\n{library}\n{status.st_size}\n{status.st_mtime_ns}\n{cpu}"
    return sha256(identity.encode()).hexdigest()[:32]


def _index_path() -> str | None:
    key = host_key()
    return None if key is None else os.path.join(cache_base(), "hosts", key)


def _read_index() -> tuple[str, str] | None:
    path = _index_path()
    if path is None:
        return None
    try:
        data = unseal(read_file(path))
    except OSError:
        return None
    if data is None:
        return None
    name, _, triple = data.decode().partition("\n")
    directory = os.path.join(cache_base(), name)
    return (directory, triple) if name and triple and os.path.isdir(directory) else None


def record_host(directory: str, triple: str) -> None:
    """Called by the JIT: this host's code cache is ``directory`` and its triple ``triple``."""
    path = _index_path()
    if path is None or _read_index() == (directory, triple):
        return
    try:
        os.makedirs(os.path.dirname(path), exist_ok=True)
        write_atomically(path, seal(f"{os.path.basename(directory)}\n{triple}".encode()))
    except OSError:
        pass  # a read-only or full disk only costs the next run LLVM's import


class CodeCache:
    """The process's view of the code cache: where it is, reading objects, linking them."""

    def __init__(self) -> None:
        found = _read_index()
        self._directory: str | None = found[0] if found is not None else None
        self._triple: str | None = found[1] if found is not None else None
        self.hits = 0  # objects read from the cache
        self.linked = 0  # objects linked without LLVM
        self.linked_by_llvm = 0  # objects the loader left to LLVM (or all, with the loader off)
        self.use_loader = host_supported() and os.environ.get("WASMBOX_OBJECT_LOADER", "python") != "llvm"
        self._symbols: dict[str, int] = {}
        self._externals: dict[str, int | None] = {}
        self._lock = threading.Lock()

    def use(self, directory: str, triple: str) -> None:
        """What the JIT computed, once it is loaded: it has the last word over the index."""
        self._directory, self._triple = directory, triple

    def _ask_jit(self) -> None:
        from .jit import jit

        self._directory, self._triple = jit().cache, jit().triple

    @property
    def known_directory(self) -> str | None:
        """The directory if it is known without loading LLVM (from the host index, or the JIT is
        loaded).  None means no process with this lowering, LLVM and CPU has written this cache's
        index, hence no object of theirs: whoever writes an object loaded the JIT, which records the
        index (a version change, e.g. after an upgrade, starts with no index and no objects).  A host
        without an index (no /proc/cpuinfo) asks LLVM, as ``directory`` does."""
        if self._directory is None and host_key() is None:
            return self.directory
        return self._directory

    @property
    def directory(self) -> str:
        if self._directory is None:
            self._ask_jit()
        assert self._directory is not None
        return self._directory

    @property
    def triple(self) -> str:
        if self._triple is None:
            self._ask_jit()
        assert self._triple is not None
        return self._triple

    def cached_object(self, name: str) -> bytes | None:
        """The cached object code of the IR module ``name``, if any (a damaged file is removed)."""
        data = read_sealed(os.path.join(self.directory, f"{name}.o"))
        if data is not None:
            self.hits += 1
        return data

    def add_object(self, data: bytes, names: list[str], own_loader: bool = False) -> dict[str, int]:
        """Link object code; the addresses of ``names`` (0 for a name no object linked defines).
        ``own_loader``: only wasmbox's loader may link it (code relying on guard pages must be in its
        code reservation: runtime.guards); UnsupportedObject when it cannot."""
        if self.use_loader:
            try:
                symbols = link_object(data, self._external)
            except UnsupportedObject:
                if own_loader:
                    raise
            else:
                with self._lock:
                    self._symbols.update(symbols)
                    self.linked += 1
                    return {name: self._symbols.get(name, 0) for name in names}
        if own_loader:
            raise UnsupportedObject("the object loader is not used here")
        from .jit import jit

        self.linked_by_llvm += 1
        return jit().add_object(data, names)

    def _external(self, name: str) -> int | None:
        """An external symbol's address: a host callback (as the JIT registers them with LLVM), or
        the C library's."""
        if name not in self._externals:
            from .host import CALLBACKS

            callback = CALLBACKS.get(name)
            if callback is not None:
                self._externals[name] = ctypes.cast(callback, ctypes.c_void_p).value
            else:
                try:
                    self._externals[name] = ctypes.cast(getattr(ctypes.CDLL(None), name), ctypes.c_void_p).value
                except AttributeError:
                    self._externals[name] = None
        return self._externals[name]


@cache
def code_cache() -> CodeCache:
    return CodeCache()
