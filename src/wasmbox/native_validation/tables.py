"""What the native validator reads: its instruction table and the module's context, as C records.

The table is made from the one instruction table (``ir.instructions``): for
every opcode of the feature set, its validation kind, immediate kind,
operand and result types, natural alignment and lane count.  The context
holds the spec's context C (types, functions, globals, tables, memories,
data and element segments, tags, declared function references) as arrays.
"""

from __future__ import annotations

import ctypes
import enum
from typing import Any

from ..ir import instructions as ins
from ..ir.instructions import Imm
from ..ir.module import Module
from ..ir.subtyping import top_heap
from ..ir.types import EXNREF, EXTERNREF, FUNCREF, NUMBER_TYPES, ExternKind, FuncType, RefType, ValType, type_code

FUNCTION_NAME = "validate_body"  # the compiled validator's one symbol (emit makes it)

SINGLE, FC_BASE, FD_BASE, TABLE_SIZE = 0, 256, 320, 320 + 512
FC_LIMIT, FD_LIMIT = FD_BASE - FC_BASE, TABLE_SIZE - FD_BASE


class Kind(enum.IntEnum):
    """How the validator treats an opcode (0: not an instruction of this feature set)."""

    ILLEGAL = 0
    FIXED = 1  # the signature in the table, after the immediate's checks
    UNREACHABLE = 2
    BLOCK = 3
    LOOP = 4
    IF = 5
    ELSE = 6
    END = 7
    BR = 8
    BR_IF = 9
    BR_TABLE = 10
    RETURN = 11
    CALL = 12
    CALL_INDIRECT = 13
    THROW = 14
    THROW_REF = 15
    TRY_TABLE = 16
    DROP = 17
    SELECT = 18
    SELECT_T = 19
    LOCAL_GET = 20
    LOCAL_SET = 21
    LOCAL_TEE = 22
    GLOBAL_GET = 23
    GLOBAL_SET = 24
    REF_NULL = 25
    REF_IS_NULL = 26
    REF_FUNC = 27
    TABLE_GET = 28
    TABLE_SET = 29
    TABLE_SIZE = 30
    TABLE_GROW = 31
    TABLE_FILL = 32
    RETURN_CALL = 33
    RETURN_CALL_INDIRECT = 34
    TRY = 35  # legacy exception handling: a try's body
    CATCH = 36  # a catch handler (the frame a rethrow names)
    CATCH_ALL = 37
    DELEGATE = 38
    RETHROW = 39


class Immediate(enum.IntEnum):
    """Immediates of FIXED instructions, as the validator reads and checks them."""

    NONE = 0
    MEMARG = 1
    MEMARG_LANE = 2
    LANE = 3
    I32 = 4
    I64 = 5
    F32 = 6
    F64 = 7
    V128 = 8
    SHUFFLE = 9
    MEMORY = 10
    MEMORY_COPY = 11
    MEMORY_INIT = 12
    DATA = 13
    ELEM = 14
    TABLE_INIT = 15
    TABLE_COPY = 16


_IMMEDIATES = {
    Imm.NONE: Immediate.NONE,
    Imm.MEMARG: Immediate.MEMARG,
    Imm.MEMARG_LANE: Immediate.MEMARG_LANE,
    Imm.LANE: Immediate.LANE,
    Imm.I32: Immediate.I32,
    Imm.I64: Immediate.I64,
    Imm.F32: Immediate.F32,
    Imm.F64: Immediate.F64,
    Imm.V128: Immediate.V128,
    Imm.SHUFFLE: Immediate.SHUFFLE,
    Imm.MEMORY: Immediate.MEMORY,
    Imm.MEMORY_COPY: Immediate.MEMORY_COPY,
    Imm.MEMORY_INIT: Immediate.MEMORY_INIT,
    Imm.DATA: Immediate.DATA,
    Imm.ELEM: Immediate.ELEM,
    Imm.TABLE_INIT: Immediate.TABLE_INIT,
    Imm.TABLE_COPY: Immediate.TABLE_COPY,
}

