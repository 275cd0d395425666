"""Where wasmbox keeps what it made for later runs: ``$WASMBOX_CACHE``, by default ``~/.cache/wasmbox/native``.

One directory for every cache (machine code, translated Python, the host index, modules known
valid), each in its own subdirectory, so that one variable moves or clears them all.

Paths here and in the caches are strings joined with ``os.path``: ``pathlib`` (with the
``urllib.parse``, ``ipaddress`` and ``fnmatch`` it imports) cost every run ~3.5 ms of imports.
"""

from __future__ import annotations

import itertools
import os
import threading


def cache_base() -> str:
    found = os.environ.get("WASMBOX_CACHE")
    if found is None:
        return os.path.join(os.path.expanduser("~"), ".cache", "wasmbox", "native")
    return found or os.curdir  # (an empty setting: the current directory, as before)


def read_file(path: str) -> bytes:
    """The whole file's bytes (raises OSError)."""
    with open(path, "rb") as stream:
        return stream.read()


def touch(path: str) -> None:
    """Make an empty file at ``path`` unless it exists (raises OSError)."""
    os.close(os.open(path, os.O_WRONLY | os.O_CREAT, 0o644))


_partial_files = itertools.count()


def write_atomically(path: str, data: bytes) -> None:
    """Write ``data`` to ``path`` so that no reader ever sees part of it: into a file of its own beside
    it, then renamed over it.  Raises OSError (callers treat a read-only or full disk as a cache miss
    for later runs).

    The partial file is named for this process, thread and a counter (``O_EXCL``: never another's),
    not made by ``tempfile``, whose import (with ``shutil`` and ``random``) cost a cold run ~9 ms."""
    folder, name = os.path.split(path)
    partial = os.path.join(folder, f".{name}.{os.getpid()}.{threading.get_ident()}.{next(_partial_files)}.tmp")
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
