"""Async host functions: wasm entered from a coroutine (``Func.call_async``) runs in a worker
thread, and the coroutines of the ``async def`` host functions it reaches run back on the event
loop that entered it.

Wasm cannot be suspended in the middle of a call, so the call itself cannot be a coroutine: the
worker waits for each host coroutine's result while the loop goes on.

``asyncio`` is imported by the functions that need it, not here: it costs a fifth of
``wasmbox run``'s start-up (ssl, concurrent.futures, logging) and a program that never
awaits never needs it.
"""

from __future__ import annotations

import contextvars
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

from ..errors import Trap

if TYPE_CHECKING:
    import asyncio

    from ..runtime.sandbox import Sandbox

# The event loop of the ``Func.call_async`` whose worker thread runs the current wasm call; set only
# in the worker's context (contextvars), so no other call sees it.
_CALLING_LOOP: contextvars.ContextVar[asyncio.AbstractEventLoop | None] = contextvars.ContextVar(
    "wasmbox_calling_loop", default=None
)


def _running_loop() -> asyncio.AbstractEventLoop | None:
    import asyncio

    try:
        return asyncio.get_running_loop()
    except RuntimeError:
        return None


def run_on_calling_loop(awaitable: Awaitable[object], name: str) -> object:
    """What an async host function returned, awaited on the event loop of the ``call_async`` that
    entered wasm, while this thread (its worker) waits."""
    loop = _CALLING_LOOP.get()
    problem = None
    if loop is None:
        problem = "was called outside call_async: call the wasm function with `await func.call_async(...)`"
    elif loop is _running_loop():
        problem = "was called from its event loop's own thread (a coroutine calling wasm synchronously)"
    if problem is not None:
        import inspect

        if inspect.iscoroutine(awaitable):
            awaitable.close()  # never to be awaited: no "never awaited" warning
        raise Trap("host function failed", f"async host function {name} {problem}")

    async def awaited() -> object:
        return await awaitable

    import asyncio

    assert loop is not None
    return asyncio.run_coroutine_threadsafe(awaited(), loop).result()


async def call_in_worker(call: Callable[..., Any], args: tuple[object, ...], sandbox: Sandbox | None) -> Any:
    """``call(*args)`` in a worker thread (the loop's default executor), with this event loop as the
    one async host functions run on.  Cancelling the await interrupts the call if ``sandbox`` (the
    store's) is interruptible; otherwise the call runs to its end in the worker."""
    import asyncio

    loop = asyncio.get_running_loop()
    context = contextvars.copy_context()
    context.run(_CALLING_LOOP.set, loop)
    try:
        return await loop.run_in_executor(None, context.run, call, *args)
    except asyncio.CancelledError:
        if sandbox is not None and sandbox.interruptible:
            sandbox.interrupt()
        raise
