"""The embedding API: load modules, link host functions, call exports.

Modelled on wasmtime-py, simpler where Python allows::

    store = Store()
    module = Module('(module (func (export "add") (param i32 i32) (result i32) '
                    'local.get 0 local.get 1 i32.add))')
    instance = Instance(store, module)
    instance.exports["add"](1, 2)   # -> 3

Values cross the boundary as Python values: i32/i64 as (signed) ints, f32/f64
as floats, v128 as 16 bytes, funcref as :class:`Func` or None, externref as
any Python object (None is null).  Several results come back as a tuple.

Where wasmtime-py passes a store to every call (``func(store, 1, 2)``), an
object here knows the store it belongs to: ``func(1, 2)``.  Types are the
toolchain's own (``FuncType``, ``MemoryType(Limits(1, 2))``, ...).
"""

from __future__ import annotations

import asyncio
import contextvars
import functools
import inspect
from collections.abc import Awaitable, Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from . import numeric
from .engines.registry import DEFAULT_ENGINE, ENGINE_CLASSES
from .errors import (
    DuplicateDefinitionError,
    Exhaustion,
    LinkError,
    OutOfBoundsError,
    Trap,
    UnknownImportError,
    WasiExit,
    WasmException,
)
from .ir.module import Module as ModuleIR
from .ir.types import (
    EXTERNREF,
    F32,
    F64,
    FUNCREF,
    I32,
    I64,
    MAX_PAGES,
    V128,
    ExternKind,
    FuncType,
    GlobalType,
    Limits,
    MemoryType,
    TableType,
    ValType,
)
from .load import load_module
from .runtime.instance import (
    CallerAwareFunction,
    Extern,
    ModuleInstance,
    call_function,
    expected_type,
    extern_type_text,
    func_type_text,
    instantiate,
)
from .runtime.memory import MemoryInstance
from .runtime.objects import MAX_TABLE_SIZE, FunctionInstance, GlobalInstance, TableInstance, TagInstance
from .runtime.observer import Observer
from .runtime.sandbox import DEFAULT_MAX_TABLE_ELEMENTS, RESOURCE_LIMIT, Sandbox
from .validate import validate_module

if TYPE_CHECKING:
    from .wasi import WasiConfig, WasiInstance

_ENGINE_CLASSES = ENGINE_CLASSES
WASI_MODULE = "wasi_snapshot_preview1"
ENGINES: tuple[str, ...] = tuple(_ENGINE_CLASSES)


class Store:
    """Owns the runtime objects of a group of instances, picks the engine and
    sets the limits guests run under.

    ``engine``: one of :data:`ENGINES`, or ``"auto"`` for the fastest one
    available on this machine.  Limits: ``max_memory_pages`` and
    ``max_table_elements`` (growing past them fails, as ``memory.grow``
    returning -1), ``max_instances``, ``max_call_depth`` (deeper recursion
    raises :class:`Exhaustion`), ``deadline`` (seconds of wall-clock time per
    call into wasm; a :class:`Trap` "deadline exceeded" when it passes),
    ``interruptible`` (allows :meth:`interrupt`) and ``fuel`` (every executed
    instruction but ``end``/``else`` costs one unit; a :class:`Trap` "out of
    fuel" when none is left).  Checks are compiled in only when asked for, so
    code that needs none runs at full speed.  ``observer`` (a
    :class:`wasmbox.runtime.observer.Observer`) sees every function entry and
    exit, and every instruction if it asks to: the tracer, debugger and
    profiler are observers.
    """

    def __init__(
        self,
        engine: str = "auto",
        *,
        max_memory_pages: int = 65536,
        max_table_elements: int = DEFAULT_MAX_TABLE_ELEMENTS,
        max_instances: int | None = None,
        max_call_depth: int = 20_000,
        deadline: float | None = None,
        interruptible: bool = False,
        fuel: int | None = None,
        observer: Observer | None = None,
    ) -> None:
        if engine == "auto":
            engine = DEFAULT_ENGINE
        if engine not in _ENGINE_CLASSES:
            raise ValueError(f"unknown engine {engine!r}; available: {', '.join(ENGINES)}")
        self.engine_name = engine
        self.engine = _ENGINE_CLASSES[engine]()
        self.sandbox = Sandbox(
            max_memory_pages=max_memory_pages,
            max_table_elements=max_table_elements,
            max_instances=max_instances,
            max_call_depth=max_call_depth,
            deadline=deadline,
            interruptible=interruptible,
            fuel=fuel,
        )
        self.observer = observer

    def fuel_remaining(self) -> int | None:
        """Fuel left, or None for a store created without fuel.  (Fuel is
        charged per basic block, so a trap may overdraw it; that reads as 0.)"""
        fuel = self.sandbox.fuel
        return None if fuel is None else max(fuel, 0)

    def add_fuel(self, amount: int) -> None:
        """Top up the fuel of a metered store."""
        if self.sandbox.fuel is None:
            raise RuntimeError("this store was not created with fuel")
        if amount < 0:
            raise ValueError("fuel can only be added")
        self.sandbox.fuel += amount

    def interrupt(self) -> None:
        """Stop the running wasm call (from any thread): it raises a
        :class:`Trap` "interrupted".  Needs ``interruptible=True`` or a deadline."""
        if not self.sandbox.interruptible:
            raise RuntimeError("this store was not created with interruptible=True")
        self.sandbox.interrupt()


@dataclass(frozen=True)
class TagType:
    """The type of an exception tag (Wasm 3.0 exception handling): the function type whose
    parameters are the payload of the exceptions it tags (results are always empty)."""

    functype: FuncType


