"""Where wasmbox keeps what it made for later runs: ``$WASMBOX_CACHE``, by default ``~/.cache/wasmbox/native``.

One directory for every cache (machine code, translated Python, the host index, modules known
valid), each in its own subdirectory, so that one variable moves or clears them all.
"""

from __future__ import annotations

import itertools
import os
import threading
from pathlib import Path


def cache_base() -> Path:
    return Path(os.environ.get("WASMBOX_CACHE", Path.home() / ".cache" / "wasmbox" / "native"))


_partial_files = itertools.count()


def write_atomically(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` so that no reader ever sees part of it: into a file of its own beside
    it, then renamed over it.  Raises OSError (callers treat a read-only or full disk as a cache miss
    for later runs).

    The partial file is named for this process, thread and a counter (``O_EXCL``: never another's),
    not made by ``tempfile``, whose import (with ``shutil`` and ``random``) cost a cold run ~9 ms."""
    partial = path.with_name(f".{path.name}.{os.getpid()}.{threading.get_ident()}.{next(_partial_files)}.tmp")
    descriptor = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
    try:
        with os.fdopen(descriptor, "wb") as stream:
            stream.write(data)
        os.replace(partial, path)
    except BaseException:
        try:
            os.unlink(partial)
        except OSError:
            pass
        raise
