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
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from . import numeric
from .engines.registry import DEFAULT_ENGINE, ENGINE_CLASSES
from .errors import Exhaustion, LinkError, OutOfBoundsError, Trap, WasiExit, WasmException
from .ir.module import Module as ModuleIR
from .ir.types import F32, F64, FUNCREF, I32, I64, MAX_PAGES, V128, FuncType, GlobalType, ValType
from .load import load_module
from .runtime.instance import Extern, ModuleInstance, call_function, instantiate
from .runtime.memory import MemoryInstance
from .runtime.objects import MAX_TABLE_SIZE, FunctionInstance, GlobalInstance, TableInstance, TagInstance
from .runtime.observer import Observer
from .runtime.sandbox import DEFAULT_MAX_TABLE_ELEMENTS, Sandbox
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


class Module:
    """A validated module, from binary bytes or WAT text.

    Raises :class:`MalformedError` or :class:`ValidationError`.
    """

    def __init__(self, source: bytes | bytearray | memoryview | str, name: str | None = None) -> None:
        data = bytes(source) if isinstance(source, bytes | bytearray | memoryview) else source
        # Bodies stay bytes until used: validation checks them (natively, for large modules).
        self.ir: ModuleIR = load_module(data, name, lazy=True)
        validate_module(self.ir)
        self.name = name

    @classmethod
    def from_file(cls, path: str | Path) -> Module:
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
        return cls.deserialize(Path(path).read_bytes())

    def __reduce__(self) -> tuple[Any, tuple[bytes]]:
        # Pickling (multiprocessing, concurrent.futures, dask) ships the serialized module: its
        # machine code goes along.
        return (Module.deserialize, (self.serialize(),))

    @property
    def imports(self) -> list[tuple[str, str, str]]:
        """(module, name, kind) of each import."""
        return [(i.module, i.name, i.kind.text) for i in self.ir.imports]

    @property
    def exports(self) -> list[tuple[str, str]]:
        """(name, kind) of each export."""
        return [(e.name, e.kind.text) for e in self.ir.exports]


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
    # Engines may hold i32 results of comparisons as Python bools (they are
    # ints); users get plain ints.
    if t is I32:
        return numeric.signed32(int(value))  # type: ignore[call-overload]
    if t is I64:
        return numeric.signed64(int(value))  # type: ignore[call-overload]
    if t is FUNCREF:
        return None if value is None else Func._wrap(value)  # type: ignore[arg-type]
    return value


# --- externs ----------------------------------------------------------------------


class Func:
    """A function: an export of an instance, or a Python host function.

    ``Func(store, FuncType([I32], [I32]), py_function)`` makes a host function;
    calling a Func calls it with Python values.
    """

    def __init__(self, store: Store | None, func_type: FuncType, function: Callable[..., Any]) -> None:
        self._instance = _host_function(func_type, function)

    @classmethod
    def _wrap(cls, instance: FunctionInstance) -> Func:
        func = cls.__new__(cls)
        func._instance = instance
        return func

    @property
    def type(self) -> FuncType:
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

    def _describe(self) -> str:
        return f"function {self._instance.name or self._instance.index}"

    def __repr__(self) -> str:
        return f"<Func {self._instance.name or ''} {self.type}>"

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


def func(function: Callable[..., Any]) -> Func:
    """Decorator: a host function typed by its annotations.

    ``int`` means i32, ``float`` f64; use ``"i64"``, ``"f32"``, ``"externref"``
    (or the ``ValType`` members) for the others.  Return ``None`` for no
    results, a value for one, a ``tuple[...]`` annotation for several.
    """
    signature = inspect.signature(function, eval_str=False)
    params = []
    for name, parameter in signature.parameters.items():
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
    return Func(None, FuncType(tuple(params), results), function)


def _host_function(func_type: FuncType, function: Callable[..., Any]) -> FunctionInstance:
    name = getattr(function, "__name__", "host")

    def code(*args: object) -> object:
        python_args = [from_runtime(a, t) for a, t in zip(args, func_type.params, strict=True)]
        try:
            result = function(*python_args)
        except (Trap, WasiExit, WasmException):
            raise
        except RecursionError:
            raise Exhaustion("call stack exhausted", f"host function {name} ran out of Python stack") from None
        except Exception as error:
            raise Trap(
                "host function failed", f"host function {name} raised {type(error).__name__}: {error}"
            ) from error
        return _host_results(result, func_type.results, name)

    return FunctionInstance(func_type, code, name=name, host=True)


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


