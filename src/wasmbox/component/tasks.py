"""Tasks, cooperative threads and the event loop of a store (CanonicalABI.md, "Concurrency", "Embedding").

Every call into a component export is a *task* run by its *implicit thread*; ``thread.new-indirect`` adds
explicit threads to a task. Threads are cooperative: one runs at a time, and a thread leaves the processor only
by blocking (waiting for a condition, suspending, or switching to another thread). How a thread keeps its stack
while blocked depends on its task's type:

- the implicit thread of an ``async``-typed call runs on a ``Fiber`` (its own stack), because it may block and
  let its caller go on;
- the implicit thread of a synchronous-typed call runs *inline*, on its caller's stack. Such a call cannot let
  its caller go on before it returns, so when it blocks, it stays on the stack and runs the other ready threads
  of its instance itself until it is ready again, trapping if none is ready (the spec's loop at the end of
  ``canon_lift``; "cannot block a synchronous task before returning"). Ordinary synchronous calls thus cost no
  OS thread at all.

The ``Scheduler`` is the spec's ``Store``: threads waiting for a condition are listed there, and the host's event
loop (``run_until``) resumes ready ones, first come first served (the spec leaves the choice to the embedder),
and waits for the host's own pending futures; nothing ready and nothing pending is a deadlock. Choices the spec
makes nondeterministic are made deterministic here: a wait whose condition already holds returns at once (the
spec's ``wait_until`` may; wasmtime does, and the component tests expect an ``async`` call that waits on an event
already pending to return RETURNED), while a yield (``thread.yield``, a callback's YIELD) always yields.
"""

from __future__ import annotations

import concurrent.futures
import enum
import queue
import threading
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from ..errors import Trap
from .fibers import Fiber
from .resources import CallScope

if TYPE_CHECKING:
    from .instance import ComponentInstance

OnStart = Callable[[], list[Any]]
OnResolve = Callable[[list[Any] | None], None]
OnCancel = Callable[["ComponentInstance | None"], None]

BLOCKED = 0xFFFF_FFFF


class EventCode(enum.IntEnum):
    NONE = 0
    SUBTASK = 1
    STREAM_READ = 2
    STREAM_WRITE = 3
    FUTURE_READ = 4
    FUTURE_WRITE = 5
    TASK_CANCELLED = 6


Event = tuple[int, int, int]

_LOCAL = threading.local()


def current_thread() -> ComponentThread | None:
    """The component thread running on this OS thread (None outside any component call)."""
    return getattr(_LOCAL, "thread", None)


def set_current_thread(thread: ComponentThread | None) -> ComponentThread | None:
    """Make ``thread`` current; returns the previous one, to restore when an inline call returns."""
    previous = getattr(_LOCAL, "thread", None)
    _LOCAL.thread = thread
    return previous


def require_thread() -> ComponentThread:
    thread = current_thread()
    if thread is None:
        raise Trap("no current task", "this built-in needs a running task")
    return thread


def cannot_block() -> Trap:
    return Trap("cannot block", "cannot block a synchronous task before returning")


class ThreadTable:
    """A component instance's threads by index (index 0 reserved; freed slots reused first)."""

    def __init__(self) -> None:
        self.entries: list[ComponentThread | None] = [None]
        self.free: list[int] = []

    def add(self, thread: ComponentThread) -> int:
        if self.free:
            index = self.free.pop()
            self.entries[index] = thread
            return index
        self.entries.append(thread)
        return len(self.entries) - 1

    def get(self, index: int) -> ComponentThread:
        entry = self.entries[index] if 0 < index < len(self.entries) else None
        if entry is None:
            raise Trap("unknown thread", f"unknown thread index {index}")
        return entry

    def remove(self, index: int) -> None:
        self.entries[index] = None
        self.free.append(index)


