"""Component functions: ``canon lift`` (core → component) and ``canon lower`` (component → core).

A component function takes and returns Python values (``wasmbox.canonical_abi.values``). A lifted function
lowers its arguments into its instance's memory and core values, calls the core function, lifts the results
and runs ``post-return``; a lowered function is the mirror image, a core host function that lifts its
arguments from the calling instance, calls the component function and lowers the result back. A call from
one component into another is a lowered function calling a lifted one, with Python values in between.

The rules the canonical ABI adds around a call hold here: an instance cannot be re-entered while it runs
(``may_enter``); borrowed handles a call receives must be dropped before it returns; handles lent to a call
cannot be dropped or moved until it returns.
"""

from __future__ import annotations

import concurrent.futures
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any, Protocol

from ..canonical_abi import MAX_FLAT_PARAMS, MAX_FLAT_RESULTS, AbiContext, Err, Ok, shape_of
from ..canonical_abi.codec import HandleHooks, lift_values, lower_values
from ..canonical_abi.shapes import HandleShape, Shape
from ..errors import Trap
from ..ir.types import F32, F64, I32, I64, FuncType, ValType
from ..wit.model import ResultOf, TypeDef
from .resources import CallScope, ResourceHandle, ResourceValue, check_handle, runtime_resource
from .streams import ReadableEnd, SharedFuture, SharedStream, take_readable_end
from .tasks import (
    ComponentThread,
    EventCode,
    OnCancel,
    OnResolve,
    OnStart,
    Task,
    cannot_block,
    current_thread,
    set_current_thread,
)
from .type_space import FuncSignature
from .waitables import ErrorContext, Subtask, SubtaskState, WaitableSet

if TYPE_CHECKING:
    from .instance import ComponentInstance

MAX_FLAT_ASYNC_PARAMS = 4  # an async lower passes more flat parameters through memory
_CORE_TYPES: dict[str, ValType] = {"i32": I32, "i64": I64, "f32": F32, "f64": F64}


class ComponentFunction(Protocol):
    """What every component function offers: its signature and a call with Python values."""

    signature: FuncSignature

    def call_values(self, args: Sequence[Any]) -> list[Any]: ...

    def start_call(
        self, on_start: OnStart, on_resolve: OnResolve, caller: ComponentInstance | None
    ) -> OnCancel | None: ...


class CanonicalOptions:
    """``canon lift``/``lower`` options, resolved to the core items they name."""

    def __init__(
        self,
        memory: Any = None,
        realloc: Any = None,
        post_return: Any = None,
        string_encoding: str = "utf8",
        is_async: bool = False,
        callback: Any = None,
    ) -> None:
        self.memory = memory
        self.realloc = realloc
        self.post_return = post_return
        self.string_encoding = string_encoding
        self.is_async = is_async
        self.callback = callback

    def context(self, handles: HandleHooks) -> AbiContext:
        realloc = None
        if self.realloc is not None:
            core_realloc = self.realloc

            def realloc(old: int, old_size: int, alignment: int, size: int) -> int:
                return int(core_realloc(old, old_size, alignment, size)) % (1 << 32)

        return AbiContext(self.memory, realloc, self.string_encoding, 4, handles)


class InstanceHandles:
    """Handle hooks for values crossing into or out of one component instance during one call."""

    def __init__(self, instance: ComponentInstance, scope: CallScope | None) -> None:
        self.instance = instance
        self.scope = scope if scope is not None else CallScope()

    def lift(self, shape: HandleShape, index: int) -> Any:
        if shape.kind in ("stream", "future"):
            return take_readable_end(self.instance.handles, index, shape.kind, shape.element)
        if shape.kind == "error-context":
            entry = self.instance.handles.entry(index)
            if not isinstance(entry, ErrorContext):
                raise Trap("not an error context", f"handle index {index} is not an error context")
            return entry
        if shape.resource is None:
            raise Trap("unsupported", f"{shape.kind}s are not supported yet")
        resource = runtime_resource(shape.resource)
        table = self.instance.handles
        if shape.borrowed:
            handle = table.get(index)
            check_handle(handle, resource, index)
            if handle.own:
                handle.lends += 1
                self.scope.lenders.append(handle)
            return ResourceValue(resource, handle.rep, borrowed=True)
        handle = table.get(index)
        check_handle(handle, resource, index)
        if not handle.own:
            raise Trap("not an owning handle", "cannot pass a borrowed handle as an owned one")
        if handle.lends:
            raise Trap("resource has borrows", "cannot remove owned resource while borrowed")
        table.remove(index)
        resource.host_receives(handle.rep)
        return ResourceValue(resource, handle.rep)

    def lower(self, shape: HandleShape, value: Any) -> int:
        if shape.kind in ("stream", "future"):
            if not isinstance(value, SharedStream) or (shape.kind == "future") != isinstance(value, SharedFuture):
                raise TypeError(f"expected a {shape.kind}, got {value!r}")
            return self.instance.handles.add(ReadableEnd(value))
        if shape.kind == "error-context":
            if not isinstance(value, ErrorContext):
                raise TypeError(f"expected an error context, got {value!r}")
            return self.instance.handles.add(value)
        if shape.resource is None:
            raise Trap("unsupported", f"{shape.kind}s are not supported yet")
        resource = runtime_resource(shape.resource)
        value = getattr(value, "resource_value", value)  # a typed binding's resource object stands for its value
        if not isinstance(value, ResourceValue) or value.resource is not resource:
            raise TypeError(f"expected a resource of type `{resource.name}`, got {value!r}")
        if shape.borrowed:
            resource.host_lends(value)
            if resource.owner is self.instance:
                return value.rep  # the implementer gets the representation itself
            self.scope.borrows += 1
            return self.instance.handles.add(ResourceHandle(resource, value.rep, own=False, scope=self.scope))
        resource.host_releases(value.rep)
        return self.instance.handles.add(ResourceHandle(resource, value.rep, own=True))


