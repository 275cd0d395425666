"""SHA-256 without loading OpenSSL when the input is small.

Every run hashes something (a module's bytes for its cache keys, a cached object to check its seal,
wasmbox's own sources for the caches' version names).  ``hashlib`` loads OpenSSL's library for its
SHA-256, ~3-4 ms of every process's start; CPython's own implementation (``_sha2`` from 3.12,
``_sha256`` before) is already in the interpreter and hashes small inputs as fast.  For large ones
(hundreds of kilobytes and more: a 20 MB module) OpenSSL's is several times faster, and then its load
pays.  Both compute the same digest.
"""

from __future__ import annotations

import os
from typing import Any, Protocol

# Inputs from this size on go to hashlib (OpenSSL): its load costs what hashing ~1 MB costs the builtin.
LARGE = 256 * 1024


class Hash(Protocol):
    def update(self, data: bytes, /) -> None: ...
    def digest(self) -> bytes: ...
    def hexdigest(self) -> str: ...


def _builtin() -> Any:
    try:
        from _sha2 import sha256  # type: ignore[import-not-found]  # CPython 3.12+
    except ImportError:
        try:
            from _sha256 import sha256  # type: ignore[import-not-found,no-redef]  # CPython 3.11
        except ImportError:  # an interpreter without it: hashlib's
            from hashlib import sha256  # type: ignore[assignment]
    return sha256


_sha256 = _builtin()


def sha256(data: bytes = b"") -> Hash:
    """A SHA-256 hash object started with ``data`` (hashlib's for a large input, else the builtin's)."""
    if len(data) >= LARGE:
        import hashlib

        return hashlib.sha256(data)
    return _sha256(data)  # type: ignore[no-any-return]


def _fast_hash() -> Any:
    try:
        from _blake2 import blake2b  # type: ignore[import-not-found]  # CPython's own, in the interpreter
    except ImportError:  # an interpreter without it: hashlib's
        from hashlib import blake2b
    return blake2b


_blake2b = _fast_hash()


def source_fingerprint(package: str, names: tuple[str, ...], extra: bytes = b"") -> str:
    """A fingerprint (16 hex digits) of wasmbox's own source files ``names`` (files, or directories
    whose ``*.py`` files count) under the directory ``package``, and of ``extra`` (whatever else a
    cache's contents depend on: optimisation levels, Python's bytecode version): a cache's version.

    Every process computes a few of these before it may use a cache (~200 KB of sources each), so they
    are made for speed: ``os`` calls rather than ``pathlib`` and BLAKE2b, three times faster than
    SHA-256 here; the contents, not the files' times, so copies of the same sources share caches.
    """
    digest = _blake2b(digest_size=8)
    for name in names:
        path = os.path.join(package, name)
        if os.path.isdir(path):
            files = sorted(entry for entry in os.listdir(path) if entry.endswith(".py"))
            paths = [os.path.join(path, entry) for entry in files]
        else:
            paths = [path]
        for source in paths:
            with open(source, "rb") as file:
                digest.update(os.path.basename(source).encode() + b"\0" + file.read())
    digest.update(extra)
    return str(digest.hexdigest())
