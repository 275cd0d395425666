"""The Python side of native code: context records, value slots, host calls, traps.

Native functions are entered through their ``entry`` trampolines with
``ctypes`` (which releases the GIL, so a deadline timer can set the stop
flag meanwhile).  Native code calls back into Python for imports, indirect
calls, ``memory.grow`` (of any memory: its index is an argument) and
table/segment bookkeeping through ``ctypes`` callbacks bound to symbols in
the JIT; the context record's ``instance_id``
says which instance a callback is for.  A Python exception inside a
callback is kept, the native frames unwind with trap code "host", and the
entry wrapper raises the very same exception.
"""

from __future__ import annotations

import ctypes
import itertools
import mmap
import sys
import threading
import weakref
from collections.abc import Callable
from typing import Any

from ... import numeric
from ...errors import Exhaustion, Trap, TrapFrame, WasmException
from ...ir.module import Module
from ...ir.subtyping import closed_types, is_function_reference
from ...ir.types import EXNREF, F32, F64, I32, I64, V128, FuncType, GlobalType, RefType, ValType
from ...runtime import guards as _guards
from ...runtime.objects import FunctionInstance, GlobalInstance
from ...runtime.operations import (
    call_indirect,
    memory_init,
    table_copy,
    table_fill,
    table_get,
    table_init,
    table_set,
)
from .abi import (
    CALL_INDIRECT,
    CALL_REF,
    CATCH,
    CONTEXT_FIELDS,
    ENTRY_SIZE,
    ENTRY_TAIL,
    FRAME_RING,
    FUNCTIONS_BASE,
    FUNCTIONS_COUNT,
    FUNCTIONS_STALE,
    HOST_CALL,
    LOG_CAPACITY,
    MEMORY_GROW,
    MIRROR_DIRTY,
    MIRROR_ENTRIES,
    MIRROR_LENGTH,
    MIRROR_LOG,
    MIRROR_LOG_COUNT,
    OFFSET,
    REFERENCE_ENTRY,
    REFRESH_TABLE,
    RUNTIME_OP,
    RUNTIME_OPS,
    THROW_REF,
    TRAP,
    TRAP_KINDS,
    slot_count,
    slot_layout,
)
from .signatures import signature_id

U64 = ctypes.c_uint64
BACKTRACE_FRAMES = 64  # innermost frames shown for a trap (deep recursion shows its tip)
SlotArray = ctypes.POINTER(U64)
ENTRY = ctypes.CFUNCTYPE(None, ctypes.c_void_p, SlotArray, SlotArray)


# A frame word's position when only the function is known (a guard-page trap: see note_guard_fault).
UNKNOWN_POSITION = 0xFFFFFFFF


def entry_at(address: int) -> Any:
    """The entry trampoline at ``address``, callable, knowing its address (for guarded_call)."""
    entry = ENTRY(address)
    entry.address = address  # type: ignore[attr-defined]
    return entry


class Context(ctypes.Structure):
    _fields_ = [(name, ctypes.c_void_p if kind == "ptr" else ctypes.c_uint64) for name, kind in CONTEXT_FIELDS]


for _name, _offset in OFFSET.items():
    assert getattr(Context, _name).offset == _offset, _name


class TableEntry(ctypes.Structure):
    _fields_ = [
        ("code", ctypes.c_uint64),
        ("signature", ctypes.c_uint64),
        ("ctx", ctypes.c_uint64),
        ("tail", ctypes.c_uint64),
    ]


assert ctypes.sizeof(TableEntry) == ENTRY_SIZE and TableEntry.tail.offset == ENTRY_TAIL


class TableMirror(ctypes.Structure):
    """A table's elements as native code reads them; rebuilt when the elements change (``dirty``);
    with the writes machine code made that the elements do not have yet (``log``)."""

    _fields_ = [
        ("length", ctypes.c_uint64),
        ("entries", ctypes.c_void_p),
        ("dirty", ctypes.c_int32),
        ("log_count", ctypes.c_uint64),
        ("log", ctypes.c_void_p),
    ]


assert (
    TableMirror.length.offset,
    TableMirror.entries.offset,
    TableMirror.dirty.offset,
    TableMirror.log_count.offset,
    TableMirror.log.offset,
) == (MIRROR_LENGTH, MIRROR_ENTRIES, MIRROR_DIRTY, MIRROR_LOG_COUNT, MIRROR_LOG)


class MirrorState:
    """Keeps one table's mirror current as its elements change (it is the TableElements' watcher).

    A write updates its one entry and an append fills entries while the capacity lasts, so a write
    costs O(1) however large the table; anything else (a shrink, a reordering slice) marks the
    mirror dirty, and native code has it rebuilt (``REFRESH_TABLE``) before its next call_indirect.
    Only funcref tables are mirrored entry by entry; others are never called through.

    The other way round, machine code's ``table.set`` of a funcref table writes the mirror's entry
    itself (when the mirror is current) and logs the write; ``apply_log`` makes the elements say
    the same.  The host applies the log whenever machine code hands control to Python - at each
    callback (``_instance``) and when an entry returns (``NativeInstance.enter``) - so Python code
    never reads the elements stale (Python code running in another thread meanwhile could).
    """

    __slots__ = ("mirror", "table", "entries", "area", "capacity", "funcref", "log", "__weakref__")

    def __init__(self, table: Any) -> None:
        self.mirror = TableMirror()
        self.mirror.dirty = 1
        self.log = (U64 * (2 * LOG_CAPACITY))()
        self.mirror.log = ctypes.addressof(self.log)
        self.table = table
        self.entries: Any = None
        self.area: mmap.mmap | None = None
        self.capacity = 0
        self.funcref = is_function_reference(table.type.element)
        if table.elements.all_null():  # a new table: made now, with nothing to look up
            self.rebuild()

    @property
    def address(self) -> int:
        return ctypes.addressof(self.mirror)

    def rebuild(self) -> None:
        """Make the mirror afresh from the elements (O(pages + elements present): null pages are skipped)."""
        elements = self.table.elements
        length = len(elements)
        capacity = length + length // 4 + 8  # room to grow by appends without a rebuild
        # An anonymous mapping: pages of null entries are never touched, so a table of ten million
        # mostly empty entries costs memory for the entries it holds only.
        area = mmap.mmap(-1, capacity * ctypes.sizeof(TableEntry))
        entries = (TableEntry * capacity).from_buffer(area)
        self.area = area
        if self.funcref:
            for i, function in elements.present():
                _fill_entry(entries[i], function)
        self.entries, self.capacity = entries, capacity
        self.mirror.entries = ctypes.addressof(entries)
        self.mirror.length = length
        self.mirror.dirty = 0

    def apply_log(self) -> None:
        """Write machine code's logged ``table.set``s into the elements (the entries have them)."""
        count = self.mirror.log_count
        if not count:
            return
        log, write = self.log, self.table.elements.set_quietly  # not the watcher: no notice
        for at in range(0, 2 * count, 2):
            write(log[at], object_of(log[at + 1]))
        self.mirror.log_count = 0

    def set(self, index: int) -> None:
        if not self.mirror.dirty:
            if self.funcref:
                _fill_entry(self.entries[index], self.table.elements[index])
            else:
                self.mirror.dirty = 1

    def set_range(self, start: int, count: int) -> None:
        for index in range(start, start + count):
            self.set(index)

    def appended(self, old_length: int) -> None:
        if self.mirror.dirty:
            return
        elements = self.table.elements
        if len(elements) > self.capacity or not self.funcref:
            self.mirror.dirty = 1
            return
        for index in range(old_length, len(elements)):
            _fill_entry(self.entries[index], elements[index])
        self.mirror.length = len(elements)

    def changed(self) -> None:
        self.mirror.dirty = 1


