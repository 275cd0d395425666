"""Tail calls for the engines that run wasm as Python calls: a trampoline shared by all of them.

A wasm tail call (``return_call``, ``return_call_indirect``; Wasm 3.0) replaces
the caller's frame by the callee's, so a loop of tail calls runs in constant
stack.  Python has no such call, so the Python engines (the portable engine's
translation and the baseline interpreter) split a function that makes tail
calls in two:

* its *body*, which ends a tail call by returning a :class:`TailCall` (the
  callee and its arguments) instead of calling: its frame is gone before the
  callee starts, and so is its share of the store's call accounting;
* its *entry*, the callable everyone else calls (``f<index>`` in the
  instance's namespace, ``FunctionInstance.code``), which runs the body and
  then, while a ``TailCall`` comes back, the callee (``settle``).

``settle`` runs a callee's own body when it has one (``entry.tail_body``), so
a chain of tail calls through any number of functions, of any types, of any
instances, stays one frame deep.  A callee without a body (a function that
makes no tail calls, a host function, machine code) is simply called: it
returns its results.  No entry ever returns a ``TailCall``; callers of
functions that make no tail calls pay nothing.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any


class TailCall:
    """What a body returns for ``return_call``: call ``callee`` with ``args`` in my place."""

    __slots__ = ("callee", "args")

    def __init__(self, callee: Callable[..., Any], args: tuple[Any, ...]) -> None:
        self.callee = callee
        self.args = args


def settle(call: TailCall) -> Any:
    """Run a chain of tail calls to its end and return its results (never a ``TailCall``)."""
    callers = _CALLERS
    while True:
        callee = call.callee
        args = call.args
        count = len(args)
        caller = callers.get(count) or _caller(count)
        result = caller(getattr(callee, "tail_body", callee), args)
        if result.__class__ is not TailCall:
            return result
        call = result


def tail_entry(body: Callable[..., Any], arity: int) -> Callable[..., Any]:
    """The entry of a function of ``arity`` parameters whose ``body`` may return a ``TailCall`` (see
    the module's docstring).

    It passes its arguments on as a plain call (never ``body(*args)``, which would cost a C frame
    for every wasm frame below it).
    """
    factory = _ENTRY_FACTORIES.get(arity)
    if factory is None:
        names = ", ".join(f"a{i}" for i in range(arity))
        source = (
            "def factory(body, TailCall, settle):\n"
            f"    def tail_entry({names}):\n"
            f"        result = body({names})\n"
            "        if result.__class__ is TailCall:\n"
            "            return settle(result)\n"
            "        return result\n"
            "    return tail_entry\n"
        )
        scope: dict[str, Any] = {}
        exec(source, scope)  # noqa: S102 - generated from an arity
        factory = _ENTRY_FACTORIES[arity] = scope["factory"]
    entry: Any = factory(body, TailCall, settle)
    entry.tail_body = body
    entry.__name__ = f"tail_entry_{body.__name__}"
    return entry  # type: ignore[no-any-return]


_ENTRY_FACTORIES: dict[int, Callable[..., Callable[..., Any]]] = {}


def _caller(count: int) -> Callable[[Callable[..., Any], tuple[Any, ...]], Any]:
    """``caller(callee, args)`` calls ``callee`` with the ``count`` values of ``args`` as a plain call
    (made at the first tail call of that arity: compiling one costs ~25 us, and most runs make none)."""
    arguments = ", ".join(f"args[{i}]" for i in range(count))
    scope: dict[str, Any] = {}
    exec(f"def caller(callee, args):\n    return callee({arguments})\n", scope)  # noqa: S102
    caller: Callable[[Callable[..., Any], tuple[Any, ...]], Any] = scope["caller"]
    _CALLERS[count] = caller
    return caller


_CALLERS: dict[int, Callable[[Callable[..., Any], tuple[Any, ...]], Any]] = {}
