"""Binaries known valid: a later run of the same program skips validating it again.

Validating a module (and decoding the function bodies it checks) is a fifth
of a warm ``wasmbox run`` of a small program, and its answer depends only on
the module's bytes, the features it was read with and the code of the decoder
and validator.  So after a binary validates, an empty marker file named for
those three is left under ``$WASMBOX_CACHE/valid/``; a module whose marker
exists is not validated again (wasmtime's cache of compiled modules skips it
likewise).  A marker is written only after validation succeeded, so an invalid
module is validated, and refused, every time.  Modules made from text, or
without their bytes, are always validated.
"""

from __future__ import annotations

import os
from functools import cache

from .cache_location import cache_base, touch
from .digests import sha256, source_fingerprint
from .ir.module import Module

# The code whose behaviour a validation's answer depends on (the lazily decoded bodies are
# decoded while they are validated).
_SOURCES = ("validate.py", "limits.py", "features.py", "binary", "ir", "native_validation")


@cache
def validator_version() -> str:
    return source_fingerprint(os.path.dirname(__file__), _SOURCES)


def _marker(module: Module) -> str | None:
    if module.binary is None:
        return None
    features = sha256(" ".join(sorted(module.features)).encode()).hexdigest()[:8]
    return os.path.join(cache_base(), "valid", validator_version(), f"{module.digest().hex()[:32]}-{features}")


def known_valid(module: Module) -> bool:
    """Whether an earlier validation of these bytes, under these features, succeeded."""
    marker = _marker(module)
    return marker is not None and os.path.exists(marker)


def remember_valid(module: Module) -> None:
    """Called once ``module`` validated; a read-only or full disk only costs the next run its validation."""
    marker = _marker(module)
    if marker is None:
        return
    try:
        os.makedirs(os.path.dirname(marker), exist_ok=True)
        touch(marker)
    except OSError:
        pass