class Scheduler:
    """The threads of one store that wait for a condition, and the host futures its host imports returned."""

    def __init__(self) -> None:
        self.waiting: list[ComponentThread] = []
        self.host_pending: set[concurrent.futures.Future[Any]] = set()
        self.completions: queue.SimpleQueue[Callable[[], None]] = queue.SimpleQueue()

    def watch(self, future: concurrent.futures.Future[Any], on_done: Callable[[], None]) -> None:
        """Run ``on_done`` on the event loop (never on the future's own thread) once ``future`` completes."""
        self.host_pending.add(future)

        def done(_: concurrent.futures.Future[Any]) -> None:
            self.completions.put(on_done)

        future.add_done_callback(done)

    def drain_completions(self) -> None:
        while True:
            try:
                on_done = self.completions.get_nowait()
            except queue.Empty:
                return
            on_done()

    def tick(self) -> bool:
        """Resume the first ready thread (whose instance can be entered); False if none is ready."""
        for thread in list(self.waiting):
            instance = thread.task.instance
            if instance.poisoned:
                self.waiting.remove(thread)
                thread.abandon()
                continue
            if instance.running or not thread.ready():
                continue
            instance.running = True
            try:
                thread.resume()
            except Trap:
                instance.poisoned = True
                raise
            finally:
                instance.running = False
            return True
        return False

    def abandon_waiting(self) -> None:
        """After a deadlock nothing waiting can ever run: poison their instances (the trap is theirs) and unwind
        their fibers, whose stacks hold core wasm calls (the store's call, the recursion limit it raised)."""
        for thread in list(self.waiting):
            thread.task.instance.poisoned = True
            self.waiting.remove(thread)
            thread.abandon()

    def run_until(self, done: Callable[[], bool]) -> None:
        """The host's event loop: make progress until ``done()``; trap if nothing can make progress."""
        while True:
            self.drain_completions()
            if done():
                return
            if self.tick():
                continue
            pending = {future for future in self.host_pending if not future.done()}
            self.host_pending = pending
            if not pending and self.completions.empty():
                self.abandon_waiting()
                raise Trap("deadlock", "deadlock detected: event loop cannot make further progress")
            if pending:
                concurrent.futures.wait(pending, return_when=concurrent.futures.FIRST_COMPLETED)