def _fill_entry(entry: TableEntry, function: Any) -> None:
    if function is None:
        entry.code = entry.signature = entry.ctx = entry.tail = 0
        return
    entry.signature = signature_id(function.type)
    entry.code = getattr(function.code, "native_address", 0)
    entry.ctx = getattr(function.code, "native_ctx", 0)
    entry.tail = getattr(function.code, "native_tail_address", 0)


_mirror_states: weakref.WeakSet[MirrorState] = weakref.WeakSet()


def mirror_of(table: Any) -> MirrorState:
    """The table's mirror, made on first use and kept current through its TableElements."""
    elements = table.elements
    state = getattr(elements, "watcher", None)
    if state is None:
        state = elements.watcher = MirrorState(table)
        _mirror_states.add(state)
    return state  # type: ignore[no-any-return]


def mark_mirrors_stale() -> None:
    """A function became machine code: entries that call it through the host may call it directly."""
    for state in list(_mirror_states):
        state.changed()
    _registry.functions.stale = 1
    _reference_entries.clear()


class ReferenceEntries:
    """call_ref's entries (a table mirror's, see abi) by funcref handle, process-wide like handles.

    Machine code reads ``record`` = {entries address, capacity}: an entry of signature 0 (not made
    yet, or cleared) sends it to the host (REFERENCE_ENTRY), which fills it.  Cleared whenever handles
    are freed (a handle may then name another function) and when functions become machine code.
    Every entry an in-between state of clearing may show is safe: a 0 field sends the call through
    the host.  Arrays outgrown stay allocated (machine code may have read the old address).
    """

    def __init__(self) -> None:
        self.record = (U64 * 2)()
        self.arrays: list[Any] = []
        self.entries: Any = None
        self._grow(256)

    def _grow(self, capacity: int) -> None:
        entries = (TableEntry * capacity)()
        if self.entries is not None:
            ctypes.memmove(entries, self.entries, ctypes.sizeof(self.entries))
        self.arrays.append(entries)
        self.entries = entries
        self.record[0], self.record[1] = ctypes.addressof(entries), capacity

    def fill(self, handle: int, function: Any) -> int:
        """The address of ``handle``'s entry, made from ``function`` (a FunctionInstance)."""
        if handle >= len(self.entries):
            self._grow(max(handle + 1, 2 * len(self.entries)))
        entry = self.entries[handle]
        _fill_entry(entry, function)
        return ctypes.addressof(entry)

    def clear(self) -> None:
        ctypes.memset(self.entries, 0, ctypes.sizeof(self.entries))


_reference_entries = ReferenceEntries()


class _WeakEntry(weakref.ref):  # type: ignore[type-arg]
    """A registry entry whose object a global's cell keeps alive (``pin``), not the registry."""

    __slots__ = ()


class FunctionEntries(ctypes.Structure):
    """Where machine code finds a handle's table entry (see abi.FUNCTIONS_BASE)."""

    _fields_ = [("entries", ctypes.c_void_p), ("count", ctypes.c_uint64), ("stale", ctypes.c_int32)]


assert (FunctionEntries.entries.offset, FunctionEntries.count.offset, FunctionEntries.stale.offset) == (
    FUNCTIONS_BASE,
    FUNCTIONS_COUNT,
    FUNCTIONS_STALE,
)
HANDLE_ENTRIES = 1 << 20  # handles with a table entry (32 MiB reserved)


