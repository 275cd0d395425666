"""Resource limits and interruption for the code a store runs.

A guest must not make the host allocate more than allowed, recurse without
bound, or run forever.  :class:`Sandbox` holds the store's limits; engines
compile interruption checks (at function entries and loop headers) only when
``interruptible`` is set, so code that needs none pays nothing.
"""

from __future__ import annotations

import sys
import threading
from dataclasses import dataclass, field
from typing import Any

from ..errors import Trap
from ..ir.types import MAX_PAGES

RESOURCE_LIMIT = "resource limit exceeded"
# Tables are Python lists: a guest declaring 2^32-1 elements must not make the
# host allocate them.  Ten million entries is about 80 MB.
DEFAULT_MAX_TABLE_ELEMENTS = 10_000_000
MAX_CALL_DEPTH_LIMIT = 1_000_000


@dataclass
class Sandbox:
    """Limits of one store.

    ``deadline`` is in seconds of wall-clock time for each call from the host
    into wasm; ``interruptible`` compiles the checks that ``interrupt()`` and
    the deadline need (a deadline implies it).
    """

    max_memory_pages: int = MAX_PAGES
    max_table_elements: int = DEFAULT_MAX_TABLE_ELEMENTS
    max_instances: int | None = None
    max_call_depth: int = 20_000
    deadline: float | None = None
    interruptible: bool = False
    # Fuel: None means unmetered; otherwise every executed instruction but
    # ``end``/``else`` costs one unit, and running out is a trap "out of fuel".
    fuel: int | None = None
    instances: int = 0
    # Read by compiled code: None while running normally, else the trap kind.
    stop: str | None = None
    # A native engine polls this ctypes cell instead of ``stop``; it mirrors it.
    stop_cell: Any = field(default=None, repr=False)
    _depth: int = field(default=0, repr=False)

    def __post_init__(self) -> None:
        if not 1 <= self.max_call_depth <= MAX_CALL_DEPTH_LIMIT:
            raise ValueError(f"max_call_depth must be between 1 and {MAX_CALL_DEPTH_LIMIT}")
        if self.deadline is not None:
            self.interruptible = True

    def interrupt(self, reason: str = "interrupted") -> None:
        """Make the running call trap at its next check (any thread may call)."""
        self.stop = reason
        if self.stop_cell is not None:
            self.stop_cell.value = 1

    def check_new_instance(self) -> None:
        if self.max_instances is not None and self.instances >= self.max_instances:
            raise Trap(RESOURCE_LIMIT, f"{RESOURCE_LIMIT}: more than {self.max_instances} instances")
        self.instances += 1

    def enter(self) -> tuple[int, threading.Timer | None]:
        """Begin a call from the host; returns what ``leave`` restores."""
        self._depth += 1
        previous_limit = sys.getrecursionlimit()
        timer = None
        if self._depth == 1:
            self.stop = None
            if self.stop_cell is not None:
                self.stop_cell.value = 0
            # Each wasm call is one Python frame (CPython 3.11+ needs no C
            # stack for it), so the recursion limit is the call-depth limit.
            frames = 0
            frame = sys._getframe()
            while frame is not None:
                frames += 1
                frame = frame.f_back  # type: ignore[assignment]
            sys.setrecursionlimit(frames + self.max_call_depth + 20)
            if self.deadline is not None:
                timer = threading.Timer(self.deadline, self.interrupt, ("deadline exceeded",))
                timer.daemon = True
                timer.start()
        return previous_limit, timer

    def leave(self, state: tuple[int, threading.Timer | None]) -> None:
        previous_limit, timer = state
        self._depth -= 1
        if timer is not None:
            timer.cancel()
        if self._depth == 0:
            sys.setrecursionlimit(previous_limit)


DEFAULT_SANDBOX = Sandbox()
