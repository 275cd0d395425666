"""Process-wide ids for function types, so native code checks call_indirect with one compare."""

from __future__ import annotations

import threading

from ...ir.types import FuncType

_ids: dict[FuncType, int] = {}
_lock = threading.Lock()


def signature_id(t: FuncType) -> int:
    """A nonzero id, equal for structurally equal types (0 means a null table entry)."""
    found = _ids.get(t)
    if found is None:
        with _lock:
            found = _ids.setdefault(t, len(_ids) + 1)
    return found