class HandleRegistry:
    """References crossing into native code as handles: 0 is null, others index ``objects``.

    A handle must stay valid while native code may hold it: in a running call's frames, or in a
    reference-typed global's cell.  A handle handed to native code is held strongly until the
    next collection, which runs when many were made and no native call runs in any thread: then
    every handle no cell holds is freed, and a handle a cell holds becomes weak, the cell keeping
    its object alive itself (``pin``) - so an instance that only its own globals refer to is not
    kept alive by the registry.  (Registering every function of every instance for the life of
    the process once kept each dropped instance, its memory and its tables alive.)
    """

    def __init__(self) -> None:
        self.objects: list[Any] = [None]
        self.keys: list[int] = [0]  # id() of each handle's object when it was registered
        self.by_id: dict[int, int] = {}
        self.free: list[int] = []
        self.lock = threading.Lock()
        self.running = 0  # native calls in progress, in all threads
        self.made = 0  # handles made since the last collection
        # Each handle's table entry (see abi.FUNCTIONS_BASE), for table.set in machine code: in a
        # mapping reserved once (it never moves; untouched pages cost nothing); handles past its
        # end have none, and machine code hands their table.set to the host.
        self.area = mmap.mmap(-1, HANDLE_ENTRIES * ctypes.sizeof(TableEntry))
        self.entries = (TableEntry * HANDLE_ENTRIES).from_buffer(self.area)
        self.functions = FunctionEntries(ctypes.addressof(self.entries), HANDLE_ENTRIES, 0)

    def describe(self, handle: int, value: Any) -> None:
        """Write the table entry of ``handle``, now ``value``'s."""
        if handle < HANDLE_ENTRIES:
            _fill_entry(self.entries[handle], value if isinstance(value, FunctionInstance) else None)

    def describe_all(self) -> None:
        """Make every handle's table entry again (functions' code moved: ``mark_mirrors_stale``)."""
        with self.lock:
            self.functions.stale = 0
            for handle in range(1, min(len(self.objects), HANDLE_ENTRIES)):
                self.describe(handle, self.object_of(handle))

    def _entry(self, value: Any) -> int | None:
        found = self.by_id.get(id(value))
        if found is None:
            return None
        held = self.objects[found]
        if held is value:
            return found
        if type(held) is _WeakEntry and held() is value:
            return found
        return None  # an id reused after its object died

    def handle_of(self, value: Any) -> int:
        """The handle of ``value`` for native code (held strongly until the next collection)."""
        if value is None:
            return 0
        found = self._entry(value)
        if found is not None and self.objects[found] is value:
            return found
        with self.lock:
            found = self._entry(value)
            if found is None:
                found = self.free.pop() if self.free else len(self.objects)
                if found == len(self.objects):
                    self.objects.append(value)
                    self.keys.append(0)
                self.keys[found] = id(value)
                self.by_id[id(value)] = found
                self.made += 1
                self.describe(found, value)
            self.objects[found] = value
        return found

    def pinned_handle(self, cell: Any, value: Any) -> int:
        """The handle of ``value`` for a global's ``cell``, which keeps it alive: a new entry is
        weak.  The object the cell held before is held strongly again (native code may still
        have its handle) until the next collection."""
        previous = getattr(cell, "pin", None)
        if previous is not None and previous is not value:
            self.handle_of(previous)
        cell.pin = value
        if value is None:
            return 0
        found = self._entry(value)
        if found is not None:
            return found
        with self.lock:
            found = self._entry(value)
            if found is None:
                found = self.free.pop() if self.free else len(self.objects)
                if found == len(self.objects):
                    self.objects.append(None)
                    self.keys.append(0)
                self.keys[found] = id(value)
                try:
                    self.objects[found] = _WeakEntry(value)
                except TypeError:  # not weakly referable (an int, a str): no cycle through it
                    self.objects[found] = value
                self.by_id[id(value)] = found
                self.made += 1
                self.describe(found, value)
        return found

    def object_of(self, handle: int) -> Any:
        held = self.objects[handle]
        return held() if type(held) is _WeakEntry else held

    def begin_call(self) -> None:
        with self.lock:
            self.running += 1

    def end_call(self) -> None:
        with self.lock:
            self.running -= 1

    def maybe_collect(self) -> None:
        """Collect if many handles were made since the last time and no native call runs.  Called
        where no handle is in flight: before a call from Python encodes its arguments, and when a
        new instance is made."""
        if self.made > max(1024, len(self.by_id) // 2):
            with self.lock:
                if self.running == 0:
                    self._collect()

    def _collect(self) -> None:
        """Free every handle no cell holds, make those cells hold weak (the cells pin their objects)
        and clear instances' function handles that were freed (``ref.func`` registers them again)."""
        instances = list(_INSTANCES.values())
        cells = [cell for instance in instances for cell in getattr(instance, "reference_cells", ())]
        cells += [_VALUE_SLOT.__get__(glob) for glob in list(_reference_globals)]
        live = {0}
        for cell in cells:
            handle = cell[0]
            live.add(handle)
            cell.pin = self.object_of(handle)  # native code may have stored it: pin what it holds now
        objects = self.objects
        for handle in range(1, len(objects)):
            held = objects[handle]
            if held is None:
                continue
            value = held() if type(held) is _WeakEntry else held
            if value is None or handle not in live:
                key = self.keys[handle]
                if self.by_id.get(key) == handle:
                    del self.by_id[key]
                objects[handle] = None
                self.free.append(handle)
                self.describe(handle, None)
            elif type(held) is not _WeakEntry:
                try:
                    objects[handle] = _WeakEntry(value)
                except TypeError:
                    pass
        _reference_entries.clear()  # a freed handle may come to name another function
        for instance in instances:
            references: Any = getattr(instance, "func_refs", ())
            for index, handle in enumerate(references):
                if handle and handle not in live:
                    references[index] = 0
        self.made = 0


_registry = HandleRegistry()
handle_of = _registry.handle_of
object_of = _registry.object_of


def encode(value: Any, t: ValType) -> int:
    """A run-time value (see ``numeric``) as the bits in a u64 slot."""
    if isinstance(t, RefType):
        return handle_of(value)
    if t is I32:
        return int(value) & 0xFFFFFFFF
    if t is I64:
        return int(value) & 0xFFFFFFFFFFFFFFFF
    if t is F32:
        return numeric.f32_bits(value)
    if t is F64:
        return numeric.f64_bits(value)
    raise TypeError(f"no native representation for {t.text}")


def put(slots: Any, at: int, value: Any, t: ValType) -> None:
    """Write a run-time value into u64 slots (a v128 takes two, little-endian)."""
    if t is V128:
        data = bytes(value)
        slots[at] = int.from_bytes(data[:8], "little")
        slots[at + 1] = int.from_bytes(data[8:], "little")
    else:
        slots[at] = encode(value, t)


def get(slots: Any, at: int, t: ValType) -> Any:
    if t is V128:
        return slots[at].to_bytes(8, "little") + slots[at + 1].to_bytes(8, "little")
    return decode(slots[at], t)


def decode(bits: int, t: ValType) -> Any:
    if isinstance(t, RefType):
        return object_of(bits)
    if t is I32:
        return bits & 0xFFFFFFFF
    if t is I64:
        return bits
    if t is F32:
        return numeric.f32_from_bits(bits & 0xFFFFFFFF)
    if t is F64:
        return numeric.f64_from_bits(bits)
    raise TypeError(f"no native representation for {t.text}")


# --- globals that live in native cells -------------------------------------------------------
_VALUE_SLOT = GlobalInstance.__dict__["value"]  # the slot descriptor, under the property below


class CellGlobal(GlobalInstance):
    """A global whose value lives in a 16-byte native cell that generated code reads and writes.

    Existing ``GlobalInstance`` objects become ``CellGlobal`` in place (same
    layout), so every instance and the API that share the global see one value.
    """

    __slots__ = ()

    @property  # type: ignore[override]
    def value(self) -> Any:
        return get(_VALUE_SLOT.__get__(self), 0, self.type.valtype)

    @value.setter
    def value(self, value: Any) -> None:
        put_cell(_VALUE_SLOT.__get__(self), value, self.type.valtype)

    def cell_address(self) -> int:
        return ctypes.addressof(_VALUE_SLOT.__get__(self))


class IntegerCellGlobal(CellGlobal):
    """An i32 or i64 global in a native cell, read and written through a memoryview of its first
    word: Python tiers of a tiered module touch globals (the stack pointer) on most calls, and
    this costs a tenth of the general conversion."""

    __slots__ = ()

    @property  # type: ignore[override]
    def value(self) -> Any:
        return _VALUE_SLOT.__get__(self)[0]

    @value.setter
    def value(self, value: Any) -> None:
        _VALUE_SLOT.__get__(self)[0] = value  # run-time i32/i64 values are already unsigned

    def cell_address(self) -> int:
        return ctypes.addressof(_VALUE_SLOT.__get__(self).obj)


def put_cell(cell: Any, value: Any, t: ValType) -> None:
    """Write a global's value into its native cell; a reference is pinned by the cell."""
    if isinstance(t, RefType):
        cell[0] = _registry.pinned_handle(cell, value)
    else:
        put(cell, 0, value, t)


def to_cell(glob: GlobalInstance) -> CellGlobal:
    if not isinstance(glob, CellGlobal):
        current = glob.value
        cell = (U64 * 2)()
        put_cell(cell, current, glob.type.valtype)
        if glob.type.valtype is I32 or glob.type.valtype is I64:
            glob.__class__ = IntegerCellGlobal
            _VALUE_SLOT.__set__(glob, memoryview(cell).cast("B").cast("Q"))
        else:
            glob.__class__ = CellGlobal
            _VALUE_SLOT.__set__(glob, cell)
    assert isinstance(glob, CellGlobal)
    if isinstance(glob.type.valtype, RefType):
        _reference_globals.add(glob)
    return glob


# Past this many mutable globals a tiered instance's globals live in cells, not in private copies (NativeInstance).
PRIVATE_GLOBALS_LIMIT = 16

# Globals whose cells hold handles (the registry keeps what they refer to).
_reference_globals: weakref.WeakSet[CellGlobal] = weakref.WeakSet()


# --- instances and their callbacks ---------------------------------------------------------------
# By the id in their context records; an instance nothing else holds is dropped from here too.
_INSTANCES: weakref.WeakValueDictionary[int, NativeInstance] = weakref.WeakValueDictionary()
_ids = itertools.count(1)
_lock = threading.Lock()


class NativeInstance:
    """One instantiated module's native side: its context record and the callables the runtime uses."""

    def __init__(
        self, module: Module, namespace: dict[str, Any], code: Any, private_globals: bool = False, metered: bool = False
    ) -> None:
        """``code`` is (entry addresses, function addresses) for an eagerly compiled module, or its LazyCode.

        Globals live in native cells.  Normally the global itself moves there
        (``to_cell``: Python reads it through the cell); with ``private_globals``
        (a tiered instance, whose Python tiers read globals on most calls) a
        global keeps its Python value and native code gets a cell of its own,
        copied to and from at every crossing between Python and machine code
        (``synced``: the mutable ones; compilers emit one or two).  A module with
        more mutable globals than ``PRIVATE_GLOBALS_LIMIT`` (CPython built as a
        shared library has ~390) moves them to cells instead: copying them all at
        every crossing cost more than every Python-tier read through a cell.
        """
        self.module = module
        self.namespace = namespace
        self.func_types = module.func_types()
        self.pending: BaseException | None = None
        self.entry_hook: Callable[[], None] | None = None  # run at the next entry from Python (see enter)
        self.exception: WasmException | None = None  # the wasm exception native frames are unwinding with
        self.ctx = Context()
        with _lock:
            self.id = next(_ids)
        _INSTANCES[self.id] = self
        self.ctx.instance_id = self.id
        # Every memory's base and size cell (see abi.MEMORY_RECORD); memory 0's also in the context.
        records: list[int] = []
        while f"M{len(records) // 2}" in namespace:
            memory = namespace[f"M{len(records) // 2}"]
            if memory.size_cell is None:
                memory.size_cell = U64(memory.size)
            records += (memory.base_address(), ctypes.addressof(memory.size_cell))
        self.memory_records = (U64 * max(len(records), 1))(*records)
        self.ctx.memories = ctypes.addressof(self.memory_records)
        if records:
            self.ctx.mem_base, self.ctx.mem_size = records[0], records[1]
        globals_ = []
        self.synced: list[tuple[GlobalInstance, Any, ValType]] = []
        self.cells: list[Any] = []
        self.reference_cells: list[Any] = []  # private cells holding handles (see HandleRegistry)
        if private_globals:
            mutable = sum(1 for g in module.globals if g.type.mutable)
            mutable += sum(1 for i in module.imports if isinstance(i.desc, GlobalType) and i.desc.mutable)
            private_globals = mutable <= PRIVATE_GLOBALS_LIMIT
        index = 0
        private_cells: dict[int, int] = {}  # one private cell per global, however many imports name it
        while f"G{index}" in namespace:
            glob = namespace[f"G{index}"]
            valtype = glob.type.valtype
            # Machine code holds every reference as a registry handle, exception references too (a
            # global without a cell would leave a null pointer that global.get reads).
            native = valtype in (I32, I64, F32, F64, V128) or isinstance(valtype, RefType)
            if native and private_globals and id(glob) in private_cells:
                globals_.append(private_cells[id(glob)])
            elif native and private_globals and not isinstance(glob, CellGlobal):
                cell = (U64 * 2)()
                put_cell(cell, glob.value, valtype)
                self.cells.append(cell)
                if isinstance(valtype, RefType):
                    self.reference_cells.append(cell)
                if glob.type.mutable:
                    self.synced.append((glob, cell, valtype))
                globals_.append(ctypes.addressof(cell))
                private_cells[id(glob)] = ctypes.addressof(cell)
            else:
                globals_.append(to_cell(glob).cell_address() if native else 0)
            index += 1
        self.globals = (ctypes.c_void_p * max(len(globals_), 1))(*globals_)
        self.ctx.globals = ctypes.addressof(self.globals)
        sandbox = namespace["SANDBOX"]
        if sandbox.stop_cell is None:
            sandbox.stop_cell = ctypes.c_int32(0)
        self.sandbox = sandbox
        self.calls = sandbox.calls  # the store's call accounting (see runtime.sandbox)
        # Metered code charges this cell; the store's fuel is copied in and out at every crossing.
        self.metered = metered
        self.fuel = ctypes.c_int64(0)
        self.ctx.fuel = ctypes.addressof(self.fuel)
        self.ctx.stop = ctypes.addressof(sandbox.stop_cell)
        self.frames = (U64 * FRAME_RING)()
        # Guard pages (runtime.guards): entries go through its guarded_call, and its handler is made
        # this process's again, should anything have replaced it since the last instance.
        self.guards = _guards.guards() if _guards.enabled() else None
        if self.guards is not None:
            self.guards.install()
        _registry.maybe_collect()
        # Each function's handle for ref.func, registered when native code first asks (0 until then).
        self.func_refs = (U64 * max(len(self.func_types), 1))()
        self.ctx.func_refs = ctypes.addressof(self.func_refs)
        self.signatures = (U64 * max(len(module.types), 1))(
            *[signature_id(t) if isinstance(t, FuncType) else 0 for t in closed_types(module.types)]
        )
        self.ctx.signatures = ctypes.addressof(self.signatures)
        # Exceptions machine code throws and catches itself: its tags' ids, and room for any payload.
        tags: list[Any] = []
        while f"TAG{len(tags)}" in namespace:
            tags.append(namespace[f"TAG{len(tags)}"])
        self.tags_by_id = {tag.native_id: tag for tag in tags}
        self.tag_ids = (U64 * max(len(tags), 1))(*[tag.native_id for tag in tags])
        self.ctx.tags = ctypes.addressof(self.tag_ids)
        self.exn_payload = (U64 * max([slot_count(tag.type.params) for tag in tags] + [1]))()
        self.ctx.exn_payload = ctypes.addressof(self.exn_payload)
        # What runtime.instance's frame description reads (it caches byte offsets there).
        self._debug_namespace: dict[str, Any] = {"__wasm_names__": module.names.functions, "__wasm_module__": module}
        self.ctx.frames = ctypes.addressof(self.frames)
        self.mirrors: dict[int, MirrorState] = {}  # by address, for REFRESH_TABLE
        self.ctx.ref_entries = ctypes.addressof(_reference_entries.record)
        index = 0
        while f"T{index}" in namespace:
            state = mirror_of(namespace[f"T{index}"])
            self.mirrors[state.address] = state
            index += 1
        self.tables = (ctypes.c_void_p * max(len(self.mirrors), 1))(*self.mirrors)
        self.ctx.tables = ctypes.addressof(self.tables)
        # The mirrors machine code may log table.set writes in (see MirrorState.apply_log).
        self.logged = tuple(state for state in self.mirrors.values() if state.funcref)
        self.ctx.function_entries = ctypes.addressof(_registry.functions)
        self.ctx_address = ctypes.addressof(self.ctx)
        self.lazy = None if isinstance(code, tuple) else code
        entries, addresses, tail_addresses = code if self.lazy is None else ({}, {}, {})
        # Tail entries of a whole module that makes tail calls (see lower.ModuleLowering), and the
        # slots its tail calls pass their arguments in.
        self.tail_addresses: dict[int, int] = dict(tail_addresses)
        self.tail_args = (U64 * max([slot_count(t.params) for t in module.types if isinstance(t, FuncType)] + [1]))()
        self.ctx.tail_args = ctypes.addressof(self.tail_args)
        self.entries = {index: entry_at(address) for index, address in entries.items()}
        self.addresses: dict[int, int] = dict(addresses)
        self.wrappers: dict[int, Any] = {}
        # Every function's code address; in lazy mode a stub until the function is compiled.
        self.code_table = (U64 * max(len(self.func_types), 1))()
        first = module.num_imported_funcs()
        for index in range(first, len(self.func_types)):
            if self.lazy is None:
                self.code_table[index] = self.addresses[index]
            else:
                compiled = self.lazy.functions.get(index)
                if compiled is not None:
                    self.entries[index] = entry_at(compiled[0])
                    self.addresses[index] = compiled[1]
                self.code_table[index] = compiled[1] if compiled else self.lazy.stubs[self.func_types[index]]
        self.ctx.code = ctypes.addressof(self.code_table)

    def compile_function(self, func_index: int, data: bytes | None = None, quick: bool = False) -> None:
        """Lazy mode: make sure ``func_index`` is machine code (``data``: its object code, if made
        elsewhere; ``quick``: the quick compiler's, made now) and every table of it knows."""
        assert self.lazy is not None
        entry, function = self.lazy.quick(func_index) if quick else self.lazy.ensure(func_index, data)
        self.entries[func_index] = entry_at(entry)
        self.addresses[func_index] = function
        self.code_table[func_index] = function
        wrapper = self.wrappers.get(func_index)
        if wrapper is not None:
            wrapper.native_address = function
            mark_mirrors_stale()

    def use_module_code(self, code: tuple[dict[int, int], dict[int, int], dict[int, int]]) -> None:
        """Lazy mode until now: run the whole module's machine code (``code``: its entry, function and
        tail entry addresses, see ``engine.compiled_code``) from here on.  Its entries replace every
        function's in the code table, so code compiled alone (and entries at loops) calls it; calls in
        progress finish on the code they started on (both kinds keep the context's conventions)."""
        entries, addresses, tail_addresses = code
        self.tail_addresses.update(tail_addresses)
        for index, address in addresses.items():
            self.entries[index] = entry_at(entries[index])
            self.addresses[index] = address
            self.code_table[index] = address
        self.lazy = None
        for index, wrapper in self.wrappers.items():
            wrapper.native_address = self.addresses.get(index, 0)
            wrapper.native_tail_address = self.tail_addresses.get(index, 0)
        mark_mirrors_stale()

    def code(self, func_index: int) -> Callable[..., Any]:
        """The function in the engines' calling convention: run-time values in, None/value/tuple out."""
        t = self.func_types[func_index]
        params, results = t.params, t.results
        in_count, out_count = max(slot_count(params), 1), max(slot_count(results), 1)
        in_layout, out_layout = slot_layout(params), slot_layout(results)
        simple = all(p is not V128 for p in params)
        ctx_address = self.ctx_address

        def call(*args: Any) -> Any:
            if _registry.made > 1024:
                _registry.maybe_collect()
            if simple:
                inputs = (U64 * in_count)(*[encode(v, p) for v, p in zip(args, params, strict=True)])
            else:
                inputs = (U64 * in_count)()
                for at, v, p in zip(in_layout, args, params, strict=True):
                    put(inputs, at, v, p)
            entry = self.entries.get(func_index)
            if entry is None:
                self.compile_function(func_index)
                entry = self.entries[func_index]
            return self.enter(entry, inputs, results, out_count, out_layout)

        call.__name__ = f"native_f{func_index}"
        call.native_address = self.addresses.get(func_index, 0)  # type: ignore[attr-defined]
        call.native_ctx = ctx_address  # type: ignore[attr-defined]
        call.native_tail_address = self.tail_addresses.get(func_index, 0)  # type: ignore[attr-defined]
        self.wrappers[func_index] = call
        return call

    def globals_to_native(self) -> None:
        for glob, cell, valtype in self.synced:
            put_cell(cell, glob.value, valtype)

    def globals_to_python(self) -> None:
        for glob, cell, valtype in self.synced:
            glob.value = get(cell, 0, valtype)

    def osr_code(self, func_index: int, entry_address: int, types: list[ValType]) -> Callable[[list[Any]], Any]:
        """An on-stack-replacement entry of ``func_index``: called with the baseline interpreter's
        frame (locals, then the operand stack, of ``types``), it runs the rest of the call as
        machine code and returns the call's results."""
        results = self.func_types[func_index].results
        layout, out_layout = slot_layout(types), slot_layout(results)
        count, out_count = max(slot_count(types), 1), max(slot_count(results), 1)
        entry = entry_at(entry_address)

        def resume(frame: list[Any]) -> Any:
            state = (U64 * count)()
            for at, value, t in zip(layout, frame, types, strict=True):
                put(state, at, value, t)
            return self.enter(entry, state, results, out_count, out_layout)

        return resume

    def enter(
        self, entry: Any, inputs: Any, results: tuple[ValType, ...], out_count: int, out_layout: list[int]
    ) -> Any:
        """Run an entry trampoline (globals synced around it, a trap raised after it) and return the
        results it left, in the engines' calling convention."""
        if self.entry_hook is not None:
            hook, self.entry_hook = self.entry_hook, None
            hook()
        outputs = (U64 * out_count)()
        ctx, calls = self.ctx, self.calls
        # Native frames count on from the store's accounting, against its limit, and keep
        # above the lowest stack address this thread allows (set when the store was entered).
        entered_at = calls[0]
        ctx.depth = entered_at
        ctx.depth_limit = calls[1]
        ctx.stack_limit = self.sandbox.stack_limit
        ctx.trap = 0
        _registry.begin_call()
        metered = self.metered
        if metered:
            self.fuel.value = self.sandbox.fuel
        try:
            if self.synced:
                self.globals_to_native()
                self.run_entry(entry, inputs, outputs)
                self.globals_to_python()
            else:
                self.run_entry(entry, inputs, outputs)
        finally:
            calls[0] = entered_at
            if metered:
                self.sandbox.fuel = self.fuel.value
            for state in self.logged:  # while its handles are still valid (a native call runs)
                state.apply_log()
            _registry.end_call()
        if ctx.trap:
            self.raise_trap(entered_at)
        if not results:
            return None
        if len(results) == 1:
            return get(outputs, 0, results[0])
        return tuple(get(outputs, at, r) for at, r in zip(out_layout, results, strict=True))

    def run_entry(self, entry: Any, inputs: Any, outputs: Any) -> None:
        """Call an entry trampoline; with guard pages, through ``guards.guarded_call``, which comes
        back early when machine code touched a guard page: that is an out-of-bounds trap."""
        guards = self.guards
        if guards is None:
            entry(self.ctx_address, inputs, outputs)
            return
        slot, slot_address = guards.slot()
        if guards.call(entry.address, self.ctx_address, inputs, outputs, slot_address):
            self.note_guard_fault(slot[1])

    def note_guard_fault(self, instruction: int) -> None:
        """The trap a guard page caught, as machine code would have left it: code 5, and in the ring
        the faulting function at its own depth (a leaf's is one below the context's: it does not store
        its depth) and the access's position, from the code's line table (see position_lines); the
        frame names the function alone when the table has no line there."""
        # Where each function's code starts: itself, its tail entry, and its entry trampoline (into
        # which LLVM may have inlined it).
        entries = [(index, entry.address) for index, entry in self.entries.items()]
        starts = [(start, index) for index, start in (*self.addresses.items(), *self.tail_addresses.items(), *entries)]
        start, function = max([(start, index) for start, index in starts if start <= instruction], default=(0, 0))
        first = self.module.num_imported_funcs()
        from .lower import is_leaf
        from .object_loader import line_at
        from .position_lines import position_of

        leaf = function >= first and is_leaf(self.module.funcs[function - first].body)
        depth = self.ctx.depth + (1 if leaf else 0)
        row = line_at(instruction)
        # (A row starting before the function's code is another function's: no line of its own here.)
        position = position_of(row[1]) if row is not None and row[0] >= start else None
        self.frames[depth & (FRAME_RING - 1)] = function << 32 | (UNKNOWN_POSITION if position is None else position)
        self.ctx.trap_depth = depth
        self.ctx.trap = TRAP["out of bounds memory access"]

    def take_native_exception(self) -> None:
        """An exception machine code threw (tag id and payload in the context record) becomes the
        object the host holds (``exception``): it is leaving machine code, or caught by reference."""
        tag_id = self.ctx.exn_tag
        if not tag_id:
            return
        self.ctx.exn_tag = 0
        tag = self.tags_by_id[tag_id]
        params = tag.type.params
        payload = tuple(get(self.exn_payload, at, p) for at, p in zip(slot_layout(params), params, strict=True))
        self.exception = WasmException(tag, payload)

    def raise_trap(self, entered_at: int) -> None:
        code = self.ctx.trap
        self.ctx.trap = 0
        kind = TRAP_KINDS.get(code, "unknown trap")
        if kind == "host":
            pending, self.pending = self.pending, None
            assert pending is not None
            raise pending
        if kind == "exception":
            self.take_native_exception()
            exception, self.exception = self.exception, None
            assert exception is not None
            raise exception
        if kind == "stop":
            trap = Trap(self.sandbox.stop or "interrupted")
        elif kind == "call stack exhausted":
            trap = Exhaustion()
        elif kind in ("undefined element", "uninitialized element"):
            trap = Trap(kind, f"{kind} {self.ctx.trap_detail}")
        else:
            trap = Trap(kind)
        trap.frames = self.backtrace(self.ctx.trap_depth, entered_at)
        raise trap

    def backtrace(self, deepest: int, entered_at: int) -> list[TrapFrame]:
        """The frames between the trap and this entry, innermost first, from the ring."""
        from ...runtime.instance import _describe_frame

        frames = []
        namespace = self._debug_namespace
        for depth in range(deepest, max(entered_at, deepest - BACKTRACE_FRAMES), -1):
            word = self.frames[depth & (FRAME_RING - 1)]
            position = word & UNKNOWN_POSITION
            frames.append(_describe_frame(namespace, word >> 32, None if position == UNKNOWN_POSITION else position))
        return frames


def _instance(ctx_address: int) -> NativeInstance:
    """The instance a callback is for, its tables made current (Python code may read them next)."""
    instance = _INSTANCES[Context.from_address(ctx_address).instance_id]
    for state in instance.logged:
        state.apply_log()
    return instance


def _call_through_slots(instance: NativeInstance, function: Callable[..., Any], t: FuncType, slots: Any) -> int:
    """Call into Python with the slots' values; nonzero (and ctx.trap set) when it failed."""
    synced = instance.synced
    calls = instance.calls
    saved = calls[0]
    ctx = instance.ctx
    native_depth = ctx.depth
    calls[0] = native_depth  # Python frames count on from the native frames below them
    metered = instance.metered
    if metered:  # the host function (and wasm it calls) spends from the same fuel
        instance.sandbox.fuel = instance.fuel.value
    try:
        args = [get(slots, at, p) for at, p in zip(slot_layout(t.params), t.params, strict=True)]
        if synced:
            instance.globals_to_python()
            try:
                result = function(*args)
            finally:
                instance.globals_to_native()
        else:
            result = function(*args)
        # By the type's count, not the value: one result may be None (a null reference).
        count = len(t.results)
        values = (result,) if count == 1 else () if count == 0 else result
        for at, value, r in zip(slot_layout(t.results), values, t.results, strict=True):
            put(slots, at, value, r)
        return 0
    except WasmException as exception:  # a wasm exception from another instance: catchable here too
        instance.exception = exception
        instance.ctx.exn_tag = 0
        instance.ctx.trap = TRAP["exception"]
        return 1
    except BaseException as error:  # noqa: BLE001 - kept and re-raised by the entry wrapper
        instance.pending = error
        instance.ctx.trap = TRAP["host"]
        return 1
    finally:
        calls[0] = saved
        # Wasm the host function called on this instance (re-entry) leaves the depth where it ended: a
        # trap unwinds without giving frames back.  The native frames below go on from their own depth
        # (else every later call and backtrace is off by the dead frames).
        ctx.depth = native_depth
        if metered:
            instance.fuel.value = instance.sandbox.fuel


def _host_call(ctx_address: int, func_index: int, slots: Any) -> int:
    instance = _instance(ctx_address)
    function = instance.namespace[f"f{func_index}"]
    return _call_through_slots(instance, function, instance.func_types[func_index], slots)


def _call_indirect(ctx_address: int, type_index: int, table_index: int, element: int, slots: Any) -> int:
    instance = _instance(ctx_address)
    expected = instance.namespace[f"TYPE{type_index}"]
    table = instance.namespace[f"T{table_index}"]
    try:
        function = call_indirect(table, element, expected)
    except Trap as trap:
        instance.pending = trap
        Context.from_address(ctx_address).trap = 7
        return 1
    if getattr(function, "native_address", 0):
        _heal_entry(table, element)
    return _call_through_slots(instance, function, expected, slots)


def _heal_entry(table: Any, element: int) -> None:
    """The function at ``element`` became machine code after the table's mirror was made: its entry now
    says so, and the next indirect call of it from machine code is direct.  (A large module's mirrors are
    not remade whenever one of its functions becomes machine code, see ``tiers.install_quick``: Lua's
    interpreter called its library functions through the host ~12,000 times in a cold run.)"""
    state = getattr(table.elements, "watcher", None)
    if state is not None and state.funcref and not state.mirror.dirty and element < state.mirror.length:
        _fill_entry(state.entries[element], table.elements[element])


def _reference_entry(ctx_address: int, handle: int) -> int:
    """The entry of the function ``handle`` names (see ReferenceEntries); null's has signature 0."""
    function = object_of(handle)
    if function is None:
        return ctypes.addressof(_NULL_ENTRY)
    return _reference_entries.fill(handle, function)


_NULL_ENTRY = TableEntry()


def _call_ref(ctx_address: int, type_index: int, handle: int, slots: Any) -> int:
    """call_ref of a function that is not this instance's machine code, through Python."""
    instance = _instance(ctx_address)
    function = object_of(handle)
    return _call_through_slots(instance, function.code, instance.namespace[f"TYPE{type_index}"], slots)


def _refresh_table(ctx_address: int, mirror_address: int) -> None:
    instance = _instance(ctx_address)
    try:
        instance.mirrors[mirror_address].rebuild()
    except BaseException as error:  # noqa: BLE001 - kept and re-raised by the entry wrapper
        instance.pending = error
        instance.ctx.trap = TRAP["host"]


def _memory_grow(ctx_address: int, delta: int, memory: int) -> int:
    instance = _instance(ctx_address)
    return int(instance.namespace[f"M{memory}"].grow(delta))


def _runtime_op(ctx_address: int, code: int, slots: Any) -> int:
    instance = _instance(ctx_address)
    ns = instance.namespace
    name = RUNTIME_OPS[code]
    try:
        if name == "table.size":
            slots[0] = len(ns[f"T{slots[1]}"].elements)
        elif name == "ref.func":
            slots[0] = instance.func_refs[slots[1]] = handle_of(ns[f"F{slots[1]}"])
        elif name == "table.copy":
            table_copy(ns[f"T{slots[1]}"], ns[f"T{slots[2]}"], slots[3], slots[4], slots[5])
        elif name == "table.init":
            table_init(ns[f"T{slots[2]}"], ns["ELEMS"], slots[1], slots[3], slots[4], slots[5])
        elif name == "elem.drop":
            ns["ELEMS"][slots[1]] = []
        elif name == "memory.init":
            memory_init(ns[f"M{slots[2]}"], ns["DATAS"], slots[1], slots[3], slots[4], slots[5])
        elif name == "data.drop":
            ns["DATAS"][slots[1]] = b""
        elif name == "table.get":
            slots[0] = handle_of(table_get(ns[f"T{slots[1]}"], slots[2]))
        elif name == "table.set":
            table_set(ns[f"T{slots[1]}"], slots[2], object_of(slots[3]))
            if _registry.functions.stale:  # machine code does the next ones itself again
                _registry.describe_all()
        elif name == "table.grow":
            slots[0] = ns[f"T{slots[1]}"].grow(slots[3], object_of(slots[2]))
        elif name == "table.fill":
            table_fill(ns[f"T{slots[1]}"], slots[2], object_of(slots[3]), slots[4])
        return 0
    except BaseException as error:  # noqa: BLE001 - kept and re-raised by the entry wrapper
        instance.pending = error
        Context.from_address(ctx_address).trap = 7
        return 1


def _throw_ref(ctx_address: int, handle: int) -> int:
    instance = _instance(ctx_address)
    exception = object_of(handle)
    if exception is None:
        instance.ctx.trap = TRAP["null exception reference"]
    else:
        instance.exception = exception
        instance.ctx.exn_tag = 0  # the exception in flight is this object
        instance.ctx.trap = TRAP["exception"]
    return int(instance.ctx.trap)


def _catch(ctx_address: int, tag_index: int, with_ref: int, slots: Any) -> int:
    """Whether the pending exception matches a catch clause (tag_index 0xFFFFFFFF: catch_all); if so,
    the payload (for a tagged clause) and the exnref go to the slots and the exception is taken."""
    instance = _instance(ctx_address)
    instance.take_native_exception()
    exception = instance.exception
    if exception is None:
        return 0
    types: list[ValType] = []
    values: list[Any] = []
    if tag_index != 0xFFFFFFFF:
        if exception.tag is not instance.namespace[f"TAG{tag_index}"]:
            return 0
        types, values = list(exception.tag.type.params), list(exception.payload)
    if with_ref:
        types.append(EXNREF)
        values.append(exception)
    for at, value, t in zip(slot_layout(types), values, types, strict=True):
        put(slots, at, value, t)
    instance.exception = None
    return 1


_CALLBACK_FUNCTIONS = frozenset(
    (_host_call, _call_indirect, _memory_grow, _runtime_op, _refresh_table, _throw_ref, _catch)
)
_previous_unraisable_hook = sys.unraisablehook


def _unraisable(unraisable: Any) -> None:
    """An exception that escaped one of the callbacks above (a signal's ``KeyboardInterrupt`` can be
    raised on a callback's very first line, before its own handler): ctypes would print it and
    return garbage to native code.  It becomes the instance's pending exception and trap instead,
    which native code checks after every callback, so the call ends with it."""
    traceback = unraisable.exc_traceback
    if unraisable.object in _CALLBACK_FUNCTIONS and traceback is not None:
        ctx_address = traceback.tb_frame.f_locals.get("ctx_address")
        instance = _INSTANCES.get(Context.from_address(ctx_address).instance_id) if ctx_address else None
        if instance is not None:
            if instance.pending is None:
                instance.pending = unraisable.exc_value
            instance.ctx.trap = TRAP["host"]
            return
    _previous_unraisable_hook(unraisable)


sys.unraisablehook = _unraisable


CALLBACKS = {
    HOST_CALL: ctypes.CFUNCTYPE(ctypes.c_int32, ctypes.c_void_p, ctypes.c_int32, SlotArray)(_host_call),
    CALL_INDIRECT: ctypes.CFUNCTYPE(
        ctypes.c_int32, ctypes.c_void_p, ctypes.c_int32, ctypes.c_int32, ctypes.c_uint32, SlotArray
    )(_call_indirect),
    MEMORY_GROW: ctypes.CFUNCTYPE(ctypes.c_uint64, ctypes.c_void_p, ctypes.c_uint64, ctypes.c_uint32)(_memory_grow),
    RUNTIME_OP: ctypes.CFUNCTYPE(ctypes.c_int32, ctypes.c_void_p, ctypes.c_int32, SlotArray)(_runtime_op),
    REFRESH_TABLE: ctypes.CFUNCTYPE(None, ctypes.c_void_p, ctypes.c_void_p)(_refresh_table),
    THROW_REF: ctypes.CFUNCTYPE(ctypes.c_int32, ctypes.c_void_p, ctypes.c_uint64)(_throw_ref),
    REFERENCE_ENTRY: ctypes.CFUNCTYPE(ctypes.c_void_p, ctypes.c_void_p, ctypes.c_uint64)(_reference_entry),
    CALL_REF: ctypes.CFUNCTYPE(ctypes.c_int32, ctypes.c_void_p, ctypes.c_int32, ctypes.c_uint64, SlotArray)(_call_ref),
    CATCH: ctypes.CFUNCTYPE(ctypes.c_int32, ctypes.c_void_p, ctypes.c_uint32, ctypes.c_int32, SlotArray)(_catch),
}