_SPECIAL = {
    "unreachable": Kind.UNREACHABLE,
    "block": Kind.BLOCK,
    "loop": Kind.LOOP,
    "if": Kind.IF,
    "else": Kind.ELSE,
    "end": Kind.END,
    "br": Kind.BR,
    "br_if": Kind.BR_IF,
    "br_table": Kind.BR_TABLE,
    "return": Kind.RETURN,
    "call": Kind.CALL,
    "call_indirect": Kind.CALL_INDIRECT,
    "return_call": Kind.RETURN_CALL,
    "return_call_indirect": Kind.RETURN_CALL_INDIRECT,
    "throw": Kind.THROW,
    "throw_ref": Kind.THROW_REF,
    "try_table": Kind.TRY_TABLE,
    "try": Kind.TRY,
    "catch": Kind.CATCH,
    "catch_all": Kind.CATCH_ALL,
    "delegate": Kind.DELEGATE,
    "rethrow": Kind.RETHROW,
    "drop": Kind.DROP,
    "select": Kind.SELECT,
    "select_t": Kind.SELECT_T,
    "local.get": Kind.LOCAL_GET,
    "local.set": Kind.LOCAL_SET,
    "local.tee": Kind.LOCAL_TEE,
    "global.get": Kind.GLOBAL_GET,
    "global.set": Kind.GLOBAL_SET,
    "ref.null": Kind.REF_NULL,
    "ref.is_null": Kind.REF_IS_NULL,
    "ref.func": Kind.REF_FUNC,
    "table.get": Kind.TABLE_GET,
    "table.set": Kind.TABLE_SET,
    "table.size": Kind.TABLE_SIZE,
    "table.grow": Kind.TABLE_GROW,
    "table.fill": Kind.TABLE_FILL,
}


# Instructions the native validator does not know (their bodies are refused, so Python checks them):
# typed references and GC (their types do not fit its codes), wide arithmetic (four operands, two results).
# Atomics (threads) sit behind a prefix byte of their own, which it does not know either.
PYTHON_CHECKED_FEATURES = frozenset((ins.FUNCTION_REFERENCES, ins.GC, ins.WIDE_ARITHMETIC, ins.THREADS))


class OpEntry(ctypes.Structure):
    _fields_ = [
        ("kind", ctypes.c_uint8),
        ("immediate", ctypes.c_uint8),
        ("pops", ctypes.c_uint8),
        ("pop0", ctypes.c_uint8),
        ("pop1", ctypes.c_uint8),
        ("pop2", ctypes.c_uint8),
        ("pushes", ctypes.c_uint8),
        ("push", ctypes.c_uint8),
        ("align", ctypes.c_uint8),
        ("lanes", ctypes.c_uint8),
        ("padding", ctypes.c_uint8 * 6),
    ]


OP_ENTRY_FIELDS = [field[0] for field in OpEntry._fields_ if field[0] != "padding"]
assert ctypes.sizeof(OpEntry) == 16


def op_table(features: frozenset[str]) -> Any:
    """The instruction table for ``features``, indexed by opcode (prefixed ones after 256)."""
    single, prefixed, _ = ins.opcode_tables(features)
    table = (OpEntry * TABLE_SIZE)()
    placed = [(code, op) for code, op in enumerate(single) if op is not None]
    placed += [(FC_BASE + sub, op) for sub, op in prefixed[0xFC].items() if sub < FC_LIMIT]
    placed += [(FD_BASE + sub, op) for sub, op in prefixed[0xFD].items() if sub < FD_LIMIT]
    for index, op in placed:
        if op.feature in PYTHON_CHECKED_FEATURES:
            continue  # left illegal, so bodies with them are Python's to check
        entry = table[index]
        special = _SPECIAL.get(op.name)
        if special is not None:
            entry.kind = special
            continue
        assert op.params is not None and op.results is not None, op.name
        entry.kind = Kind.FIXED
        entry.immediate = _IMMEDIATES[op.imm]
        entry.pops = len(op.params)
        for i, t in enumerate(op.params):
            setattr(entry, f"pop{i}", type_code(t))
        entry.pushes = len(op.results)
        if op.results:
            entry.push = type_code(op.results[0])
        entry.align = op.align
        entry.lanes = op.lanes
    return table