class ComponentThread:
    """A cooperative thread (CanonicalABI.md, "Threads"): running, suspended, or waiting for a condition."""

    def __init__(self, task: Task, body: Callable[[], None] | None) -> None:
        self.task = task
        self.ready_func: Callable[[], bool] | None = None
        self.cancellable = False
        self.index: int | None = None
        self.storage = [0, 0]
        self.woken_cancelled = False
        if body is None:  # inline: runs now, on the stack of whoever called
            self.fiber: Fiber | None = None
            self.running = True
        else:
            run = body

            def fiber_body(_: Any) -> None:
                set_current_thread(self)
                run()
                return None  # finished: no thread to switch to

            self.fiber = Fiber(fiber_body)
            self.running = False

    @property
    def scheduler(self) -> Scheduler:
        return self.task.instance.scheduler

    def suspended(self) -> bool:
        return not self.running and self.ready_func is None

    def waiting(self) -> bool:
        return not self.running and self.ready_func is not None

    def ready(self) -> bool:
        return self.ready_func is not None and not self.running and self.ready_func()

    def start_waiting(self, ready_func: Callable[[], bool]) -> None:
        self.ready_func = ready_func
        self.scheduler.waiting.append(self)

    def stop_waiting(self) -> None:
        self.ready_func = None
        self.scheduler.waiting.remove(self)

    def abandon(self) -> None:
        """Unwind this thread's stack if it has one of its own (it will never be resumed)."""
        self.ready_func = None
        if self.fiber is not None:
            self.fiber.abandon()

    def resume_later(self) -> None:
        self.start_waiting(lambda: True)

    def resume(self, cancelled: bool = False) -> None:
        """Run this thread until it blocks, following direct switches to other threads."""
        if self.ready_func is not None:
            self.stop_waiting()
        thread: ComponentThread | None = self
        while thread is not None:
            thread.running = True
            thread.woken_cancelled = cancelled
            if thread.fiber is None:
                return  # an inline thread's stack is below this one: it goes on when control returns to it
            previous = current_thread()
            try:
                thread = thread.fiber.resume(cancelled)
            finally:
                set_current_thread(previous)
            cancelled = False

    def block(self, cancellable: bool, switch_to: ComponentThread | None = None) -> bool:
        """Leave the processor (to ``switch_to`` if given) until resumed; True if resumed to be cancelled."""
        self.cancellable = cancellable
        self.running = False
        if self.fiber is not None:
            self.fiber.suspend(switch_to)
        else:
            self._block_inline(switch_to)
        return self.woken_cancelled

    def may_use_stack(self) -> bool:
        """Whether a synchronous call blocked in this thread's instance may resume this thread on its stack.

        CanonicalABI.md's loop at the end of ``canon_lift`` excludes the thread holding ``exclusive_thread``
        (Component Invariant #3: the synchronous call may be using the one linear-memory shadow stack). The
        implicit thread of any task that needs exclusive use of the stack is excluded for the same reason: even
        when it does not hold the lock (a callback task parked in its event loop), resuming it runs core wasm
        on that shadow stack (during-sync-call-no-exclusive-resume.wast)."""
        task = self.task
        if self is task.instance.exclusive_thread:
            return False
        return not (task.is_async_type and task.needs_exclusive() and self is task.implicit_thread)

    def other_runnable_threads(self) -> list[ComponentThread]:
        """The ready threads of this thread's instance that a synchronous call blocked here may resume."""
        instance = self.task.instance
        return [
            thread
            for thread in self.scheduler.waiting
            if thread.task.instance is instance and thread is not self and thread.may_use_stack() and thread.ready()
        ]

    def _block_inline(self, switch_to: ComponentThread | None) -> None:
        """A synchronous task cannot give its stack away: run the instance's other ready threads until ready.

        The spec picks among the ready threads of the instance, this one included, at random; wasmbox takes
        this thread first when it is ready, then the others first come first served."""
        if switch_to is not None:
            switch_to.resume()
        while not self.running:
            if self.ready():
                self.resume()
                return
            others = self.other_runnable_threads()
            if not others:
                if self.ready_func is not None:
                    self.stop_waiting()
                raise self.blocked_for_good()
            others[0].resume()

    def blocked_for_good(self) -> Trap:
        """The trap of a synchronous call that blocked with nothing it may run (the spec's ``trap_if(not
        candidates)``). Its message is wasmtime's, as the component tests expect: a deadlock when a thread of
        the store is ready but may not run here, "cannot block" when nothing is ready at all."""
        if any(thread.ready() for thread in self.scheduler.waiting if thread is not self):
            return Trap("deadlock", "deadlock detected: event loop cannot make further progress")
        return cannot_block()

    def may_block(self) -> bool:
        """Whether this thread may start an operation that can block: an async-typed task may; a synchronous
        one only while its instance has other threads it could run meanwhile (wasmtime traps such operations
        eagerly, before looking at their operands; during-sync-call-may-block-if-other-ready-threads.wast)."""
        return self.task.is_async_type or bool(self.other_runnable_threads())

    # --- the blocking operations of the built-ins ---------------------------------------------------------------

    def suspend(self, cancellable: bool) -> bool:
        if self.task.deliver_pending_cancel(cancellable):
            return True
        return self.block(cancellable)

    def wait_until(self, ready_func: Callable[[], bool], cancellable: bool = False, always_yield: bool = False) -> bool:
        """Block until ``ready_func()`` (CanonicalABI.md, ``Thread.wait_until``); True if resumed to be cancelled.

        A condition that already holds returns at once, one of the two choices the spec leaves to the embedder;
        ``always_yield`` takes the other, for the operations whose point is to let other threads run."""
        if self.task.deliver_pending_cancel(cancellable):
            return True
        if not always_yield and ready_func():
            return False
        self.start_waiting(ready_func)
        return self.block(cancellable)

    def yield_(self, cancellable: bool) -> bool:
        return self.wait_until(lambda: True, cancellable, always_yield=True)

    def suspend_then_resume(self, cancellable: bool, other: ComponentThread) -> bool:
        if self.task.deliver_pending_cancel(cancellable):
            return True
        return self.block(cancellable, other)

    def yield_then_resume(self, cancellable: bool, other: ComponentThread) -> bool:
        if self.task.deliver_pending_cancel(cancellable):
            return True
        self.start_waiting(lambda: True)
        return self.block(cancellable, other)

    def suspend_then_promote(self, cancellable: bool, other: ComponentThread) -> bool:
        if self.task.deliver_pending_cancel(cancellable):
            return True
        if other.ready():
            other.stop_waiting()
            return self.block(cancellable, other)
        return self.block(cancellable)

    def yield_then_promote(self, cancellable: bool, other: ComponentThread) -> bool:
        if self.task.deliver_pending_cancel(cancellable):
            return True
        if other.ready():
            other.stop_waiting()
            self.start_waiting(lambda: True)
            return self.block(cancellable, other)
        return self.yield_(cancellable)


class TaskState(enum.Enum):
    INITIAL = 1
    STARTED = 2
    PENDING_CANCEL = 3
    CANCEL_DELIVERED = 4
    RESOLVED = 5


