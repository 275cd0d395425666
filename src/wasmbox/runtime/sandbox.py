"""Resource limits, call accounting and interruption for the code a store runs.

A guest must not make the host allocate more than allowed, recurse without
bound, overflow the C stack, or run forever.  :class:`Sandbox` holds one
store's limits and the state of the call running in it.

Calls are accounted per store, explicitly, in *units*: a wasm frame costs one
unit, more when it holds many values (``frame_units``: the Python engines
keep a frame's values on the heap, so 50,000 locals recursing must not be
20,000 frames deep), and a crossing from the host back into wasm costs
``HOST_CROSSING_UNITS``.  Engines add their frame's units on entry and check
them against ``calls[1]``; whoever leaves restores the count it found, so a
trap that unwinds many frames at once needs no bookkeeping.  The count does
not use ``sys.setrecursionlimit``, which is one number for the whole process:
one store's limit must not apply to another store's call in another thread.

A store runs one call at a time: entering it from a second thread while a
call runs raises :class:`ConcurrentUseError` (its counters, and the native
engine's context records, belong to the thread running it).

The C stack is checked against this thread's real stack (``runtime.stack``)
at every entry from the host, and machine code gets the lowest address it may
use, so a thread with a small stack gets a clean ``Exhaustion``, never a
segmentation fault.  Engines compile interruption checks (function entries
and loop headers) only when ``interruptible`` is set, so code that needs none
pays nothing.
"""

from __future__ import annotations

import gc
import sys
import threading
from typing import Any

from ..errors import ConcurrentUseError, Exhaustion, Trap
from ..ir.types import MAX_PAGES
from ..records import field, record
from . import stack

RESOURCE_LIMIT = "resource limit exceeded"
# A table's storage grows with the pages written (runtime/table_elements.py), but a guest writing
# every element of 2^32-1 would make the host allocate 32 GB: ten million entries is about 80 MB.
DEFAULT_MAX_TABLE_ELEMENTS = 10_000_000
MAX_CALL_DEPTH_LIMIT = 1_000_000

# A frame of up to this many values (locals and operand stack) is one unit; larger ones are more.
FRAME_UNIT_VALUES = 128
# What a host function calling back into wasm costs (its Python frames: the host function, the API).
HOST_CROSSING_UNITS = 4
# C stack an entry into wasm needs left on its thread, and what machine code leaves unused below
# its frames (for the callbacks into Python it makes and their way back into wasm).
ENTRY_STACK_RESERVE = 512 << 10
NATIVE_STACK_RESERVE = 384 << 10


def frame_units(values: int) -> int:
    """Units of call depth a wasm frame holding ``values`` values (locals and stack) costs."""
    return 1 + values // FRAME_UNIT_VALUES


