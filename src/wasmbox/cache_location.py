"""Where wasmbox keeps what it made for later runs: ``$WASMBOX_CACHE``, by default ``~/.cache/wasmbox/native``.

One directory for every cache (machine code, translated Python, the host index, modules known
valid), each in its own subdirectory, so that one variable moves or clears them all.
"""

from __future__ import annotations

import os
from pathlib import Path


def cache_base() -> Path:
    return Path(os.environ.get("WASMBOX_CACHE", Path.home() / ".cache" / "wasmbox" / "native"))