ExternType = FuncType | TableType | MemoryType | GlobalType | TagType
_KIND_OF_TYPE: dict[type, ExternKind] = {
    FuncType: ExternKind.FUNC,
    TableType: ExternKind.TABLE,
    MemoryType: ExternKind.MEMORY,
    GlobalType: ExternKind.GLOBAL,
    TagType: ExternKind.TAG,
}


def _type_text(extern_type: ExternType) -> str:
    if isinstance(extern_type, TagType):
        return extern_type_text(ExternKind.TAG, extern_type.functype)
    return extern_type_text(_KIND_OF_TYPE[type(extern_type)], extern_type)


class ImportType(tuple[str, str, str]):
    """One import of a module: ``module``, ``name`` and ``type`` (a :class:`FuncType`,
    :class:`TableType`, :class:`MemoryType`, :class:`GlobalType` or :class:`TagType`).

    It is also the tuple ``(module, name, kind)`` (kind: ``"func"``, ``"table"``, ``"memory"``,
    ``"global"`` or ``"tag"``) that ``Module.imports`` gave before it had types, so code that
    unpacks or compares those tuples keeps working.
    """

    type: ExternType

    def __new__(cls, module: str, name: str, type: ExternType) -> ImportType:  # noqa: A002 - wasmtime's name
        self = super().__new__(cls, (module, name, _KIND_OF_TYPE[type.__class__].text))
        self.type = type
        return self

    def __getnewargs__(self) -> tuple[str, str, ExternType]:  # type: ignore[override]
        return (self[0], self[1], self.type)

    @property
    def module(self) -> str:
        """The module name the import asks for."""
        return self[0]

    @property
    def name(self) -> str:
        """The item name within that module."""
        return self[1]

    @property
    def kind(self) -> str:
        """``"func"``, ``"table"``, ``"memory"``, ``"global"`` or ``"tag"``."""
        return self[2]

    def __eq__(self, other: object) -> bool:
        if isinstance(other, ImportType):
            return tuple.__eq__(self, other) and self.type == other.type
        return tuple.__eq__(self, other)

    def __ne__(self, other: object) -> bool:
        return not self == other

    __hash__ = tuple.__hash__

    def __repr__(self) -> str:
        return f"ImportType({self[0]!r}, {self[1]!r}, {_type_text(self.type)})"


class ExportType(tuple[str, str]):
    """One export of a module: ``name`` and ``type`` (as for :class:`ImportType`).

    It is also the tuple ``(name, kind)`` that ``Module.exports`` gave before it had types.
    """

    type: ExternType

    def __new__(cls, name: str, type: ExternType) -> ExportType:  # noqa: A002 - wasmtime's name
        self = super().__new__(cls, (name, _KIND_OF_TYPE[type.__class__].text))
        self.type = type
        return self

    def __getnewargs__(self) -> tuple[str, ExternType]:  # type: ignore[override]
        return (self[0], self.type)

    @property
    def name(self) -> str:
        """The export's name."""
        return self[0]

    @property
    def kind(self) -> str:
        """``"func"``, ``"table"``, ``"memory"``, ``"global"`` or ``"tag"``."""
        return self[1]

    def __eq__(self, other: object) -> bool:
        if isinstance(other, ExportType):
            return tuple.__eq__(self, other) and self.type == other.type
        return tuple.__eq__(self, other)

    def __ne__(self, other: object) -> bool:
        return not self == other

    __hash__ = tuple.__hash__

    def __repr__(self) -> str:
        return f"ExportType({self[0]!r}, {_type_text(self.type)})"


def _load(source: bytes | bytearray | memoryview | str, name: str | None) -> ModuleIR:
    data = bytes(source) if isinstance(source, bytes | bytearray | memoryview) else source
    # Bodies stay bytes until used: validation checks them (natively, for large modules).
    ir = load_module(data, name, lazy=True)
    validate_module(ir)
    return ir


