"""Cache files that check themselves: a magic line and the SHA-256 of what follows.

The code caches (machine code, translated Python) are written atomically, but a
full disk, a crash of another tool or a hand-edited file can still leave a file
that is not what wasmbox wrote.  Such a file must be rebuilt, never loaded:
object code or a code object that is cut short would crash or misbehave when
run.  (Deliberate tampering by someone who may write to the cache directory is
out of scope: see SECURITY.md; the digest catches accidents, not attackers.)
"""

from __future__ import annotations

import os

from ..cache_location import read_file
from ..digests import sha256

MAGIC = b"wasmbox-sealed-1\n"
_DIGEST = 32


def seal(data: bytes) -> bytes:
    return MAGIC + sha256(data).digest() + data


def unseal(blob: bytes) -> bytes | None:
    """What ``seal`` sealed, or None when ``blob`` is not a whole sealed file of this version."""
    start = len(MAGIC) + _DIGEST
    if len(blob) <= start or not blob.startswith(MAGIC):
        return None
    data = blob[start:]
    return data if sha256(data).digest() == blob[len(MAGIC) : start] else None


def read_sealed(path: str) -> bytes | None:
    """What the sealed file at ``path`` holds, or None if there is none; a damaged file is removed (the next
    run rebuilds it), never returned."""
    try:
        blob = read_file(path)
    except OSError:
        return None
    data = unseal(blob)
    if data is None:
        try:
            os.unlink(path)
        except OSError:
            pass
    return data
