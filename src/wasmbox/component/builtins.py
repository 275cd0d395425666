"""The async ABI's built-ins as core functions (CanonicalABI.md, "Canonical Definitions", the 🔀 🧵 📝 ones).

Each ``canon`` definition becomes a host ``Func`` bound to the instance that defined it. Every built-in first
checks that the instance may leave (not during ``post-return``), then works on the current thread's task or the
instance's handle and thread tables. Values crossing through memory (events, stream elements, ``task.return``
results) use the canonical ABI codec with the built-in's own options.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from ..api import Func
from ..canonical_abi import MAX_FLAT_PARAMS, AbiContext, shape_of
from ..canonical_abi.codec import lift_values, store_string
from ..errors import Trap
from ..ir.types import F32, F64, I32, I64, FuncType, ValType
from ..wit.model import FutureOf, StreamOf, Type, TypeDef
from . import ir
from .functions import CanonicalOptions, InstanceHandles, check_may_leave
from .streams import (
    CopyEnd,
    CopyResult,
    CopyState,
    GuestBuffer,
    ReadableEnd,
    SharedFuture,
    SharedStream,
    WritableEnd,
    type_key,
)
from .tasks import BLOCKED, ComponentThread, EventCode, TaskState, cannot_block, require_thread
from .type_space import ComponentUnsupported
from .waitables import SYNC_WHILE_IN_SET, ErrorContext, Subtask, Waitable, WaitableSet

if TYPE_CHECKING:
    from .instance import ComponentInstance, _Instantiation


def _func(params: tuple[ValType, ...], results: tuple[ValType, ...], body: Callable[..., Any]) -> Func:
    return Func(None, FuncType(params, results), body)


def _u32(value: Any) -> int:
    return int(value) % (1 << 32)


def _thread_of(instance: ComponentInstance) -> ComponentThread:
    check_may_leave(instance)
    return require_thread()


def _check_may_block(thread: ComponentThread) -> None:
    """A synchronous-typed task may not call a built-in that can block on another component (wasmtime checks
    this before anything else, and the component tests expect its message)."""
    if not thread.may_block():
        raise cannot_block()


def make_builtin(space: _Instantiation, canon: ir.Canon) -> Func | None:
    """The core function of an async-ABI ``canon`` definition (None: not one of these)."""
    maker = _MAKERS.get(canon.op.split(".", 1)[0])
    return None if maker is None else maker(space, canon)


# --- task-level built-ins ---------------------------------------------------------------------------------------


def _context_builtins(space: _Instantiation, canon: ir.Canon) -> Func:
    slot = int(canon.immediate("u32"))  # type: ignore[call-overload]
    core_type = canon.immediate("core_valtype")
    value_type = I64 if core_type == I64 else I32
    if canon.op == "context.get":

        def get() -> int:  # allowed during post-return (the spec's context.get checks no may_leave)
            return int(require_thread().storage[slot])

        return _func((), (value_type,), get)

    def set_(value: int) -> None:
        require_thread().storage[slot] = int(value) % (1 << (64 if value_type == I64 else 32))

    return _func((value_type,), (), set_)


def _backpressure_builtins(space: _Instantiation, canon: ir.Canon) -> Func:
    instance = space.instance
    step = 1 if canon.op == "backpressure.inc" else -1

    def change() -> None:  # no may-leave check: the spec allows it during post-return (values/post-return.wast)
        instance.backpressure += step
        if not 0 <= instance.backpressure < (1 << 16):
            raise Trap("backpressure out of range", "backpressure counter overflow or underflow")

    return _func((), (), change)


def _task_builtins(space: _Instantiation, canon: ir.Canon) -> Func:
    instance = space.instance
    if canon.op == "task.cancel":

        def cancel() -> None:
            thread = _thread_of(instance)
            if not thread.task.async_options:
                raise Trap("task.cancel in a sync task", "`task.cancel` called by a synchronously-lifted function")
            thread.task.cancel()

        return _func((), (), cancel)
    raw = canon.immediate("results")
    result_type = None if raw is None else space.types.value_type(raw)  # type: ignore[arg-type]
    options = space.options(canon)
    shapes = [] if result_type is None else [shape_of(result_type)]
    flat = [core for shape in shapes for core in shape.flat]
    core = ["i32"] if len(flat) > MAX_FLAT_PARAMS else flat
    key = type_key(result_type)

    def task_return(*args: Any) -> None:
        thread = _thread_of(instance)
        task = thread.task
        if not task.async_options:
            raise Trap("task.return in a sync task", "`task.return` called by a synchronously-lifted function")
        if key != type_key(task.result_type) or (result_type is None) != (task.result_type is None):
            raise Trap("task.return type mismatch", "invalid `task.return` signature and/or options for current task")
        lifted_options = task.options
        # The spec compares the memories always; wasmtime (and the component tests) only when this
        # `task.return` names one: without one, a result needing memory traps while lifting anyway.
        if lifted_options is not None and (
            (options.memory is not None and not _same_memory(lifted_options.memory, options.memory))
            or lifted_options.string_encoding != options.string_encoding
        ):
            raise Trap("task.return type mismatch", "invalid `task.return` signature and/or options for current task")
        cx = options.context(InstanceHandles(instance, task.scope))
        unsigned = [_unsigned(value, kind) for value, kind in zip(args, core, strict=True)]
        values = lift_values(cx, unsigned, shapes, MAX_FLAT_PARAMS)
        task.return_(values)

    return _func(tuple(_CORE[c] for c in core), (), task_return)


def _same_memory(first: Any, second: Any) -> bool:
    """Whether two API memories are one runtime memory (each export lookup makes a new API object)."""
    return getattr(first, "_instance", first) is getattr(second, "_instance", second)


_CORE: dict[str, ValType] = {"i32": I32, "i64": I64, "f32": F32, "f64": F64}


def _unsigned(value: Any, kind: str) -> Any:
    if kind == "i32":
        return int(value) % (1 << 32)
    if kind == "i64":
        return int(value) % (1 << 64)
    return value


# --- waitable sets and subtasks --------------------------------------------------------------------------------


def _write_event(memory: Any, pointer: int, event: tuple[int, int, int]) -> int:
    code, first, second = event
    cx = AbiContext(memory)
    cx.check_range(pointer, 8, 4, "event")
    cx.write_int(pointer, first, 4)
    cx.write_int(pointer + 4, second, 4)
    return int(code)


def _waitable_set(instance: ComponentInstance, index: int) -> WaitableSet:
    return instance.handles.entry_of(index, WaitableSet, "waitable set")


def _waitable_set_builtins(space: _Instantiation, canon: ir.Canon) -> Func:
    instance = space.instance
    op = canon.op
    if op == "waitable-set.new":

        def new() -> int:
            check_may_leave(instance)
            return instance.handles.add(WaitableSet())

        return _func((), (I32,), new)
    if op == "waitable-set.drop":

        def drop(index: int) -> None:
            check_may_leave(instance)
            wset = _waitable_set(instance, _u32(index))
            wset.drop()
            instance.handles.remove(_u32(index))

        return _func((I32,), (), drop)
    cancellable = bool(canon.immediate("cancel"))
    memory = space.core_memories[int(canon.immediate("core_memory"))]  # type: ignore[call-overload]
    polling = op == "waitable-set.poll"

    def wait(index: int, pointer: int) -> int:
        thread = _thread_of(instance)
        if not polling:
            _check_may_block(thread)
        wset = _waitable_set(instance, _u32(index))
        event = wset.poll(thread, cancellable) if polling else wset.wait(thread, cancellable)
        return _write_event(memory, _u32(pointer), event)

    return _func((I32, I32), (I32,), wait)


def _waitable_builtins(space: _Instantiation, canon: ir.Canon) -> Func:
    instance = space.instance

    def join(waitable_index: int, set_index: int) -> None:
        check_may_leave(instance)
        waitable = instance.handles.entry_of(_u32(waitable_index), Waitable, "waitable")
        if waitable.has_sync_waiter:
            raise Trap("waitable has a waiter", SYNC_WHILE_IN_SET)
        if _u32(set_index) == 0:
            waitable.join(None)
        else:
            waitable.join(_waitable_set(instance, _u32(set_index)))

    return _func((I32, I32), (), join)


def _subtask(instance: ComponentInstance, index: int) -> Subtask:
    return instance.handles.entry_of(index, Subtask, "subtask")


def _subtask_builtins(space: _Instantiation, canon: ir.Canon) -> Func:
    instance = space.instance
    if canon.op == "subtask.drop":

        def drop(index: int) -> None:
            check_may_leave(instance)
            subtask = _subtask(instance, _u32(index))
            subtask.drop()
            instance.handles.remove(_u32(index))

        return _func((I32,), (), drop)
    is_async = bool(canon.immediate("async"))

    def cancel(index: int) -> int:
        thread = _thread_of(instance)
        if not is_async:
            _check_may_block(thread)
        subtask = _subtask(instance, _u32(index))
        if subtask.resolve_delivered():
            raise Trap("subtask resolved", "`subtask.cancel` called after terminal status delivered")
        if subtask.cancellation_requested:
            raise Trap("subtask cancelled", "`subtask.cancel` called more than once")
        if subtask.wset is not None and not is_async:
            raise Trap("waitable in a set", SYNC_WHILE_IN_SET)
        if not subtask.resolved():
            subtask.cancellation_requested = True
            assert subtask.on_cancel is not None
            subtask.on_cancel(instance)
            if not subtask.resolved():
                if is_async:
                    return BLOCKED
                subtask.wait_for_pending_event(thread)
        subtask.take_pending_event()
        return int(subtask.state)

    return _func((I32,), (I32,), cancel)


# --- streams and futures ---------------------------------------------------------------------------------------


def _element_of(space: _Instantiation, canon: ir.Canon) -> tuple[str, Type | None]:
    declared = space.types.value_type(int(canon.immediate("type")))  # type: ignore[call-overload]
    target = declared.dealias() if isinstance(declared, TypeDef) else declared
    if not isinstance(target, TypeDef) or not isinstance(target.kind, StreamOf | FutureOf):
        raise Trap("not a stream or future type", f"`canon {canon.op}` names a type that is not a stream or future")
    return ("stream" if isinstance(target.kind, StreamOf) else "future"), target.kind.inner


def _end(instance: ComponentInstance, index: int, kind: str, readable: bool, key: object) -> CopyEnd:
    entry = instance.handles.entry(index)
    wanted = ReadableEnd if readable else WritableEnd
    if not isinstance(entry, wanted) or entry.kind != kind:
        side = "readable" if readable else "writable"
        raise Trap("wrong end", f"handle index {index} is not the {side} end of a {kind}")
    if entry.shared.key != key:
        raise Trap("type mismatch", f"{kind} handle index {index} has another element type")
    return entry


def _stream_builtins(space: _Instantiation, canon: ir.Canon) -> Func:
    instance = space.instance
    kind, element = _element_of(space, canon)
    key = type_key(element)
    action = canon.op.split(".", 1)[1]
    is_future = kind == "future"
    if action == "new":

        def new() -> int:
            check_may_leave(instance)
            shared = SharedFuture(element) if is_future else SharedStream(element)
            readable = instance.handles.add(ReadableEnd(shared))
            writable = instance.handles.add(WritableEnd(shared))
            return readable | (writable << 32)

        return _func((), (I64,), new)
    if action.startswith("drop-"):
        readable = action == "drop-readable"

        def drop(index: int) -> None:
            check_may_leave(instance)
            end = _end(instance, _u32(index), kind, readable, key)
            end.drop()
            instance.handles.remove(_u32(index))

        return _func((I32,), (), drop)
    if action.startswith("cancel-"):
        return _cancel_builtin(instance, kind, key, action == "cancel-read", bool(canon.immediate("async")))
    options = space.options(canon)
    reading = action == "read"
    event_code = {
        ("stream", True): EventCode.STREAM_READ,
        ("stream", False): EventCode.STREAM_WRITE,
        ("future", True): EventCode.FUTURE_READ,
        ("future", False): EventCode.FUTURE_WRITE,
    }[(kind, reading)]

    def copy(index: int, pointer: int, length: int = 1) -> int:
        thread = _thread_of(instance)
        if not options.is_async:
            _check_may_block(thread)
        index = _u32(index)
        end = _end(instance, index, kind, reading, key)
        if end.state == CopyState.DONE:
            raise Trap("end done", end.done_message())
        if end.state != CopyState.IDLE:
            raise Trap("end busy", "cannot have concurrent operations active on a future/stream")
        if end.wset is not None and not options.is_async:
            raise Trap("waitable in a set", SYNC_WHILE_IN_SET)
        cx = options.context(InstanceHandles(instance, None))
        buffer = GuestBuffer(cx, element, _u32(pointer), 1 if is_future else _u32(length))

        def event(result: CopyResult, reclaim: Callable[[], None]) -> tuple[int, int, int]:
            reclaim()
            end.partial_progress = False
            if result == CopyResult.DROPPED or (is_future and result == CopyResult.COMPLETED):
                end.state = CopyState.DONE
            else:
                end.state = CopyState.IDLE
            payload = int(result) if is_future else int(result) | (buffer.progress << 4)
            return (event_code, index, payload)

        def on_copy(reclaim: Callable[[], None]) -> None:
            end.partial_progress = True
            end.set_pending_event(lambda: event(CopyResult.COMPLETED, reclaim))

        def on_done(result: CopyResult) -> None:
            end.partial_progress = False
            end.set_pending_event(lambda: event(result, lambda: None))

        end.state = CopyState.COPYING
        end.copy(instance, buffer, on_copy, on_done)
        if not end.has_pending_event():
            if options.is_async:
                return BLOCKED
            end.wait_for_pending_event(thread)
        return end.take_pending_event()[2]

    if is_future:
        return _func((I32, I32), (I32,), lambda index, pointer: copy(index, pointer))
    return _func((I32, I32, I32), (I32,), copy)


def _cancel_builtin(instance: ComponentInstance, kind: str, key: object, reading: bool, is_async: bool) -> Func:
    def cancel(index: int) -> int:
        thread = _thread_of(instance)
        if not is_async:
            _check_may_block(thread)
        index = _u32(index)
        end = _end(instance, index, kind, reading, key)
        if end.state != CopyState.COPYING or end.has_sync_waiter:
            raise Trap("no copy to cancel", f"there is no pending {kind} operation to cancel")
        if end.wset is not None and not is_async:
            raise Trap("waitable in a set", SYNC_WHILE_IN_SET)
        end.state = CopyState.CANCELLING
        # CanonicalABI.md's `cancel_copy` cancels only when no event is pending. An event that reports only
        # partial progress (`OnCopy`) leaves the buffer lent to the stream, so the copy is still going on and
        # can be cancelled: the result is CANCELLED with the elements copied so far, which the Explainer allows
        # ("the result may be `cancelled`") and the component tests expect (cancel-stream.wast, 0x42).
        if not end.has_pending_event() or end.partial_progress:
            end.shared.cancel()
            if not end.has_pending_event():
                if is_async:
                    return BLOCKED
                end.wait_for_pending_event(thread)
        return end.take_pending_event()[2]

    return _func((I32,), (I32,), cancel)


# --- error contexts --------------------------------------------------------------------------------------------


def _error_context_builtins(space: _Instantiation, canon: ir.Canon) -> Func:
    instance = space.instance
    if canon.op == "error-context.drop":

        def drop(index: int) -> None:
            check_may_leave(instance)
            if not isinstance(instance.handles.entry(_u32(index)), ErrorContext):
                raise Trap("not an error context", f"handle index {_u32(index)} is not an error context")
            instance.handles.remove(_u32(index))

        return _func((I32,), (), drop)
    options = space.options(canon)
    if canon.op == "error-context.new":

        def new(pointer: int, units: int) -> int:
            check_may_leave(instance)
            # The spec lets the message be dropped unread (the deterministic profile always does): wasmbox keeps
            # nothing, so no well-formedness of the guest's string is checked here either.
            return instance.handles.add(ErrorContext(""))

        return _func((I32, I32), (I32,), new)

    def debug_message(index: int, pointer: int) -> None:
        check_may_leave(instance)
        entry = instance.handles.entry(_u32(index))
        if not isinstance(entry, ErrorContext):
            raise Trap("not an error context", f"handle index {_u32(index)} is not an error context")
        cx = options.context(InstanceHandles(instance, None))
        cx.check_range(_u32(pointer), 8, 4, "string")
        address, length = store_string(cx, entry.debug_message)
        cx.write_int(_u32(pointer), address, 4)
        cx.write_int(_u32(pointer) + 4, length, 4)

    return _func((I32, I32), (), debug_message)


# --- threads ---------------------------------------------------------------------------------------------------


def _thread_builtins(space: _Instantiation, canon: ir.Canon) -> Func:
    instance = space.instance
    op = canon.op.split(".", 1)[1]
    if op in ("spawn-ref", "spawn-indirect", "available-parallelism"):
        raise ComponentUnsupported(f"`canon {canon.op}` (shared-everything threads) is not supported yet")
    if op == "index":

        def index() -> int:
            thread = _thread_of(instance)
            assert thread.index is not None
            return thread.index

        return _func((), (I32,), index)
    if op == "new-indirect":
        table = space.core_tables[int(canon.immediate("core_table"))]  # type: ignore[call-overload]

        def new_indirect(function_index: int, closure: int) -> int:
            thread = _thread_of(instance)
            task = thread.task
            function = _table_function(table, _u32(function_index))

            def body() -> None:
                function(closure)
                task.unregister_thread(new_thread)

            new_thread = ComponentThread(task, body)
            task.register_thread(new_thread)
            assert new_thread.index is not None
            return new_thread.index

        return _func((I32, I32), (I32,), new_indirect)
    if op == "resume-later":

        def resume_later(index: int) -> None:
            check_may_leave(instance)
            other = instance.threads.get(_u32(index))
            if not other.suspended():
                raise Trap("thread not suspended", "cannot resume a thread that is not suspended")
            other.resume_later()

        return _func((I32,), (), resume_later)
    cancellable = bool(canon.immediate("cancel"))
    if op in ("suspend", "yield"):

        def suspend_or_yield() -> int:
            thread = _thread_of(instance)
            return int(thread.suspend(cancellable) if op == "suspend" else thread.yield_(cancellable))

        return _func((), (I32,), suspend_or_yield)

    def switch(index: int) -> int:
        thread = _thread_of(instance)
        other = instance.threads.get(_u32(index))
        if op in ("suspend-then-resume", "yield-then-resume") and not other.suspended():
            raise Trap("thread not suspended", "cannot resume a thread that is not suspended")
        if other is thread:
            raise Trap("thread not suspended", "cannot resume a thread that is not suspended")
        if op == "suspend-then-resume":
            return int(thread.suspend_then_resume(cancellable, other))
        if op == "yield-then-resume":
            return int(thread.yield_then_resume(cancellable, other))
        if op == "suspend-then-promote":
            return int(thread.suspend_then_promote(cancellable, other))
        return int(thread.yield_then_promote(cancellable, other))

    return _func((I32,), (I32,), switch)


def _table_function(table: Any, index: int) -> Callable[..., Any]:
    """The ``(func (param i32))`` at ``index`` of a core table, as a callable (trapping as call_indirect does)."""
    if not 0 <= index < table.size:
        raise Trap("undefined element", "undefined element: table index out of bounds")
    function = table.get(index)
    if function is None:
        raise Trap("uninitialized element", "uninitialized element")
    if getattr(function, "type", None) != FuncType((I32,), ()):
        raise Trap("indirect call type mismatch", "indirect call type mismatch")
    return function  # type: ignore[no-any-return]


_MAKERS: dict[str, Callable[[_Instantiation, ir.Canon], Func]] = {
    "context": _context_builtins,
    "backpressure": _backpressure_builtins,
    "task": _task_builtins,
    "waitable-set": _waitable_set_builtins,
    "waitable": _waitable_builtins,
    "subtask": _subtask_builtins,
    "stream": _stream_builtins,
    "future": _stream_builtins,
    "error-context": _error_context_builtins,
    "thread": _thread_builtins,
}

__all__ = ["CanonicalOptions", "TaskState", "make_builtin"]