class Module:
    """A validated module, from binary bytes or WAT text.

    Raises :class:`MalformedError` or :class:`ValidationError`.
    """

    def __init__(self, source: bytes | bytearray | memoryview | str, name: str | None = None) -> None:
        self.ir: ModuleIR = _load(source, name)
        self.name = name

    @staticmethod
    def validate(source: bytes | bytearray | memoryview | str) -> None:
        """Check that ``source`` (binary bytes or WAT text) is a valid module, without keeping it:
        returns None, or raises :class:`MalformedError` or :class:`ValidationError`."""
        _load(source, None)

    @classmethod
    def from_file(cls, path: str | Path) -> Module:
        """The module in the file at ``path`` (binary or text); errors name the file."""
        return cls(Path(path).read_bytes(), str(path))

    @classmethod
    def _from_ir(cls, ir: ModuleIR, name: str | None) -> Module:
        module = cls.__new__(cls)
        module.ir = ir
        module.name = name
        return module

    def compile(self) -> Module:
        """Make the module's machine code now (it is otherwise made when the module gets hot), so
        that ``serialize`` and pickling carry it and other processes need not compile it.  A no-op
        without llvmlite.  Returns the module."""
        from .engines.native import available

        if available():
            from .engines.native.engine import compiled_code

            compiled_code(self.ir, False)
        return self

    @property
    def compiled(self) -> bool:
        """Whether this process has the module's machine code (made here, or brought along by
        ``deserialize`` or unpickling), so running it needs no compilation."""
        from .engines.native import available

        if not available():
            return False
        from .engines.native.engine import is_compiled

        return is_compiled(self.ir, False)

    def serialize(self) -> bytes:
        """The module as bytes ``Module.deserialize`` loads in another process of this wasmbox on this
        kind of machine, with the machine code this process has for it (see ``compile``)."""
        from .serialize import serialize

        return serialize(self.ir, self.name)

    @classmethod
    def deserialize(cls, data: bytes | bytearray | memoryview) -> Module:
        """A module from ``serialize``'s bytes, not validated again (so: only bytes your own processes
        made); raises :class:`SerializationError` for bytes of another version or machine, cut short
        or changed."""
        from .serialize import deserialize

        ir, name = deserialize(data)
        return cls._from_ir(ir, name)

    @classmethod
    def deserialize_file(cls, path: str | Path) -> Module:
        """``deserialize`` of the bytes in the file at ``path``."""
        return cls.deserialize(Path(path).read_bytes())

    def __reduce__(self) -> tuple[Any, tuple[bytes]]:
        # Pickling (multiprocessing, concurrent.futures, dask) ships the serialized module: its
        # machine code goes along.
        return (Module.deserialize, (self.serialize(),))

    @property
    def imports(self) -> list[ImportType]:
        """Each import, in order, as an :class:`ImportType` (``module``, ``name``, ``type``; also the
        tuple ``(module, name, kind)``)."""
        types = self.ir.types
        return [ImportType(i.module, i.name, _as_extern_type(i.kind, expected_type(i, types))) for i in self.ir.imports]

    @property
    def exports(self) -> list[ExportType]:
        """Each export, in order, as an :class:`ExportType` (``name``, ``type``; also the tuple
        ``(name, kind)``)."""
        ir = self.ir
        spaces: dict[ExternKind, Callable[[], Sequence[FuncType | TableType | MemoryType | GlobalType]]] = {
            ExternKind.FUNC: ir.func_types,
            ExternKind.TABLE: ir.table_types,
            ExternKind.MEMORY: ir.memory_types,
            ExternKind.GLOBAL: ir.global_types,
            ExternKind.TAG: ir.tag_types,
        }
        found: dict[ExternKind, Sequence[FuncType | TableType | MemoryType | GlobalType]] = {}
        result = []
        for export in ir.exports:
            if export.kind not in found:
                found[export.kind] = spaces[export.kind]()
            result.append(ExportType(export.name, _as_extern_type(export.kind, found[export.kind][export.index])))
        return result


def _as_extern_type(kind: ExternKind, extern_type: FuncType | TableType | MemoryType | GlobalType) -> ExternType:
    """A tag's function type as a :class:`TagType`; other types as they are."""
    if kind == ExternKind.TAG:
        assert isinstance(extern_type, FuncType)
        return TagType(extern_type)
    return extern_type


# --- values -------------------------------------------------------------------


def to_runtime(value: object, t: ValType, what: str) -> object:
    """Convert a Python value for a wasm parameter of type ``t``."""
    if t is I32 or t is I64:
        bits = 32 if t is I32 else 64
        if not isinstance(value, int):
            raise TypeError(f"{what}: expected an int for {t.text}, got {type(value).__name__}")
        if not -(1 << (bits - 1)) <= value < (1 << bits):
            raise TypeError(f"{what}: {value} does not fit in {t.text}")
        return value & ((1 << bits) - 1)
    if t is F32 or t is F64:
        if not isinstance(value, int | float):
            raise TypeError(f"{what}: expected a float for {t.text}, got {type(value).__name__}")
        try:
            number = float(value)
        except OverflowError:
            raise TypeError(f"{what}: {value} is too large for {t.text}") from None
        return numeric.f32_round(number) if t is F32 else number
    if t is V128:
        if isinstance(value, int):
            return (value & ((1 << 128) - 1)).to_bytes(16, "little")
        if not isinstance(value, bytes | bytearray) or len(value) != 16:
            raise TypeError(f"{what}: expected 16 bytes or an int for v128")
        return bytes(value)
    if t is FUNCREF:
        if value is None:
            return None
        if not isinstance(value, Func):
            raise TypeError(f"{what}: expected a Func or None for funcref, got {type(value).__name__}")
        return value._instance
    return value  # externref: any object


def from_runtime(value: object, t: ValType) -> object:
    """Convert a run-time value of type ``t`` for Python: i32/i64 signed, a funcref as a :class:`Func`."""
    # Engines may hold i32 results of comparisons as Python bools (they are
    # ints); users get plain ints.
    if t is I32:
        return numeric.signed32(int(value))  # type: ignore[call-overload]
    if t is I64:
        return numeric.signed64(int(value))  # type: ignore[call-overload]
    if t is FUNCREF:
        return None if value is None else Func._wrap(value)  # type: ignore[arg-type]
    return value


# --- host functions ----------------------------------------------------------------


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
        return None if extern is None else _wrap_extern(extern)

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


# The event loop of the ``Func.call_async`` whose worker thread runs the current wasm call; set only
# in the worker's context (contextvars), so no other call sees it.
_CALLING_LOOP: contextvars.ContextVar[asyncio.AbstractEventLoop | None] = contextvars.ContextVar(
    "wasmbox_calling_loop", default=None
)


def _running_loop() -> asyncio.AbstractEventLoop | None:
    try:
        return asyncio.get_running_loop()
    except RuntimeError:
        return None