@record
class Sandbox:
    """Limits of one store, and the accounting of the call running in it.

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
    # [units in use, unit limit], read and written by the engines' code (one list, never replaced).
    calls: list[int] = field(default_factory=lambda: [0, 0], repr=False)
    # Lowest stack address machine code may use during the running call (0: unknown).
    stack_limit: int = field(default=0, repr=False)
    owner: int | None = field(default=None, repr=False)  # the thread running a call here
    _timer: threading.Timer | None = field(default=None, repr=False)
    # Set while an exhausted call stack unwinds to this store's entry (see ``exhausted``).
    collection_paused: bool = field(default=False, repr=False)
    _recursion: int = field(default=0, repr=False)

    def __post_init__(self) -> None:
        if not isinstance(self.max_call_depth, int) or not 1 <= self.max_call_depth <= MAX_CALL_DEPTH_LIMIT:
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

    def exhausted(self) -> Exhaustion:
        """The error to raise where a call's depth runs out, with the cyclic garbage collector paused
        until the error reaches this store's entry (``leave``).

        The error unwinds up to ``max_call_depth`` Python frames at once on the Python engines, and
        each becomes a frame object and a traceback entry: two tracked allocations per frame, so the
        collector would run some sixty times over ever larger generations while the stack unwinds
        (measured: it doubled the time from the deepest frame to the host, 20 ms -> 40-110 ms for
        20,000 frames).  The unwinding makes no garbage a collection could free early, and the
        store's entry drops those frames before the collector runs again (``call_function``).
        """
        if not self.collection_paused:
            _collector.pause()
            self.collection_paused = True
        return Exhaustion()

    def enter(self) -> tuple[int, bool]:
        """Begin a call from the host into wasm; returns what ``leave`` restores.

        Raises ``ConcurrentUseError`` when another thread runs a call here, and
        ``Exhaustion`` when this thread's C stack or the store's depth is used up.
        """
        me = caller_identity()
        calls = self.calls
        if self.owner == me:  # a host function calling back into wasm
            saved = calls[0]
            _check_stack(ENTRY_STACK_RESERVE)
            if saved + HOST_CROSSING_UNITS > calls[1]:
                # Not ``exhausted()``: this entry never began, so its ``leave`` would not end a pause.
                raise Exhaustion()
            calls[0] = saved + HOST_CROSSING_UNITS
            return saved, False
        with _claiming:
            if self.owner is not None:
                raise ConcurrentUseError(
                    "this store is running a call in another thread; a store runs one call at a time "
                    "(give each thread its own store)"
                )
            self.owner = me
        try:
            _check_stack(ENTRY_STACK_RESERVE)
            low = stack.stack_low()
            self.stack_limit = 0 if low is None else low + NATIVE_STACK_RESERVE
            calls[0], calls[1] = 0, self.max_call_depth
            self.stop = None
            if self.stop_cell is not None:
                self.stop_cell.value = 0
            # Python engines run a wasm call as a Python call, which CPython counts against its
            # recursion limit: room for every unit twice over (a frame is one unit or more, a
            # crossing back from the host four units for about eight Python frames).
            self._recursion = _recursion_limits.require(_python_depth() + 2 * self.max_call_depth + 200)
            if self.deadline is not None:
                self._timer = threading.Timer(self.deadline, self.interrupt, ("deadline exceeded",))
                self._timer.daemon = True
                self._timer.start()
        except BaseException:
            self.owner = None
            raise
        return 0, True

    def leave(self, state: tuple[int, bool]) -> None:
        saved, outermost = state
        self.calls[0] = saved
        if self.collection_paused:  # an exhausted call stack has unwound to here
            self.collection_paused = False
            _collector.resume()
        if outermost:
            if self._timer is not None:
                self._timer.cancel()
                self._timer = None
            _recursion_limits.release(self._recursion)
            self.owner = None


class _CollectorPause:
    """Pauses of the cyclic garbage collector that may overlap (stores unwinding in several threads):
    the collector is off while any pause lasts, and afterwards as the embedder had it."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._pauses = 0
        self._was_enabled = False

    def pause(self) -> None:
        with self._lock:
            if self._pauses == 0:
                self._was_enabled = gc.isenabled()
                gc.disable()
            self._pauses += 1

    def resume(self) -> None:
        with self._lock:
            self._pauses -= 1
            if self._pauses == 0 and self._was_enabled:
                gc.enable()


_collector = _CollectorPause()
_claiming = threading.Lock()
_logical = threading.local()


def caller_identity() -> int:
    """Who is calling, for the one-call-at-a-time rule: the OS thread, unless it runs a fiber of the component
    runtime (``component.fibers``), which acts for the thread that resumed it: fibers hand one logical call
    stack between OS threads, never running two at once."""
    identity = getattr(_logical, "identity", None)
    return threading.get_ident() if identity is None else int(identity)


def act_for(identity: int | None) -> None:
    """Make this OS thread's calls count as ``identity``'s (None: as its own)."""
    _logical.identity = identity


def _check_stack(reserve: int) -> None:
    room = stack.available()
    if room is not None and room < reserve:
        raise Exhaustion(
            "call stack exhausted",
            f"call stack exhausted: {room >> 10} KiB of C stack left on this thread, "
            f"wasm needs {reserve >> 10} KiB (run it on a thread with a larger stack)",
        )


def _python_depth() -> int:
    frames = 0
    frame = sys._getframe()
    while frame is not None:
        frames += 1
        frame = frame.f_back  # type: ignore[assignment]
    return frames


class _RecursionLimits:
    """CPython's recursion limit is one number for the process; calls running in several threads
    each need room.  While any call runs, the limit is the largest any of them needs; when the
    last one ends, it is what it was before."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._needs: dict[int, int] = {}
        self._tokens = 0
        self._original = 0

    def require(self, limit: int) -> int:
        with self._lock:
            if not self._needs:
                self._original = sys.getrecursionlimit()
            self._tokens += 1
            self._needs[self._tokens] = limit
            if limit > sys.getrecursionlimit():
                sys.setrecursionlimit(limit)
            return self._tokens

    def release(self, token: int) -> None:
        with self._lock:
            if self._needs.pop(token, None) is None:
                return
            wanted = max(self._needs.values(), default=self._original)
            if wanted < sys.getrecursionlimit():
                try:
                    sys.setrecursionlimit(max(wanted, self._original))
                except RecursionError:  # this thread is deeper than that now: leave it higher
                    pass


_recursion_limits = _RecursionLimits()
