"""SHA-256 without loading OpenSSL when the input is small.

Every run hashes something (a module's bytes for its cache keys, a cached object to check its seal,
wasmbox's own sources for the caches' version names).  ``hashlib`` loads OpenSSL's library for its
SHA-256, ~3-4 ms of every process's start; CPython's own implementation (``_sha2`` from 3.12,
``_sha256`` before) is already in the interpreter and hashes small inputs as fast.  For large ones
(hundreds of kilobytes and more: a 20 MB module) OpenSSL's is several times faster, and then its load
pays.  Both compute the same digest.
"""

from __future__ import annotations

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