def _run_on_calling_loop(awaitable: Awaitable[object], name: str) -> object:
    """What an async host function returned, awaited on the event loop of the ``call_async`` that
    entered wasm, while this thread (its worker) waits: wasm cannot be suspended midway, so the
    wasm call runs in a worker thread and the host function's coroutine runs back on the loop."""
    loop = _CALLING_LOOP.get()
    problem = None
    if loop is None:
        problem = "was called outside call_async: call the wasm function with `await func.call_async(...)`"
    elif loop is _running_loop():
        problem = "was called from its event loop's own thread (a coroutine calling wasm synchronously)"
    if problem is not None:
        if inspect.iscoroutine(awaitable):
            awaitable.close()  # never to be awaited: no "never awaited" warning
        raise Trap("host function failed", f"async host function {name} {problem}")

    async def awaited() -> object:
        return await awaitable

    assert loop is not None
    return asyncio.run_coroutine_threadsafe(awaited(), loop).result()


# What host functions return most of the time: told apart from an awaitable at the cost of one isinstance.
_PLAIN_RESULTS = (int, float, bytes, tuple, list, type(None))


def _host_code(
    func_type: FuncType, function: Callable[..., Any], name: str, caller: Caller | None
) -> Callable[..., Any]:
    """``function`` in the engines' calling convention (run-time values in and out); ``caller``,
    when given, is passed first.  A coroutine it returns is awaited (see ``_run_on_calling_loop``)."""
    params, results = func_type.params, func_type.results
    call = function if caller is None else functools.partial(function, caller)

    def code(*args: object) -> object:
        python_args = [from_runtime(a, t) for a, t in zip(args, params, strict=True)]
        try:
            result = call(*python_args)
            if not isinstance(result, _PLAIN_RESULTS) and inspect.isawaitable(result):
                result = _run_on_calling_loop(result, name)
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


def _host_function(func_type: FuncType, function: Callable[..., Any], access_caller: bool = False) -> FunctionInstance:
    if not isinstance(func_type, FuncType):
        raise TypeError(f"a host function's type must be a FuncType, got {type(func_type).__name__}")
    if not callable(function):
        raise TypeError(f"a host function must be callable, got {type(function).__name__}")
    name = getattr(function, "__name__", "host")
    if not access_caller:
        return FunctionInstance(func_type, _host_code(func_type, function, name, None), name=name, host=True)
    return CallerAwareFunction(
        func_type, lambda instance: _host_code(func_type, function, name, Caller(instance)), name=name
    )


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


# --- externs ----------------------------------------------------------------------


class Func:
    """A function: an export of an instance, or a Python host function.

    ``Func(store, FuncType([I32], [I32]), py_function)`` makes a host function;
    calling a Func calls it with Python values.  With ``access_caller=True`` the
    Python function gets a :class:`Caller` as its first argument.  A host function
    may be ``async def``: it is awaited when wasm is entered with :meth:`call_async`.
    """

    def __init__(
        self, store: Store | None, func_type: FuncType, function: Callable[..., Any], access_caller: bool = False
    ) -> None:
        self._instance = _host_function(func_type, function, access_caller)

    @classmethod
    def _wrap(cls, instance: FunctionInstance) -> Func:
        func = cls.__new__(cls)
        func._instance = instance
        return func

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
        loop = asyncio.get_running_loop()
        context = contextvars.copy_context()
        context.run(_CALLING_LOOP.set, loop)
        try:
            return await loop.run_in_executor(None, context.run, self.__call__, *args)
        except asyncio.CancelledError:
            owner = self._instance.module
            if isinstance(owner, ModuleInstance) and owner.sandbox.interruptible:
                owner.sandbox.interrupt()
            raise

    def _describe(self) -> str:
        return f"function {self._instance.name or self._instance.index}"

    def __repr__(self) -> str:
        return f"<Func {self._instance.name or ''} {func_type_text(self.type)}>"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Func) and other._instance is self._instance

    def __hash__(self) -> int:
        return id(self._instance)


_ANNOTATION_TYPES: dict[object, ValType] = {int: I32, float: F64, bytes: V128}
_ANNOTATION_TYPES.update({t: t for t in ValType})
_ANNOTATION_TYPES.update({t.text: t for t in ValType})
_ANNOTATION_TYPES.update({"int": I32, "float": F64, "bytes": V128})


def _result_types(annotation: object) -> tuple[ValType, ...] | None:
    """Result types from a return annotation (also in string form, as with
    ``from __future__ import annotations``); None if not understood."""
    if annotation in (None, "None", inspect.Signature.empty):
        return ()
    if annotation in _ANNOTATION_TYPES:
        return (_ANNOTATION_TYPES[annotation],)
    if getattr(annotation, "__origin__", None) is tuple:
        items: list[object] = list(annotation.__args__)  # type: ignore[attr-defined]
    elif isinstance(annotation, str) and annotation.startswith("tuple[") and annotation.endswith("]"):
        items = [part.strip().strip("'\"") for part in annotation[6:-1].split(",")]
    else:
        return None
    if not all(item in _ANNOTATION_TYPES for item in items):
        return None
    return tuple(_ANNOTATION_TYPES[item] for item in items)


def _is_caller_annotation(annotation: object) -> bool:
    """``Caller``, also as a string (``"Caller"``, ``"wasmbox.Caller"``: ``from __future__ import annotations``)."""
    if annotation is Caller:
        return True
    return isinstance(annotation, str) and annotation.strip("'\"").rsplit(".", 1)[-1] == "Caller"