class Task:
    """One call of a lifted function (CanonicalABI.md, "Tasks"): its threads, state and borrow count."""

    def __init__(
        self,
        instance: ComponentInstance,
        is_async_type: bool,
        async_options: bool,
        has_callback: bool,
        on_start: OnStart,
        on_resolve: OnResolve,
        result_type: Any = None,
        options: Any = None,
    ) -> None:
        self.instance = instance
        self.is_async_type = is_async_type
        self.async_options = async_options
        self.has_callback = has_callback
        self.on_start = on_start
        self.on_resolve = on_resolve
        self.result_type = result_type
        self.options = options
        self.state = TaskState.INITIAL
        self.scope = CallScope()  # borrows lent to this task: all must be dropped before it resolves
        self.implicit_thread: ComponentThread | None = None
        self.threads: list[ComponentThread] = []

    def needs_exclusive(self) -> bool:
        """Whether this task's core wasm runs one at a time with the instance's other such tasks (invariant 3)."""
        return not self.async_options or self.has_callback

    def enter_implicit_thread(self, thread: ComponentThread) -> bool:
        """Wait for backpressure to clear (async-typed calls); False if cancelled while waiting."""
        self.implicit_thread = thread
        instance = self.instance
        if self.is_async_type:

            def backpressure() -> bool:
                return instance.backpressure > 0 or (self.needs_exclusive() and instance.exclusive_thread is not None)

            if backpressure() or instance.waiting_to_enter > 0:
                instance.waiting_to_enter += 1
                cancelled = thread.wait_until(lambda: not backpressure(), cancellable=True)
                instance.waiting_to_enter -= 1
                if cancelled:
                    self.cancel()
                    return False
            if self.needs_exclusive():
                instance.exclusive_thread = thread
        self.register_thread(thread)
        return True

    def exit_implicit_thread(self) -> None:
        assert self.implicit_thread is not None
        self.unregister_thread(self.implicit_thread)
        if self.is_async_type and self.needs_exclusive():
            self.instance.exclusive_thread = None

    def register_thread(self, thread: ComponentThread) -> None:
        self.threads.append(thread)
        thread.index = self.instance.threads.add(thread)

    def unregister_thread(self, thread: ComponentThread) -> None:
        self.threads.remove(thread)
        if thread.index is not None:
            self.instance.threads.remove(thread.index)
            thread.index = None
        if not self.threads and self.state != TaskState.RESOLVED:
            raise Trap("task did not return", "async-lifted export failed to produce a result")

    def request_cancellation(self, caller: ComponentInstance | None) -> None:
        """The caller no longer wants the result: deliver cancellation now if a thread can take it, else later."""
        if self.state == TaskState.INITIAL:
            self.state = TaskState.CANCEL_DELIVERED
            assert self.implicit_thread is not None
            self.implicit_thread.resume(cancelled=True)
            return
        instance = self.instance
        candidates = [thread for thread in self.threads if thread.cancellable and not thread.running]
        if self.needs_exclusive() and instance.exclusive_thread not in (None, self.implicit_thread):
            candidates = [thread for thread in candidates if thread is not self.implicit_thread]
        if candidates and not instance.running:
            self.state = TaskState.CANCEL_DELIVERED
            instance.running = True
            try:
                candidates[0].resume(cancelled=True)
            except Trap:
                instance.poisoned = True
                raise
            finally:
                instance.running = False
        else:
            self.state = TaskState.PENDING_CANCEL

    def deliver_pending_cancel(self, cancellable: bool) -> bool:
        if cancellable and self.state == TaskState.PENDING_CANCEL:
            self.state = TaskState.CANCEL_DELIVERED
            return True
        return False

    def start(self) -> list[Any]:
        self.state = TaskState.STARTED
        return self.on_start()

    def return_(self, result: list[Any]) -> None:
        if self.state == TaskState.RESOLVED:
            raise Trap("task already resolved", "`task.return` or `task.cancel` called more than once")
        if self.scope.borrows:
            raise Trap("borrow handles remain", "borrow handles still remain at the end of the call")
        self.on_resolve(result)
        self.state = TaskState.RESOLVED

    def cancel(self) -> None:
        if self.state != TaskState.CANCEL_DELIVERED:
            raise Trap("task not cancelled", "`task.cancel` called without cancellation having been requested")
        if self.scope.borrows:
            raise Trap("borrow handles remain", "borrow handles still remain at the end of the call")
        self.on_resolve(None)
        self.state = TaskState.RESOLVED