def _shapes(signature: FuncSignature) -> tuple[list[Shape], list[Shape]]:
    params = [shape_of(type_) for _, type_ in signature.params]
    results = [] if signature.result is None else [shape_of(signature.result)]
    return params, results


def _core_results(value: Any, count: int) -> list[Any]:
    if count == 0:
        return []
    if count == 1:
        return [value]
    return list(value)


class LiftedFunction:
    """``canon lift``: a core function of ``instance`` made a component function.

    Each call is a task. A synchronous-typed call runs its implicit thread inline, on the caller's stack; an
    ``async``-typed one runs it on a fiber, so that it may block and leave its caller to go on (the caller then
    holds a subtask). ``call_values`` is the host's entry: for an async-typed function it runs the store's event
    loop until the task returns its value."""

    def __init__(
        self, instance: ComponentInstance, core: Any, signature: FuncSignature, options: CanonicalOptions
    ) -> None:
        self.instance = instance
        self.core = core
        self.signature = signature
        self.options = options
        self.param_shapes, self.result_shapes = _shapes(signature)
        flat_results = sum(len(shape.flat) for shape in self.result_shapes)
        self.core_result_count = 1 if flat_results > MAX_FLAT_RESULTS else flat_results

    def start_call(self, on_start: OnStart, on_resolve: OnResolve, caller: ComponentInstance | None) -> OnCancel | None:
        """The spec's ``FuncInst``: start a call; returns how to request its cancellation if it blocked."""
        instance = self.instance
        if instance.running:
            raise Trap("cannot enter component instance", "cannot enter component instance: it is running")
        if instance.poisoned:
            raise Trap("cannot enter component instance", "cannot enter component instance: it trapped earlier")
        options = self.options
        task = Task(
            instance,
            self.signature.is_async,
            options.is_async,
            options.callback is not None,
            on_start,
            on_resolve,
            self.signature.result,
            options,
        )
        instance.running = True
        try:
            if not self.signature.is_async:
                thread = ComponentThread(task, None)
                previous = set_current_thread(thread)
                try:
                    self._run(task, thread)
                finally:
                    set_current_thread(previous)
                return None
            fiber_thread = ComponentThread(task, lambda: self._run(task, fiber_thread))
            fiber_thread.resume()
        except Trap:
            instance.poisoned = True
            raise
        finally:
            instance.running = False
        return task.request_cancellation

    def _run(self, task: Task, thread: ComponentThread) -> None:
        """The implicit thread of one call (CanonicalABI.md, ``canon_lift``'s ``thread_func``)."""
        instance = self.instance
        options = self.options
        if not task.enter_implicit_thread(thread):
            return
        cx = options.context(InstanceHandles(instance, task.scope))
        args = task.start()
        flat_args = lower_values(cx, args, self.param_shapes, MAX_FLAT_PARAMS)
        if not options.is_async:
            core_results = _core_results(self.core(*flat_args), self.core_result_count)
            task.return_(lift_values(cx, core_results, self.result_shapes, MAX_FLAT_RESULTS))
            if options.post_return is not None:
                instance.may_leave = False
                try:
                    options.post_return(*core_results)
                finally:
                    instance.may_leave = True
            task.exit_implicit_thread()
            return
        if options.callback is None:
            self.core(*flat_args)
            task.exit_implicit_thread()
            return
        packed = int(self.core(*flat_args)) % (1 << 32)
        while packed & 0xF != CALLBACK_EXIT:
            code, index = packed & 0xF, packed >> 4
            if code > CALLBACK_WAIT:
                raise Trap("unsupported callback code", f"unsupported callback code: {code}")
            instance.exclusive_thread = None

            def others_done() -> bool:
                return instance.exclusive_thread is None

            event: tuple[int, int, int]
            if code == CALLBACK_YIELD:
                cancelled = thread.wait_until(others_done, cancellable=True, always_yield=True)
                event = (EventCode.TASK_CANCELLED if cancelled else EventCode.NONE, 0, 0)
            else:
                wset = instance.handles.entry_of(index, WaitableSet, "waitable set")
                event = wset.wait(thread, True, others_done)
            instance.exclusive_thread = thread
            packed = int(options.callback(int(event[0]), event[1], event[2])) % (1 << 32)
        task.exit_implicit_thread()

    def call_values(self, args: Sequence[Any]) -> list[Any]:
        """Call from the host with Python values; an async-typed call runs the event loop until it returns."""
        box: list[list[Any] | None] = []
        self.start_call(lambda: list(args), box.append, None)
        if not box:
            self.instance.scheduler.run_until(lambda: bool(box))
        results = box[0]
        if results is None:
            raise Trap("task cancelled", "the call was cancelled")
        return results

    def __call__(self, *args: Any) -> Any:
        """Call with Python values; a ``result`` comes back as its ok value, its error raised as ``Err``."""
        return unwrap_result(self.signature, self.call_values(args))


