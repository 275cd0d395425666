"""Python functions in the engines' calling convention: run-time values in, run-time values out,
every failure a trap.

Engines call a host function as a plain Python callable with run-time values (i32 unsigned, a
funcref a ``FunctionInstance``); what it returns is checked against its type here, never guessed.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

from ..errors import Exhaustion, Trap, WasiExit, WasmException
from ..ir.types import FuncType, ValType
from .asyncio_bridge import run_on_calling_loop
from .values import from_runtime, to_runtime

# What host functions return most of the time: told apart from an awaitable at the cost of one isinstance.
_PLAIN_RESULTS = (int, float, bytes, tuple, list, type(None))


def host_code(
    func_type: FuncType, function: Callable[..., Any], name: str, caller: object | None
) -> Callable[..., Any]:
    """``function`` in the engines' calling convention; ``caller`` (a :class:`Caller`), when given,
    is passed first.  A coroutine it returns is awaited (see ``asyncio_bridge``)."""
    params, results = func_type.params, func_type.results
    call = function if caller is None else functools.partial(function, caller)

    def code(*args: object) -> object:
        python_args = [from_runtime(a, t) for a, t in zip(args, params, strict=True)]
        try:
            result = call(*python_args)
            if not isinstance(result, _PLAIN_RESULTS) and _is_awaitable(result):
                result = run_on_calling_loop(result, name)
        except (Trap, WasiExit, WasmException):
            raise
        except RecursionError:
            raise Exhaustion("call stack exhausted", f"host function {name} ran out of Python stack") from None
        except Exception as error:
            raise Trap(
                "host function failed", f"host function {name} raised {type(error).__name__}: {error}"
            ) from error
        return _host_results(result, results, name)

    return code


def _host_results(result: object, results: tuple[ValType, ...], name: str) -> object:
    """A host function's return value checked against its type, in the engines' convention; a
    value of the wrong type or count is the host function failing (a trap), never a guess."""
    what = f"result of host function {name}"
    try:
        if not results:
            if result is not None:
                raise TypeError(f"host function {name} has no results but returned {type(result).__name__}")
            return None
        if len(results) == 1:
            return to_runtime(result, results[0], what)
        if not isinstance(result, tuple | list) or len(result) != len(results):
            raise TypeError(f"host function {name} must return {len(results)} values (a tuple or list)")
        return tuple(to_runtime(r, t, what) for r, t in zip(result, results, strict=True))
    except TypeError as error:
        raise Trap("host function failed", str(error)) from None


def _is_awaitable(value: object) -> bool:
    """``inspect.isawaitable``, imported when a host function first returns something other than a
    plain value (``inspect`` costs milliseconds of every start)."""
    import inspect

    return inspect.isawaitable(value)