I32P = ctypes.POINTER(ctypes.c_int32)
U8P = ctypes.POINTER(ctypes.c_uint8)

CONTEXT_FIELDS: list[tuple[str, Any]] = [
    ("ops", ctypes.c_void_p),
    ("type_params_at", ctypes.c_void_p),  # i32[types]: offset of the parameters in type_data
    ("type_params", ctypes.c_void_p),  # i32[types]: their count
    ("type_results_at", ctypes.c_void_p),
    ("type_results", ctypes.c_void_p),
    ("type_data", ctypes.c_void_p),  # u8 value type codes
    ("types", ctypes.c_int64),
    ("func_types", ctypes.c_void_p),  # i32[functions]: type index of every function
    ("funcs", ctypes.c_int64),
    ("global_types", ctypes.c_void_p),  # u8[globals]
    ("global_mutable", ctypes.c_void_p),  # u8[globals]
    ("globals", ctypes.c_int64),
    ("table_types", ctypes.c_void_p),  # u8[tables]: element type
    ("tables", ctypes.c_int64),
    ("memories", ctypes.c_int64),
    ("data_count", ctypes.c_int64),  # what memory.init/data.drop may name
    ("has_data_count", ctypes.c_int64),  # whether the data count section is there (else they are malformed)
    ("elem_types", ctypes.c_void_p),  # u8[elems]
    ("elems", ctypes.c_int64),
    ("tag_types", ctypes.c_void_p),  # i32[tags]: type index
    ("tags", ctypes.c_int64),
    ("declared", ctypes.c_void_p),  # u8[functions]: 1 where ref.func may name it
    ("exceptions", ctypes.c_int64),  # exnref is a value type
    ("multi_memory", ctypes.c_int64),  # memargs and memory instructions may name any memory
    ("max_locals", ctypes.c_int64),
    ("values", ctypes.c_void_p),  # scratch: the operand stack of types
    ("values_capacity", ctypes.c_int64),
    ("frames", ctypes.c_void_p),  # scratch: control frames (FRAME_FIELDS, i64 each)
    ("frames_capacity", ctypes.c_int64),
    ("locals", ctypes.c_void_p),  # scratch: local types
    ("locals_capacity", ctypes.c_int64),
    ("memory_addresses", ctypes.c_void_p),  # u8[memories]: address type code (i32, or i64 with memory64)
    ("table_addresses", ctypes.c_void_p),  # u8[tables]: the same for tables
    ("memory64", ctypes.c_int64),  # memarg offsets are u64 (the memory's address type bounds them)
]
CONTEXT_OFFSET = {name: 8 * i for i, (name, _) in enumerate(CONTEXT_FIELDS)}

# A control frame: kind (Kind.BLOCK/LOOP/IF/ELSE/TRY_TABLE, or 0 for the function), stack height,
# unreachable flag, and its parameter and result types as (pointer, count) pairs.
FRAME_FIELDS = ("kind", "height", "unreachable", "params_at", "params", "results_at", "results")
FRAME_SIZE = 8 * len(FRAME_FIELDS)


class NativeContext(ctypes.Structure):
    _fields_ = [(name, kind) for name, kind in CONTEXT_FIELDS]


VALUES_CAPACITY = 1 << 16
FRAMES_CAPACITY = 1 << 12
LOCALS_CAPACITY = 1 << 16