CALLBACK_EXIT = 0
CALLBACK_YIELD = 1
CALLBACK_WAIT = 2


def unwrap_result(signature: FuncSignature, results: list[Any]) -> Any:
    if not results:
        return None
    value = results[0]
    result_type = signature.result
    if isinstance(result_type, TypeDef) and isinstance(result_type.dealias(), TypeDef):
        target = result_type.dealias()
        assert isinstance(target, TypeDef)
        if isinstance(target.kind, ResultOf):
            if isinstance(value, Err):
                raise value
            assert isinstance(value, Ok)
            return value.value
    return value


class HostFunction:
    """A Python function given as a component import, with the type the import declares.

    For an ``async``-typed import the function may return a ``concurrent.futures.Future``: the call then blocks
    (the calling task gets a subtask, or waits) until the future completes; the store's event loop waits for it
    when nothing else can run, and cancelling the subtask cancels the future."""

    def __init__(self, function: Callable[..., Any], signature: FuncSignature, name: str) -> None:
        self.function = function
        self.signature = signature
        self.name = name

    def _results(self, produce: Callable[[], Any]) -> list[Any]:
        result_type = self.signature.result
        target = result_type.dealias() if isinstance(result_type, TypeDef) else result_type
        returns_result = isinstance(target, TypeDef) and isinstance(target.kind, ResultOf)
        try:
            value = produce()
        except Err as error:
            if not returns_result:
                raise Trap("host function failed", f"host function {self.name} raised Err({error.value!r})") from None
            return [error]
        except (Trap, TypeError) as error:
            if isinstance(error, Trap):
                raise
            raise Trap("host function failed", f"host function {self.name} raised TypeError: {error}") from error
        if result_type is None:
            return []
        if returns_result and not isinstance(value, Ok | Err):
            value = Ok(value)
        return [value]

    def start_call(self, on_start: OnStart, on_resolve: OnResolve, caller: ComponentInstance | None) -> OnCancel | None:
        args = on_start()
        outcome: list[Any] = []

        def call() -> Any:
            value = self.function(*args)
            outcome.append(value)
            return None if isinstance(value, concurrent.futures.Future) else value

        results = self._results(call)
        if not outcome or not isinstance(outcome[0], concurrent.futures.Future):
            on_resolve(results)
            return None
        future: concurrent.futures.Future[Any] = outcome[0]
        if caller is None or (future.done() and not future.cancelled()):
            on_resolve(self._results(future.result))
            return None

        def finish() -> None:
            if future.cancelled():
                on_resolve(None)
            else:
                on_resolve(self._results(future.result))

        caller.scheduler.watch(future, finish)

        def cancel(_: ComponentInstance | None) -> None:
            future.cancel()

        return cancel

    def call_values(self, args: Sequence[Any]) -> list[Any]:
        box: list[list[Any] | None] = []
        self.start_call(lambda: list(args), box.append, None)
        results = box[0]
        assert results is not None
        return results


def start_call(
    callee: Any, on_start: OnStart, on_resolve: OnResolve, caller: ComponentInstance | None
) -> OnCancel | None:
    """Call any component function through the task protocol (objects with only ``call_values`` too)."""
    method = getattr(callee, "start_call", None)
    if method is not None:
        return method(on_start, on_resolve, caller)  # type: ignore[no-any-return]
    on_resolve(callee.call_values(on_start()))
    return None