def _count(value: object, what: str, maximum: int) -> int:
    """An integer argument of the API in ``0..maximum``, checked before anything changes
    (a negative delta once shrank a memory below its bounds checks)."""
    if not isinstance(value, int) or isinstance(value, bool):
        raise TypeError(f"{what} must be an int, got {type(value).__name__}")
    if not 0 <= value <= maximum:
        raise ValueError(f"{what} must be between 0 and {maximum}, got {value}")
    return value


class Memory:
    """A linear memory; ``buffer`` is a zero-copy view (numpy can wrap it)."""

    def __init__(self, instance: MemoryInstance) -> None:
        self._instance = instance

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
    """A table of references (``funcref``: :class:`Func` or None; ``externref``: any object)."""

    def __init__(self, instance: TableInstance) -> None:
        self._instance = instance

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
    def __init__(self, instance: GlobalInstance) -> None:
        self._instance = instance

    @classmethod
    def new(cls, global_type: GlobalType, value: object) -> Global:
        return cls(GlobalInstance(global_type, to_runtime(value, global_type.valtype, "global value")))

    @property
    def type(self) -> GlobalType:
        return self._instance.type

    @property
    def value(self) -> object:
        return from_runtime(self._instance.value, self._instance.type.valtype)

    @value.setter
    def value(self, value: object) -> None:
        if not self._instance.type.mutable:
            raise AttributeError("global is immutable")
        self._instance.value = to_runtime(value, self._instance.type.valtype, "global value")


class Tag:
    """An exception tag (Wasm 3.0 exception handling): it can be exported and imported, and an uncaught
    exception (``WasmException``) carries one."""

    def __init__(self, instance: TagInstance) -> None:
        self._instance = instance

    @property
    def type(self) -> FuncType:
        return self._instance.type


ExternObject = Func | Memory | Table | Global | Tag


def _wrap_extern(extern: Extern) -> ExternObject:
    if isinstance(extern, FunctionInstance):
        return Func._wrap(extern)
    if isinstance(extern, MemoryInstance):
        return Memory(extern)
    if isinstance(extern, TableInstance):
        return Table(extern)
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

    ``imports``: ``{"env": {"print": func, ...}}``; values are :class:`Func`,
    :class:`Memory`, :class:`Table`, :class:`Global`, or annotated Python
    functions (wrapped with :func:`func`).
    """

    def __init__(self, store: Store, module: Module, imports: Mapping[str, Mapping[str, object]] | None = None) -> None:
        resolved = {
            (module_name, name): _unwrap_extern(value)
            for module_name, items in (imports or {}).items()
            for name, value in items.items()
        }
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


class Linker:
    """Collects definitions by (module, name) and instantiates modules against them."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self._definitions: dict[tuple[str, str], Extern] = {}
        self._wasi: Any = None

    def define(self, module: str, name: str, extern: object) -> None:
        self._definitions[(module, name)] = _unwrap_extern(extern)

    def define_instance(self, name: str, instance: Instance) -> None:
        for export, extern in instance._instance.exports.items():
            self._definitions[(name, export)] = extern

    def define_wasi(self, config: WasiConfig | None = None) -> WasiInstance:
        """Offer ``wasi_snapshot_preview1`` to modules instantiated here; returns its state.

        The returned ``WasiInstance`` owns the host descriptors the guest opens;
        ``close()`` releases them (they are also closed when it is collected).
        """
        from .wasi import WasiConfig, WasiInstance

        wasi = WasiInstance(config if config is not None else WasiConfig(), self.store.sandbox)
        self._wasi = wasi
        self._definitions.update(wasi.imports())
        return wasi

    def instantiate(self, module: Module) -> Instance:
        missing = [f"{m}.{n}" for m, n, _ in module.imports if (m, n) not in self._definitions]
        if missing:
            raise LinkError(f"unknown import {missing[0]}")
        definitions = self._definitions
        bind = None
        if self._wasi is not None and any(m == WASI_MODULE for m, _, _ in module.imports):
            # WASI functions of this instance's own, on its own memory: two guests linked here never
            # read or write each other's memory.
            from .wasi.guest import GuestMemory

            guest = GuestMemory()
            definitions = {**definitions, **self._wasi.imports(guest)}

            def bind(instance: ModuleInstance) -> None:
                # The guest's memory exists only once instantiation made it, and a start function
                # may already call WASI.
                memory = instance.exports.get("memory")
                if isinstance(memory, MemoryInstance):
                    guest.memory = memory

        instance = Instance.__new__(Instance)
        instance._init(self.store, module, definitions, bind)
        return instance