def func(function: Callable[..., Any]) -> Func:
    """Decorator: a host function typed by its annotations.

    ``int`` means i32, ``float`` f64; use ``"i64"``, ``"f32"``, ``"externref"``
    (or the ``ValType`` members) for the others.  Return ``None`` for no
    results, a value for one, a ``tuple[...]`` annotation for several.  A first
    parameter annotated :class:`Caller` receives the calling instance; an
    ``async def`` function is awaited under :meth:`Func.call_async`.
    """
    signature = inspect.signature(function, eval_str=False)
    parameters = list(signature.parameters.items())
    access_caller = bool(parameters) and _is_caller_annotation(parameters[0][1].annotation)
    params = []
    for name, parameter in parameters[1:] if access_caller else parameters:
        annotation = parameter.annotation
        if isinstance(annotation, str):
            annotation = annotation.strip("'\"")
        if annotation not in _ANNOTATION_TYPES:
            raise TypeError(f"host function {function.__name__}: parameter {name} needs a wasm type annotation")
        params.append(_ANNOTATION_TYPES[annotation])
    results = _result_types(signature.return_annotation)
    if results is None:
        raise TypeError(
            f"host function {function.__name__}: unsupported return annotation {signature.return_annotation!r}"
        )
    return Func(None, FuncType(tuple(params), results), function, access_caller)


def _count(value: object, what: str, maximum: int) -> int:
    """An integer argument of the API in ``0..maximum``, checked before anything changes
    (a negative delta once shrank a memory below its bounds checks)."""
    if not isinstance(value, int) or isinstance(value, bool):
        raise TypeError(f"{what} must be an int, got {type(value).__name__}")
    if not 0 <= value <= maximum:
        raise ValueError(f"{what} must be between 0 and {maximum}, got {value}")
    return value


def _check_new(store: object, made: str, extern_type: object, type_class: type) -> Store:
    """The arguments of ``Memory(store, type)`` and its kin, checked: a Store, a type of the class."""
    if not isinstance(store, Store):
        raise TypeError(f"{made}(store, type): expected a Store, got {type(store).__name__}")
    if not isinstance(extern_type, type_class):
        raise TypeError(f"{made}(store, type): expected a {type_class.__name__}, got {type(extern_type).__name__}")
    return store


def _check_limits(limits: object, maximum: int, limit: int, what: str) -> None:
    """Limits of a new memory or table: ``0 <= min <= max <= maximum`` (else ``ValueError``), and a
    minimum within the store's ``limit`` (else the "resource limit exceeded" trap instantiation gives)."""
    low, high = getattr(limits, "min", None), getattr(limits, "max", 0)
    if not isinstance(low, int) or not isinstance(high, int | None):
        raise TypeError(f"{what} limits must be Limits(min, max) of ints")
    if not 0 <= low <= maximum or (high is not None and not low <= high <= maximum):
        raise ValueError(f"{what} limits must satisfy 0 <= min <= max <= {maximum}, got {limits}")
    if low > limit:
        raise Trap(RESOURCE_LIMIT, f"{RESOURCE_LIMIT}: {what} of {low} is over the store's limit of {limit}")


class Memory:
    """A linear memory; ``buffer`` is a zero-copy view (numpy can wrap it).

    ``Memory(store, MemoryType(Limits(1, 4)))`` (or ``Memory.new``) makes a memory to import
    (sizes in 64 KiB pages; the store's ``max_memory_pages`` bounds it as it bounds a module's own).
    ``Memory(memory_instance)`` wraps a runtime memory, as exports are made.
    """

    def __init__(self, store: Store | MemoryInstance, memory_type: MemoryType | None = None) -> None:
        if isinstance(store, MemoryInstance) and memory_type is None:
            self._instance = store
            return
        sandbox = _check_new(store, "Memory", memory_type, MemoryType).sandbox
        assert isinstance(memory_type, MemoryType)
        _check_limits(memory_type.limits, MAX_PAGES, sandbox.max_memory_pages, "memory pages")
        self._instance = MemoryInstance(memory_type, sandbox.max_memory_pages)

    @classmethod
    def new(cls, store: Store, memory_type: MemoryType) -> Memory:
        """A new memory of ``memory_type`` in ``store`` (the same as ``Memory(store, memory_type)``)."""
        return cls(store, memory_type)

    @classmethod
    def _wrap(cls, instance: MemoryInstance) -> Memory:
        memory = cls.__new__(cls)
        memory._instance = instance
        return memory

    @property
    def type(self) -> MemoryType:
        """The memory's type now: its current size in pages as the minimum, and its maximum."""
        return MemoryType(Limits(self._instance.pages, self._instance.type.limits.max))

    @property
    def size(self) -> int:
        """Size in pages (64 KiB)."""
        return self._instance.pages

    @property
    def data_len(self) -> int:
        """Size in bytes."""
        return self._instance.size

    @property
    def buffer(self) -> memoryview:
        """The current bytes; a new view is needed after ``grow``."""
        return self._instance.view

    def _span(self, address: object, length: object) -> tuple[int, int]:
        size = self._instance.size
        start = _count(address, "address", size)
        count = _count(length, "length", size)
        if start + count > size:
            raise OutOfBoundsError(f"memory access {start}+{count} outside {size} bytes")
        return start, count

    def read(self, address: int, length: int) -> bytes:
        """``length`` bytes from ``address`` (``OutOfBoundsError`` past the end)."""
        start, count = self._span(address, length)
        return bytes(self._instance.view[start : start + count])

    def write(self, address: int, data: bytes | bytearray | memoryview) -> None:
        """Write ``data`` at ``address`` (``OutOfBoundsError``, and nothing written, past the end)."""
        if not isinstance(data, bytes | bytearray | memoryview):
            raise TypeError(f"data must be bytes-like, got {type(data).__name__}")
        data = memoryview(data).cast("B")
        start, count = self._span(address, data.nbytes)
        self._instance.view[start : start + count] = data

    def grow(self, pages: int) -> int:
        """Grow by ``pages`` (an int from 0 to 65536); the old size, or -1 when the memory
        cannot grow that far (its maximum, or the store's ``max_memory_pages``)."""
        return numeric.signed32(self._instance.grow(_count(pages, "pages", MAX_PAGES)))


