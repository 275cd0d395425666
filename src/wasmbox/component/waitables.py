"""Waitables, waitable sets, subtasks and error contexts (CanonicalABI.md, "Waitable State", "Subtask State").

A waitable (a subtask, or an end of a stream or future) holds at most one pending event, kept as a function so
the event is computed (and its side effects happen) only when core wasm receives it. A waitable is waited on
either through the one waitable set it joined or synchronously by one built-in, never both: a set could
otherwise take the event the synchronous waiter is waiting for. All of these live in the instance's handle
table beside resource handles, so their indices are the ones core wasm sees.
"""

from __future__ import annotations

import enum
from collections.abc import Callable
from dataclasses import dataclass

from ..errors import Trap
from .resources import CallScope
from .tasks import ComponentThread, Event, EventCode, OnCancel

PendingEvent = Callable[[], Event]

SYNC_WHILE_IN_SET = "waitable cannot be used synchronously while added to a waitable set"


class Waitable:
    """Something that produces events: it may belong to one waitable set, or have one synchronous waiter."""

    def __init__(self) -> None:
        self.pending_event: PendingEvent | None = None
        self.wset: WaitableSet | None = None
        self.has_sync_waiter = False

    def set_pending_event(self, event: PendingEvent) -> None:
        self.pending_event = event

    def has_pending_event(self) -> bool:
        return self.pending_event is not None

    def take_pending_event(self) -> Event:
        event = self.pending_event
        assert event is not None
        self.pending_event = None
        return event()

    def wait_for_pending_event(self, thread: ComponentThread) -> None:
        """A synchronous built-in waits for this waitable's next event (not cancellable)."""
        self.has_sync_waiter = True
        try:
            thread.wait_until(self.has_pending_event)
        finally:
            self.has_sync_waiter = False

    def join(self, wset: WaitableSet | None) -> None:
        if self.wset is not None:
            self.wset.elements.remove(self)
        self.wset = wset
        if wset is not None:
            wset.elements.append(self)

    def check_not_in_set(self) -> None:
        if self.wset is not None:
            raise Trap("waitable in a set", SYNC_WHILE_IN_SET)

    def drop(self) -> None:
        self.join(None)


class WaitableSet:
    """Waitables waited on together; ``waiting`` counts the threads waiting on it (it cannot be dropped then)."""

    def __init__(self) -> None:
        self.elements: list[Waitable] = []
        self.waiting = 0

    def has_pending_event(self) -> bool:
        return any(element.has_pending_event() for element in self.elements)

    def take_pending_event(self) -> Event:
        for element in self.elements:
            if element.has_pending_event():
                return element.take_pending_event()
        raise AssertionError("no pending event")

    def wait(self, thread: ComponentThread, cancellable: bool, also: Callable[[], bool] = lambda: True) -> Event:
        """Block until an element has an event (and ``also()`` holds); the event, or TASK_CANCELLED."""
        self.waiting += 1
        try:
            cancelled = thread.wait_until(lambda: also() and self.has_pending_event(), cancellable)
        finally:
            self.waiting -= 1
        if cancelled:
            return (EventCode.TASK_CANCELLED, 0, 0)
        return self.take_pending_event()

    def poll(self, thread: ComponentThread, cancellable: bool) -> Event:
        if thread.task.deliver_pending_cancel(cancellable):
            return (EventCode.TASK_CANCELLED, 0, 0)
        if not self.has_pending_event():
            return (EventCode.NONE, 0, 0)
        return self.take_pending_event()

    def drop(self) -> None:
        if self.elements:
            raise Trap("waitable set not empty", "cannot drop waitable set with waitables in it")
        if self.waiting:
            raise Trap("waitable set has waiters", "cannot drop waitable set with waiters")


class SubtaskState(enum.IntEnum):
    STARTING = 0
    STARTED = 1
    RETURNED = 2
    CANCELLED_BEFORE_STARTED = 3
    CANCELLED_BEFORE_RETURNED = 4


class Subtask(Waitable):
    """The caller's view of a call it made (``canon lower``): how far the callee got, and the handles it lent."""

    def __init__(self) -> None:
        super().__init__()
        self.state = SubtaskState.STARTING
        self.on_cancel: OnCancel | None = None
        self.scope: CallScope | None = CallScope()  # the caller's handles lent as borrows; None once returned
        self.cancellation_requested = False

    def resolved(self) -> bool:
        return self.state >= SubtaskState.RETURNED

    def resolve(self, state: SubtaskState) -> None:
        self.state = state

    def deliver_resolve(self) -> None:
        """The caller learns the call resolved: the handles it lent are its own again."""
        assert self.scope is not None
        for handle in self.scope.lenders:
            handle.lends -= 1
        self.scope.lenders.clear()
        self.scope = None

    def resolve_delivered(self) -> bool:
        return self.scope is None

    def drop(self) -> None:
        if not self.resolve_delivered():
            raise Trap("subtask not resolved", "cannot drop a subtask which has not yet resolved")
        super().drop()


@dataclass(eq=False)
class ErrorContext:
    """An ``error-context`` value: the debug message is kept as given (wasmbox keeps it, the spec allows it)."""

    debug_message: str
