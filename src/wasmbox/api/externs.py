"""The externs besides functions, as the API shows them: ``Memory``, ``Table``, ``Global`` and
``Tag``, each a view of a runtime object (an instance's export) or made by the host to import.

Every argument is checked before anything changes, so a bad call leaves the extern as it was.
"""

from __future__ import annotations

from typing import Generic, Self, TypeVar

from .. import numeric
from ..errors import OutOfBoundsError, Trap
from ..ir.subtyping import top_heap
from ..ir.types import PAGE_SIZE, FuncType, GlobalType, HeapType, Limits, MemoryType, RefType, TableType
from ..runtime.memory import MemoryInstance
from ..runtime.objects import GlobalInstance, TableInstance, TagInstance
from ..runtime.sandbox import RESOURCE_LIMIT
from .extern_types import TagType
from .store import Store
from .values import from_runtime, to_runtime

RuntimeObject = TypeVar("RuntimeObject")


class RuntimeView(Generic[RuntimeObject]):
    """An API object standing for one runtime object (``_instance``); ``_wrap`` makes one for a
    runtime object that exists already, as exports are shown."""

    _instance: RuntimeObject

    @classmethod
    def _wrap(cls, instance: RuntimeObject) -> Self:
        view = cls.__new__(cls)
        view._instance = instance
        return view


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


def _check_address_type(is_64: object) -> None:
    """``is_64`` of a new memory's or table's type: a bool (True: i64 addresses, memory64)."""
    if not isinstance(is_64, bool):
        raise TypeError(f"is_64 must be a bool, got {type(is_64).__name__}")


class Memory(RuntimeView[MemoryInstance]):
    """A linear memory; ``buffer`` is a zero-copy view (numpy can wrap it).

    ``Memory(store, MemoryType(Limits(1, 4)))`` (or ``Memory.new``) makes a memory to import
    (sizes in 64 KiB pages; the store's ``max_memory_pages`` bounds it as it bounds a module's own);
    ``MemoryType(Limits(1), is_64=True)`` makes a 64-bit one (memory64), for modules that import an
    ``(memory i64 ...)``.
    ``Memory(memory_instance)`` wraps a runtime memory, as exports are made.
    """

    def __init__(self, store: Store | MemoryInstance, memory_type: MemoryType | None = None) -> None:
        if isinstance(store, MemoryInstance) and memory_type is None:
            self._instance = store
            return
        sandbox = _check_new(store, "Memory", memory_type, MemoryType).sandbox
        assert isinstance(memory_type, MemoryType)
        _check_address_type(memory_type.is_64)
        # (The store's limit counts 64 KiB pages: in this memory's own pages, for a custom page size.)
        limit = sandbox.max_memory_pages * PAGE_SIZE // memory_type.page_size
        _check_limits(memory_type.limits, memory_type.max_pages, limit, "memory pages")
        self._instance = MemoryInstance(memory_type, sandbox.max_memory_pages)

    @classmethod
    def new(cls, store: Store, memory_type: MemoryType) -> Memory:
        """A new memory of ``memory_type`` in ``store`` (the same as ``Memory(store, memory_type)``)."""
        return cls(store, memory_type)

    @property
    def type(self) -> MemoryType:
        """The memory's type now: its current size in pages as the minimum, its maximum and its
        address type (``is_64``)."""
        declared = self._instance.type
        limits = Limits(self._instance.pages, declared.limits.max)
        return MemoryType(limits, declared.is_64, declared.shared, declared.page_size)

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
        """Grow by ``pages`` (an int from 0 to 65536, or to 2^48 for a 64-bit memory); the old size,
        or -1 when the memory cannot grow that far (its maximum, or the store's ``max_memory_pages``)."""
        memory_type = self._instance.type
        old = self._instance.grow(_count(pages, "pages", memory_type.max_pages))
        return numeric.signed64(old) if memory_type.is_64 else numeric.signed32(old)


class Table(RuntimeView[TableInstance]):
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
        element = table_type.element
        if not isinstance(element, RefType) or isinstance(element.heap, int) or top_heap(element.heap) is HeapType.EXN:
            raise ValueError(f"a table holds references to functions or host values, not {element.text}")
        _check_address_type(table_type.is_64)
        _check_limits(table_type.limits, table_type.max_size, sandbox.max_table_elements, "table elements")
        value = to_runtime(init, table_type.element, "init")
        self._instance = TableInstance(table_type, value, sandbox.max_table_elements)

    @classmethod
    def new(cls, store: Store, table_type: TableType, init: object = None) -> Table:
        """A new table of ``table_type`` in ``store``, every element ``init`` (``Table(store, table_type, init)``)."""
        return cls(store, table_type, init)

    @property
    def type(self) -> TableType:
        """The table's type now: its element type, its current size as the minimum, its maximum and its
        address type (``is_64``)."""
        declared = self._instance.type
        return TableType(declared.element, Limits(len(self._instance.elements), declared.limits.max), declared.is_64)

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
        table_type = self._instance.type
        count = _count(delta, "delta", table_type.max_size)
        element = to_runtime(value, table_type.element, "value")
        old = self._instance.grow(count, element)
        return numeric.signed64(old) if table_type.is_64 else numeric.signed32(old)


class Global(RuntimeView[GlobalInstance]):
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


class Tag(RuntimeView[TagInstance]):
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