class Table:
    """A table of references (``funcref``: :class:`Func` or None; ``externref``: any object).

    ``Table(store, TableType(FUNCREF, Limits(2, 10)), init)`` (or ``Table.new``) makes a table to
    import, its elements set to ``init``.  ``Table(table_instance)`` wraps a runtime table.
    """

    def __init__(self, store: Store | TableInstance, table_type: TableType | None = None, init: object = None) -> None:
        if isinstance(store, TableInstance) and table_type is None:
            self._instance = store
            return
        sandbox = _check_new(store, "Table", table_type, TableType).sandbox
        assert isinstance(table_type, TableType)
        if table_type.element not in (FUNCREF, EXTERNREF):
            raise ValueError(f"a table holds funcref or externref, not {table_type.element.text}")
        _check_limits(table_type.limits, MAX_TABLE_SIZE, sandbox.max_table_elements, "table elements")
        value = to_runtime(init, table_type.element, "init")
        self._instance = TableInstance(table_type, value, sandbox.max_table_elements)

    @classmethod
    def new(cls, store: Store, table_type: TableType, init: object = None) -> Table:
        """A new table of ``table_type`` in ``store``, every element ``init`` (``Table(store, table_type, init)``)."""
        return cls(store, table_type, init)

    @classmethod
    def _wrap(cls, instance: TableInstance) -> Table:
        table = cls.__new__(cls)
        table._instance = instance
        return table

    @property
    def type(self) -> TableType:
        """The table's type now: its element type, its current size as the minimum, and its maximum."""
        declared = self._instance.type
        return TableType(declared.element, Limits(len(self._instance.elements), declared.limits.max))

    @property
    def size(self) -> int:
        """Number of elements."""
        return len(self._instance.elements)

    def _index(self, index: object) -> int:
        if not isinstance(index, int) or isinstance(index, bool):
            raise TypeError(f"table index must be an int, got {type(index).__name__}")
        if not 0 <= index < len(self._instance.elements):
            raise OutOfBoundsError(f"table index {index} outside {len(self._instance.elements)} elements")
        return index

    def get(self, index: int) -> object:
        """The element at ``index`` (``OutOfBoundsError`` past the end)."""
        return from_runtime(self._instance.elements[self._index(index)], self._instance.type.element)

    def set(self, index: int, value: object) -> None:
        """Set the element at ``index`` (``OutOfBoundsError`` past the end; ``TypeError`` for a
        value of the wrong type, which leaves the table as it was)."""
        element = to_runtime(value, self._instance.type.element, "table element")
        self._instance.elements[self._index(index)] = element

    def grow(self, delta: int, value: object = None) -> int:
        """Grow by ``delta`` elements set to ``value``; the old size, or -1 when the table cannot
        grow that far (its maximum, or the store's ``max_table_elements``)."""
        count = _count(delta, "delta", MAX_TABLE_SIZE)
        element = to_runtime(value, self._instance.type.element, "value")
        return numeric.signed32(self._instance.grow(count, element))


class Global:
    """A global variable.

    ``Global(store, GlobalType(I32, mutable=True), 0)`` (or ``Global.new(GlobalType(...), value)``)
    makes one to import; ``Global(global_instance)`` wraps a runtime global.
    """

    def __init__(
        self, store: Store | GlobalInstance | None, global_type: GlobalType | None = None, value: object = None
    ) -> None:
        if isinstance(store, GlobalInstance) and global_type is None:
            self._instance = store
            return
        _check_new(store, "Global", global_type, GlobalType)
        assert isinstance(global_type, GlobalType)
        self._instance = GlobalInstance(global_type, to_runtime(value, global_type.valtype, "global value"))

    @classmethod
    def new(cls, global_type: GlobalType, value: object) -> Global:
        """A new global of ``global_type`` holding ``value`` (globals need no store)."""
        if not isinstance(global_type, GlobalType):
            raise TypeError(f"expected a GlobalType, got {type(global_type).__name__}")
        return cls(GlobalInstance(global_type, to_runtime(value, global_type.valtype, "global value")))

    @property
    def type(self) -> GlobalType:
        """The global's value type and mutability."""
        return self._instance.type

    @property
    def value(self) -> object:
        """The current value; assigning sets a mutable global (``AttributeError`` for an immutable
        one, ``TypeError`` for a value of the wrong type)."""
        return from_runtime(self._instance.value, self._instance.type.valtype)

    @value.setter
    def value(self, value: object) -> None:
        if not self._instance.type.mutable:
            raise AttributeError("global is immutable")
        self._instance.value = to_runtime(value, self._instance.type.valtype, "global value")


class Tag:
    """An exception tag (Wasm 3.0 exception handling): it can be exported and imported, and an uncaught
    exception (``WasmException``) carries one.  ``Tag(store, TagType(FuncType([I32], [])))`` makes one
    to import; ``Tag(tag_instance)`` wraps a runtime tag."""

    def __init__(self, store: Store | TagInstance, tag_type: TagType | FuncType | None = None) -> None:
        if isinstance(store, TagInstance) and tag_type is None:
            self._instance = store
            return
        if isinstance(tag_type, FuncType):
            tag_type = TagType(tag_type)
        _check_new(store, "Tag", tag_type, TagType)
        assert isinstance(tag_type, TagType)
        if tag_type.functype.results:
            raise ValueError("a tag's function type has no results")
        self._instance = TagInstance(tag_type.functype)

    @property
    def type(self) -> FuncType:
        """The function type of the tag's payload (its parameters)."""
        return self._instance.type


