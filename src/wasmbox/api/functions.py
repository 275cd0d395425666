"""``Func`` and ``Caller``: wasm functions called from Python, Python functions called from wasm,
and the view of an instance's exports that both hand out (``Exports``, ``wrap_extern``).

They live together because they refer to each other: a host function may get a ``Caller``, and a
``Caller`` hands out the calling instance's functions as ``Func`` objects.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from typing import Any

from ..ir.types import FuncType
from ..runtime.instance import CallerAwareFunction, Extern, ModuleInstance, call_function, func_type_text
from ..runtime.memory import MemoryInstance
from ..runtime.objects import FunctionInstance, TableInstance, TagInstance
from .asyncio_bridge import call_in_worker
from .externs import Global, Memory, RuntimeView, Table, Tag
from .host_functions import host_code
from .store import Store
from .values import from_runtime, to_runtime


class Func(RuntimeView[FunctionInstance]):
    """A function: an export of an instance, or a Python host function.

    ``Func(store, FuncType([I32], [I32]), py_function)`` makes a host function;
    calling a Func calls it with Python values.  With ``access_caller=True`` the
    Python function gets a :class:`Caller` as its first argument.  A host function
    may be ``async def``: it is awaited when wasm is entered with :meth:`call_async`.
    """

    def __init__(
        self, store: Store | None, func_type: FuncType, function: Callable[..., Any], access_caller: bool = False
    ) -> None:
        self._instance = host_function(func_type, function, access_caller)

    @property
    def type(self) -> FuncType:
        """The function's type (parameters and results)."""
        return self._instance.type

    def __call__(self, *args: object) -> Any:
        t = self._instance.type
        if len(args) != len(t.params):
            raise TypeError(f"{self._describe()} takes {len(t.params)} arguments, got {len(args)}")
        runtime_args = [
            to_runtime(a, p, f"argument {i + 1}") for i, (a, p) in enumerate(zip(args, t.params, strict=True))
        ]
        result = call_function(self._instance, runtime_args)
        if not t.results:
            return None
        if len(t.results) == 1:
            return from_runtime(result, t.results[0])
        return tuple(from_runtime(r, rt) for r, rt in zip(result, t.results, strict=True))  # type: ignore[call-overload]

    async def call_async(self, *args: object) -> Any:
        """Call from a coroutine, awaiting the ``async def`` host functions the call reaches.

        Wasm cannot be suspended in the middle of a call, so the call runs in a worker thread (the
        loop's default executor) while the event loop goes on; each async host function's coroutine
        is run back on this event loop, and the worker waits for its result.  The store runs that
        one call meanwhile: a coroutine that enters the same store again (in any way) gets
        ``ConcurrentUseError``.  Cancelling the await interrupts the wasm call if the store is
        ``interruptible`` (or has a deadline); otherwise the call runs to its end in the worker.
        """
        owner = self._instance.module
        sandbox = owner.sandbox if isinstance(owner, ModuleInstance) else None
        return await call_in_worker(self.__call__, args, sandbox)

    def _describe(self) -> str:
        return f"function {self._instance.name or self._instance.index}"

    def __repr__(self) -> str:
        return f"<Func {self._instance.name or ''} {func_type_text(self.type)}>"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Func) and other._instance is self._instance

    def __hash__(self) -> int:
        return id(self._instance)


def host_function(func_type: FuncType, function: Callable[..., Any], access_caller: bool = False) -> FunctionInstance:
    """A runtime function calling the Python ``function`` (with a :class:`Caller` first when
    ``access_caller``); its arguments checked here, so that a mistake shows where it is made."""
    if not isinstance(func_type, FuncType):
        raise TypeError(f"a host function's type must be a FuncType, got {type(func_type).__name__}")
    if not callable(function):
        raise TypeError(f"a host function must be callable, got {type(function).__name__}")
    name = getattr(function, "__name__", "host")
    if not access_caller:
        return FunctionInstance(func_type, host_code(func_type, function, name, None), name=name, host=True)
    return CallerAwareFunction(
        func_type, lambda instance: host_code(func_type, function, name, Caller(instance)), name=name
    )


class Caller:
    """The instance calling a host function, given as the first argument to host functions that ask
    for it: ``Func(store, ty, f, access_caller=True)``, ``Linker.define_func(..., access_caller=True)``,
    or a :func:`func` whose first parameter is annotated ``Caller``.

    ``caller["memory"]`` (``KeyError`` if absent) and ``caller.get("memory")`` (None if absent) reach
    the calling instance's exports, also while its start function runs.  A host function called
    from Python rather than from wasm has a caller without exports.

    How the instance is known: engines call host functions as plain Python callables, so each
    instance importing a caller-aware function gets its own copy of it, bound to that instance,
    when it is instantiated (``runtime.instance.CallerAwareFunction``).  The caller is therefore
    the instance that imported the function; a call through a table element that another instance
    stored reports the instance that imported it.
    """

    __slots__ = ("_instance",)

    def __init__(self, instance: ModuleInstance | None) -> None:
        self._instance = instance

    def get(self, name: str) -> ExternObject | None:
        """The calling instance's export ``name``: a Func, Memory, Table, Global or Tag; None if
        it has no such export (or no instance is calling)."""
        extern = None if self._instance is None else self._instance.exports.get(name)
        return None if extern is None else wrap_extern(extern)

    def __getitem__(self, name: str) -> ExternObject:
        extern = self.get(name)
        if extern is None:
            raise KeyError(f"the calling instance has no export {name!r}")
        return extern

    @property
    def exports(self) -> Mapping[str, ExternObject]:
        """Every export of the calling instance (empty when no instance is calling)."""
        return {} if self._instance is None else Exports(self._instance)

    def __repr__(self) -> str:
        return "<Caller without instance>" if self._instance is None else f"<Caller of {sorted(self.exports)}>"


ExternObject = Func | Memory | Table | Global | Tag


def wrap_extern(extern: Extern) -> ExternObject:
    """The API object for a runtime extern (an instance's export, a linker's definition)."""
    if isinstance(extern, FunctionInstance):
        return Func._wrap(extern)
    if isinstance(extern, MemoryInstance):
        return Memory._wrap(extern)
    if isinstance(extern, TableInstance):
        return Table._wrap(extern)
    if isinstance(extern, TagInstance):
        return Tag._wrap(extern)
    return Global._wrap(extern)


class Exports(Mapping[str, ExternObject]):
    """An instance's exports by name: :class:`Func`, :class:`Memory`, :class:`Table`, :class:`Global`
    or :class:`Tag` objects."""

    def __init__(self, instance: ModuleInstance) -> None:
        self._instance = instance

    def __getitem__(self, name: str) -> ExternObject:
        return wrap_extern(self._instance.exports[name])

    def __iter__(self) -> Iterator[str]:
        return iter(self._instance.exports)

    def __len__(self) -> int:
        return len(self._instance.exports)