def lower_function(caller: ComponentInstance, callee: ComponentFunction, options: CanonicalOptions) -> Any:
    """``canon lower``: ``callee`` as a core host function of the calling instance (an API ``Func``).

    A synchronous lower returns the results (waiting, if the callee blocks, as its task may); an ``async``
    lower returns at once with the subtask's state, and a subtask index when the callee has not returned yet."""
    from ..api import Func

    param_shapes, result_shapes = _shapes(callee.signature)
    flat_params = [core for shape in param_shapes for core in shape.flat]
    flat_results = [core for shape in result_shapes for core in shape.flat]
    is_async = options.is_async
    if is_async:
        max_params, max_results = MAX_FLAT_ASYNC_PARAMS, 0
        core_params = ["i32"] if len(flat_params) > MAX_FLAT_ASYNC_PARAMS else flat_params
        has_out_pointer = bool(flat_results)
        if has_out_pointer:
            core_params = [*core_params, "i32"]
        core_results = ["i32"]
    else:
        max_params, max_results = MAX_FLAT_PARAMS, MAX_FLAT_RESULTS
        core_params = ["i32"] if len(flat_params) > MAX_FLAT_PARAMS else flat_params
        core_results = flat_results
        has_out_pointer = len(flat_results) > MAX_FLAT_RESULTS
        if has_out_pointer:
            core_params = [*core_params, "i32"]
            core_results = []
    core_type = FuncType(tuple(_CORE_TYPES[c] for c in core_params), tuple(_CORE_TYPES[c] for c in core_results))

    callee_instance = callee.instance if isinstance(callee, LiftedFunction) else None
    if callee_instance is not None and (callee_instance.contains(caller) or caller.contains(callee_instance)):
        # A parent and a component nested in it may not call each other (for now: CanonicalABI.md, "may_enter").
        def refuse(*core_args: Any) -> Any:
            raise Trap("cannot enter component instance", "cannot enter component instance: a parent and its child")

        return Func(None, core_type, refuse)

    callee_may_block = callee.signature.is_async

    def trampoline(*core_args: Any) -> Any:
        check_may_leave(caller)
        thread = current_thread()
        if not is_async and callee_may_block and (thread is None or not thread.may_block()):
            raise cannot_block()  # a synchronous task calling an async-typed function synchronously could block
        unsigned = [_unsigned(value, kind) for value, kind in zip(core_args, core_params, strict=True)]
        out_pointer = unsigned.pop() if has_out_pointer else None
        subtask = Subtask()
        assert subtask.scope is not None
        cx = options.context(InstanceHandles(caller, subtask.scope))
        results: list[Any] = []
        progress: list[Callable[[], None]] = []

        def on_start() -> list[Any]:
            for report in progress:
                report()
            subtask.state = SubtaskState.STARTED
            return lift_values(cx, unsigned, param_shapes, max_params)

        def on_resolve(values: list[Any] | None) -> None:
            for report in progress:
                report()
            if values is None:
                started = subtask.state == SubtaskState.STARTED
                subtask.resolve(
                    SubtaskState.CANCELLED_BEFORE_RETURNED if started else SubtaskState.CANCELLED_BEFORE_STARTED
                )
            else:
                results[:] = lower_values(cx, values, result_shapes, max_results, out_pointer)
                subtask.resolve(SubtaskState.RETURNED)

        was_running = caller.running
        caller.running = True  # the caller cannot be re-entered while the callee runs on its behalf
        try:
            subtask.on_cancel = start_call(callee, on_start, on_resolve, caller)
        finally:
            caller.running = was_running
        if not is_async:
            if not subtask.resolved():
                assert thread is not None
                thread.wait_until(subtask.resolved)
            subtask.deliver_resolve()
            if not core_results:
                return None
            return results[0] if len(results) == 1 else tuple(results)
        if subtask.resolved():
            subtask.deliver_resolve()
            return int(SubtaskState.RETURNED)
        index = caller.handles.add(subtask)

        def report_progress() -> None:
            def event() -> tuple[int, int, int]:
                if subtask.resolved():
                    subtask.deliver_resolve()
                return (EventCode.SUBTASK, index, int(subtask.state))

            subtask.set_pending_event(event)

        progress.append(report_progress)
        return int(subtask.state) | (index << 4)

    return Func(None, core_type, trampoline)


def check_may_leave(instance: ComponentInstance) -> None:
    if not instance.may_leave:
        raise Trap("cannot leave component instance", "cannot leave component instance during post-return")


def _unsigned(value: Any, kind: str) -> Any:
    if kind == "i32":
        return int(value) % (1 << 32)
    if kind == "i64":
        return int(value) % (1 << 64)
    return value