ExternObject = Func | Memory | Table | Global | Tag


def _wrap_extern(extern: Extern) -> ExternObject:
    if isinstance(extern, FunctionInstance):
        return Func._wrap(extern)
    if isinstance(extern, MemoryInstance):
        return Memory._wrap(extern)
    if isinstance(extern, TableInstance):
        return Table._wrap(extern)
    if isinstance(extern, TagInstance):
        return Tag(extern)
    return Global(extern)


def _unwrap_extern(value: object) -> Extern:
    if isinstance(value, Func | Memory | Table | Global | Tag):
        return value._instance
    if callable(value):
        return func(value)._instance
    raise TypeError(f"cannot import {type(value).__name__}: expected Func, Memory, Table, Global or a function")


class Exports(Mapping[str, ExternObject]):
    """An instance's exports by name: :class:`Func`, :class:`Memory`, :class:`Table`, :class:`Global`
    or :class:`Tag` objects."""

    def __init__(self, instance: ModuleInstance) -> None:
        self._instance = instance

    def __getitem__(self, name: str) -> ExternObject:
        return _wrap_extern(self._instance.exports[name])

    def __iter__(self) -> Iterator[str]:
        return iter(self._instance.exports)

    def __len__(self) -> int:
        return len(self._instance.exports)


class Instance:
    """An instantiated module.

    ``imports``: ``{"env": {"print": func, ...}}``, or (as wasmtime-py takes them) a
    sequence with one extern per import of the module, in its order; values are
    :class:`Func`, :class:`Memory`, :class:`Table`, :class:`Global`, :class:`Tag`,
    or annotated Python functions (wrapped with :func:`func`).  A missing or
    mismatched import raises :class:`UnknownImportError` or :class:`IncompatibleImportError`
    (both :class:`LinkError`).
    """

    def __init__(
        self,
        store: Store,
        module: Module,
        imports: Mapping[str, Mapping[str, object]] | Sequence[object] | None = None,
    ) -> None:
        if imports is None or isinstance(imports, Mapping):
            resolved = {
                (module_name, name): _unwrap_extern(value)
                for module_name, items in (imports or {}).items()
                for name, value in items.items()
            }
        else:
            resolved = _imports_in_order(module, imports)
        self._init(store, module, resolved)

    def _init(
        self,
        store: Store,
        module: Module,
        resolved: Mapping[tuple[str, str], Extern],
        before_start: Callable[[ModuleInstance], None] | None = None,
    ) -> None:
        self.store = store
        self.module = module
        self._instance = instantiate(module.ir, resolved, store.engine, store.sandbox, before_start, store.observer)
        self.exports = Exports(self._instance)


def _imports_in_order(module: Module, given: Sequence[object]) -> dict[tuple[str, str], Extern]:
    """wasmtime-py's form of imports: one extern per import, in the module's order."""
    wanted = module.ir.imports
    if len(given) > len(wanted):
        raise LinkError(f"{len(given)} imports given; the module has {len(wanted)}")
    resolved: dict[tuple[str, str], Extern] = {}
    for imp, value in zip(wanted, given, strict=False):
        key, extern = (imp.module, imp.name), _unwrap_extern(value)
        if resolved.get(key, extern) is not extern:
            raise LinkError(f"import {imp.module}.{imp.name} appears twice; give the same extern for both")
        resolved[key] = extern
    return resolved


def _default_value(t: ValType) -> object:
    """The zero of a value type, in the engines' representation."""
    if t is F32 or t is F64:
        return 0.0
    if t is V128:
        return bytes(16)
    return None if t.is_reference else 0