class ContextData:
    """A module's context for the native validator, and the arrays it points into (kept alive here)."""

    def __init__(self, module: Module, features: frozenset[str], max_locals: int) -> None:
        keep: list[Any] = []

        def array(ctype: Any, values: list[int]) -> int:
            data = (ctype * max(len(values), 1))(*values)
            keep.append(data)
            return ctypes.addressof(data)

        context = NativeContext()
        table = op_table(features)
        keep.append(table)
        context.ops = ctypes.addressof(table)
        type_data: list[int] = []
        params_at, params, results_at, results = [], [], [], []
        for defined in module.types:
            t = defined if isinstance(defined, FuncType) else FuncType()  # GC types: refused before
            params_at.append(len(type_data))
            params.append(len(t.params))
            type_data.extend(type_code(v) for v in t.params)
            results_at.append(len(type_data))
            results.append(len(t.results))
            type_data.extend(type_code(v) for v in t.results)
        context.type_params_at = array(ctypes.c_int32, params_at)
        context.type_params = array(ctypes.c_int32, params)
        context.type_results_at = array(ctypes.c_int32, results_at)
        context.type_results = array(ctypes.c_int32, results)
        context.type_data = array(ctypes.c_uint8, type_data)
        context.types = len(module.types)
        func_types = [imp.desc for imp in module.imported(ExternKind.FUNC)] + [f.type_index for f in module.funcs]
        context.func_types = array(ctypes.c_int32, func_types)  # type: ignore[arg-type]
        context.funcs = len(func_types)
        global_types = module.global_types()
        context.global_types = array(ctypes.c_uint8, [type_code(g.valtype) for g in global_types])
        context.global_mutable = array(ctypes.c_uint8, [int(g.mutable) for g in global_types])
        context.globals = len(global_types)
        tables = module.table_types()
        context.table_types = array(ctypes.c_uint8, [type_code(t.element) for t in tables])
        context.tables = len(tables)
        memories = module.memory_types()
        context.memories = len(memories)
        context.memory_addresses = array(ctypes.c_uint8, [type_code(t.address_type) for t in memories])
        context.table_addresses = array(ctypes.c_uint8, [type_code(t.address_type) for t in tables])
        context.memory64 = int(ins.MEMORY64 in features)
        context.data_count = module.data_count if module.data_count is not None else len(module.datas)
        context.has_data_count = int(module.data_count is not None)
        context.elem_types = array(ctypes.c_uint8, [_elem_code(seg.type) for seg in module.elements])
        context.elems = len(module.elements)
        tag_types = [imp.desc for imp in module.imported(ExternKind.TAG)] + [t.type_index for t in module.tags]
        context.tag_types = array(ctypes.c_int32, tag_types)  # type: ignore[arg-type]
        context.tags = len(tag_types)
        from ..validate import _declared_refs

        declared = bytearray(len(func_types))
        for index in _declared_refs(module):
            if index < len(declared):
                declared[index] = 1
        context.declared = array(ctypes.c_uint8, list(declared))
        context.exceptions = int(ins.EXCEPTIONS in features)
        context.multi_memory = int(ins.MULTI_MEMORY in features)
        context.max_locals = max_locals
        for name, capacity, width in (
            ("values", VALUES_CAPACITY, 1),
            ("frames", FRAMES_CAPACITY, FRAME_SIZE),
            ("locals", LOCALS_CAPACITY, 1),
        ):
            scratch = (ctypes.c_uint8 * (capacity * width))()
            keep.append(scratch)
            setattr(context, name, ctypes.addressof(scratch))
            setattr(context, f"{name}_capacity", capacity)
        self.context = context
        self.keep = keep
        self.address = ctypes.addressof(context)


def declarations_representable(module: Module) -> bool:
    """Whether every value type the module declares (in types, imports, tables, globals) has a
    one-byte code the native validator knows: it has no typed references (``(ref $t)``)."""
    if any(not isinstance(f, FuncType) or f.rec is not None or f.supertypes or not f.final for f in module.types):
        return False  # GC's types: the native validator does not know them
    declared = [t for f in module.types if isinstance(f, FuncType) for t in (*f.params, *f.results)]
    declared += [t.element for t in module.table_types()] + [g.valtype for g in module.global_types()]
    return all(not isinstance(t, RefType) or t in VALUE_CODES for t in declared)


def _elem_code(t: ValType) -> int:
    """An element segment's type code; a typed reference (``(ref func)``: function indices) as the
    top of its hierarchy (funcref), which keeps what the validator checks of it sound: that
    table.init's table is of a supertype (a table of typed references is never representable)."""
    if isinstance(t, RefType) and t not in VALUE_CODES:
        return type_code(RefType(True, top_heap(t.heap)))
    return type_code(t)


VALUE_CODES = {t: type_code(t) for t in (*NUMBER_TYPES, FUNCREF, EXTERNREF, EXNREF)}