class Linker:
    """Collects definitions by (module, name) and instantiates modules against them.

    Defining a name that is already defined raises :class:`DuplicateDefinitionError` unless
    ``allow_shadowing`` is set (then the later definition replaces the earlier), as in wasmtime.
    """

    def __init__(self, store: Store) -> None:
        self.store = store
        self.allow_shadowing = False
        self._definitions: dict[tuple[str, str], Extern] = {}
        self._wasi: WasiInstance | None = None
        self._wasi_defaults: dict[tuple[str, str], FunctionInstance] = {}

    def _check_free(self, names: Iterator[tuple[str, str]] | Sequence[tuple[str, str]]) -> None:
        if not self.allow_shadowing:
            for module, name in names:
                if (module, name) in self._definitions:
                    raise DuplicateDefinitionError(module, name)

    def _define(self, items: Mapping[tuple[str, str], Extern]) -> None:
        """Define all of ``items`` or, when one is already defined and shadowing is off, none."""
        self._check_free(list(items))
        self._definitions.update(items)

    def define(self, module: str, name: str, extern: object) -> None:
        """Define ``module.name`` as ``extern``: a Func, Memory, Table, Global, Tag or an annotated
        Python function."""
        self._define({(module, name): _unwrap_extern(extern)})

    def define_func(
        self, module: str, name: str, func_type: FuncType, function: Callable[..., Any], access_caller: bool = False
    ) -> None:
        """Define ``module.name`` as a host function of ``func_type`` (``Func(store, func_type,
        function, access_caller)``)."""
        self._define({(module, name): _host_function(func_type, function, access_caller)})

    def define_instance(self, name: str, instance: Instance) -> None:
        """Define every export of ``instance`` under the module name ``name``."""
        self._define({(name, export): extern for export, extern in instance._instance.exports.items()})

    def define_module(self, name: str, module: Module) -> None:
        """Define the exports of ``module`` under ``name``, as wasmtime does.

        A reactor (a module without a ``_start`` export) is instantiated now, its ``_initialize``
        export (if any) is called, and its exports are defined.  A command (one with ``_start``)
        gets a fresh instance for every call of one of its exported functions, so that no call
        sees another's state; only its functions are defined.  Its imports are resolved against
        the definitions made so far.
        """
        exports = module.exports
        if not any(export == ("_start", "func") for export in exports):
            self._check_free([(name, export.name) for export in exports])
            instance = self.instantiate(module)
            initialize = instance.exports.get("_initialize")
            if isinstance(initialize, Func):
                initialize()
            self.define_instance(name, instance)
            return
        for imp in module.ir.imports:
            if (imp.module, imp.name) not in self._definitions:
                raise UnknownImportError(
                    imp.module, imp.name, extern_type_text(imp.kind, expected_type(imp, module.ir.types))
                )
        snapshot = (dict(self._definitions), self._wasi, dict(self._wasi_defaults))

        def command_export(export_name: str) -> Callable[..., object]:
            def call(*args: object) -> object:
                function = self._instantiate(module, *snapshot)._instance.exports[export_name]
                assert isinstance(function, FunctionInstance)
                return call_function(function, list(args))

            return call

        self._define(
            {
                (name, export.name): FunctionInstance(
                    export.type, command_export(export.name), name=f"{name}.{export.name}", host=True
                )
                for export in exports
                if isinstance(export.type, FuncType)
            }
        )

    def define_wasi(self, config: WasiConfig | None = None) -> WasiInstance:
        """Offer ``wasi_snapshot_preview1`` to modules instantiated here; returns its state.

        The returned ``WasiInstance`` owns the host descriptors the guest opens;
        ``close()`` releases them (they are also closed when it is collected).  A second
        ``define_wasi`` raises ``DuplicateDefinitionError`` unless ``allow_shadowing`` is set.
        """
        from .wasi import WasiConfig, WasiInstance

        wasi = WasiInstance(config if config is not None else WasiConfig(), self.store.sandbox)
        defaults = wasi.imports()
        try:
            self._define(defaults)
        except DuplicateDefinitionError:
            wasi.close()
            raise
        self._wasi, self._wasi_defaults = wasi, defaults
        return wasi

    def define_unknown_imports_as_traps(self, module: Module) -> None:
        """Define every function import of ``module`` not yet defined as a function that traps
        ("unknown import") when called."""
        for imp in module.ir.imports:
            key = (imp.module, imp.name)
            if imp.kind == ExternKind.FUNC and key not in self._definitions:
                message = f"unknown import {imp.module}.{imp.name} was called (defined as a trap)"

                def trap(*args: object, message: str = message) -> object:
                    raise Trap("unknown import", message)

                func_type = expected_type(imp, module.ir.types)
                assert isinstance(func_type, FuncType)
                self._definitions[key] = FunctionInstance(func_type, trap, name=f"{imp.module}.{imp.name}", host=True)

    def define_unknown_imports_as_default_values(self, module: Module) -> None:
        """Define every function import of ``module`` not yet defined as a function that returns
        zeros (null for references)."""
        for imp in module.ir.imports:
            key = (imp.module, imp.name)
            if imp.kind == ExternKind.FUNC and key not in self._definitions:
                func_type = expected_type(imp, module.ir.types)
                assert isinstance(func_type, FuncType)
                zeros = tuple(_default_value(t) for t in func_type.results)
                result = zeros[0] if len(zeros) == 1 else (zeros or None)

                def defaults(*args: object, result: object = result) -> object:
                    return result

                self._definitions[key] = FunctionInstance(
                    func_type, defaults, name=f"{imp.module}.{imp.name}", host=True
                )

    def get(self, module: str, name: str) -> ExternObject:
        """What ``module.name`` is defined as (``LinkError`` if nothing is)."""
        extern = self._definitions.get((module, name))
        if extern is None:
            raise LinkError(f"{module}.{name} is not defined in this linker")
        return _wrap_extern(extern)

    def get_default(self, name: str) -> Func:
        """The default function of the module defined as ``name`` (wasmtime's convention: its
        export named ``""``, else ``_start``), or a function doing nothing if it has neither."""
        for export in ("", "_start"):
            extern = self._definitions.get((name, export))
            if isinstance(extern, FunctionInstance):
                return Func._wrap(extern)
        return Func(self.store, FuncType(), lambda: None)

    def instantiate(self, module: Module) -> Instance:
        """Instantiate ``module`` with this linker's definitions as its imports (each instance gets
        WASI functions of its own, on its own memory)."""
        return self._instantiate(module, self._definitions, self._wasi, self._wasi_defaults)

    def _instantiate(
        self,
        module: Module,
        definitions: Mapping[tuple[str, str], Extern],
        wasi: WasiInstance | None,
        wasi_defaults: Mapping[tuple[str, str], FunctionInstance],
    ) -> Instance:
        bind = None
        if wasi is not None and any(imp.module == WASI_MODULE for imp in module.ir.imports):
            # WASI functions of this instance's own, on its own memory: two guests linked here never
            # read or write each other's memory.  Names defined since define_wasi keep their definition.
            from .wasi.guest import GuestMemory

            guest = GuestMemory()
            own = {
                key: function
                for key, function in wasi.imports(guest).items()
                if key in definitions and definitions[key] is wasi_defaults.get(key)
            }
            definitions = {**definitions, **own}

            def bind(instance: ModuleInstance) -> None:
                # The guest's memory exists only once instantiation made it, and a start function
                # may already call WASI.
                memory = instance.exports.get("memory")
                if isinstance(memory, MemoryInstance):
                    guest.memory = memory

        instance = Instance.__new__(Instance)
        instance._init(self.store, module, definitions, bind)
        return instance
