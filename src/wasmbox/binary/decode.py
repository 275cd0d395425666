"""Binary format decoder: bytes -> :class:`~wasmbox.ir.module.Module`.

Follows the binary grammar of the spec (section "Binary Format") and the
reference decoder's error words, so ``assert_malformed`` tests match.
Instruction immediates are read by kind, as the instruction table says.
"""

from __future__ import annotations

import gc
from collections.abc import Callable

from .. import limits, records
from ..errors import ImplementationLimitError, MalformedError
from ..ir import instructions as ins
from ..ir.instructions import Imm, Instruction, Opcode
from ..ir.module import (
    CustomSection,
    DataSegment,
    ElementSegment,
    Export,
    Expr,
    Function,
    Global,
    Import,
    Memory,
    Module,
    Names,
    SegmentMode,
    Table,
    Tag,
    func_elem_type,
)
from ..ir.types import (
    EXNREF,
    EXTERNREF,
    FUNCREF,
    GC_HEAP_TYPES,
    HEAPTYPE_BY_CODE,
    NUMBER_TYPES,
    PACKED_BY_CODE,
    PAGE_SIZE,
    VALTYPE_BY_CODE,
    ArrayType,
    DefinedType,
    ExternKind,
    FieldType,
    FuncType,
    GlobalType,
    HeapType,
    Limits,
    MemoryType,
    RefType,
    StorageType,
    StructType,
    TableType,
    ValType,
    type_code,
)
from .reader import Reader

MAGIC = b"\x00asm"
VERSION = b"\x01\x00\x00\x00"

# Sections in the order they must appear (tags after memories, data count
# before code).
SECTION_ORDER = {1: 1, 2: 2, 3: 3, 4: 4, 5: 5, 13: 6, 6: 7, 7: 8, 8: 9, 9: 10, 12: 11, 10: 12, 11: 13}


def decode_module(
    data: bytes | bytearray | memoryview, features: frozenset[str] = ins.DEFAULT_FEATURES, lazy: bool = False
) -> Module:
    """Decode a whole binary module; raises :class:`MalformedError`.

    ``lazy`` leaves function bodies (locals and instructions) as bytes until
    first used (see :class:`EncodedBody`): errors inside a body then surface
    when it is decoded, which validation does for every body, so only callers
    that validate next should ask for it.  A lazy module also keeps its data
    count as declared (an eager decode drops it when no body needs it, so the
    module encodes back to the same bytes).

    The cyclic garbage collector is paused meanwhile: decoding creates
    millions of acyclic objects, and collections triggered by their count
    alone cost a large share of the time on big modules.
    """
    gc_was_enabled = gc.isenabled()
    gc.disable()
    try:
        return _Decoder(bytes(data), features, lazy).module()
    finally:
        if gc_was_enabled:
            gc.enable()


def _heap_allowed(r: Reader, heap: HeapType) -> bool:
    """Whether the module's features include an abstract heap type (exceptions, GC)."""
    if heap is HeapType.EXN:
        return ins.EXCEPTIONS in r.features
    return heap not in GC_HEAP_TYPES or ins.GC in r.features


def _known_valtype(r: Reader, code: int) -> ValType | None:
    """The one-byte value type ``code`` (a number type or a shorthand like ``funcref``) if known."""
    t = VALTYPE_BY_CODE.get(code)
    if isinstance(t, RefType) and not _heap_allowed(r, t.heap):  # type: ignore[arg-type]
        return None
    return t


def read_heap_type(r: Reader) -> HeapType | int:
    """A heap type (s33): a type index, or an abstract heap type as a negative one-byte value."""
    start = r.pos
    value = r.signed(33)
    if value >= 0:
        if ins.FUNCTION_REFERENCES not in r.features:
            raise r.error("malformed reference type", start)
        return value
    heap = HEAPTYPE_BY_CODE.get(value + 0x80) if value >= -0x40 else None
    if heap is None or not _heap_allowed(r, heap):
        raise r.error("malformed heap type", start)
    return heap


def _prefixed_reftype(r: Reader, code: int) -> RefType | None:
    """``(ref null? ht)`` after its 0x63 (nullable) or 0x64 byte (typed function references)."""
    if code not in (0x63, 0x64) or ins.FUNCTION_REFERENCES not in r.features:
        return None
    return RefType(code == 0x63, read_heap_type(r))


def read_valtype(r: Reader) -> ValType:
    code = r.byte()
    t = _known_valtype(r, code) or _prefixed_reftype(r, code)
    if t is None:
        raise r.error("malformed value type", r.pos - 1)
    return t


def read_reftype(r: Reader) -> RefType:
    code = r.byte()
    t = _known_valtype(r, code) or _prefixed_reftype(r, code)
    if not isinstance(t, RefType):
        raise r.error("malformed reference type", r.pos - 1)
    return t


def _ref_null_type(r: Reader) -> tuple[object, ...]:
    """``ref.null``'s immediate, a heap type, kept as the nullable reference type it produces."""
    return (RefType(True, read_heap_type(r)),)


def read_limits(r: Reader, memory: bool = False) -> tuple[Limits, bool, bool, int]:
    """Limits and whether they are a 64-bit memory's or table's (``is_64``).

    Wasm 2.0 writes the flags as a 1-bit LEB128 (so 0x81 0x00 is "too long") and the bounds as
    u32.  With memory64 (Wasm 3.0, "Limits" in the binary format) the flags are one byte: bit 0
    says a maximum follows, bit 2 that the address type is i64; the bounds are u64 for either
    address type, so an i32 memory of 2^32 pages is *invalid*, not malformed.  With threads, bit 1
    of a memory's flags says it is shared (the third value returned).  With custom page sizes, bit 3
    says the log2 of the page size follows the limits (the page size is the fourth value)."""
    shared_flag = 0x02 if memory and ins.THREADS in r.features else 0x00
    page_flag = 0x08 if memory and ins.CUSTOM_PAGE_SIZES in r.features else 0x00
    if ins.MEMORY64 not in r.features:
        flags = r.unsigned(2 if shared_flag else 1)
        if flags & ~(0x01 | shared_flag):
            raise r.error("malformed limits flags", r.pos - 1)
        low = r.u32()
        return Limits(low, r.u32() if flags & 0x01 else None), False, bool(flags & shared_flag), PAGE_SIZE
    flags = r.byte()
    if flags & ~(0x01 | 0x04 | shared_flag | page_flag):
        raise r.error("malformed limits flags", r.pos - 1)
    low = r.unsigned(64)
    high = r.unsigned(64) if flags & 0x01 else None
    page_size = PAGE_SIZE
    if flags & page_flag:
        start = r.pos
        log2 = r.u32()
        if log2 > 64:  # validation refuses every size but 1 and 65536; this one is no u64 at all
            raise r.error("invalid custom page size", start)
        page_size = 1 << log2
    return Limits(low, high), bool(flags & 0x04), bool(flags & shared_flag), page_size


def read_table_type(r: Reader) -> TableType:
    element = read_reftype(r)
    limits, is_64, _, _ = read_limits(r)
    return TableType(element, limits, is_64)


def read_memory_type(r: Reader) -> MemoryType:
    limits, is_64, shared, page_size = read_limits(r, memory=True)
    return MemoryType(limits, is_64, shared, page_size)


def read_table(r: Reader) -> Table:
    """A table section entry: a table type, or (Wasm 3.0) 0x40 0x00, a table type and an initializer."""
    if r.peek() == 0x40 and ins.FUNCTION_REFERENCES in r.features:
        r.pos += 1
        _zero_byte(r)
        table_type = read_table_type(r)
        return Table(table_type, read_expr(r))
    return Table(read_table_type(r))


def read_global_type(r: Reader) -> GlobalType:
    valtype = read_valtype(r)
    mut = r.byte()
    if mut > 1:
        raise r.error("malformed mutability", r.pos - 1)
    return GlobalType(valtype, bool(mut))


def _zero_byte(r: Reader) -> int:
    if r.byte() != 0:
        raise r.error("zero byte expected", r.pos - 1)
    return 0


def _memarg(r: Reader) -> tuple[int, int, int]:
    """(alignment exponent, offset, memory index).  With multiple memories (Wasm 3.0) bit 6 of the
    alignment field says a memory index follows it, before the offset; flags of 128 and above are
    malformed, and alignments from 32 to 63 are left to validation ("alignment must not be larger
    than natural").  Wasm 2.0 has no memory index: flags of 32 and above are malformed.  With
    memory64 the offset is a u64 whatever the memory: validation refuses one of 2^32 and above
    for an i32 memory ("offset out of range")."""
    start = r.pos
    align = r.u32()
    offset_bits = 64 if ins.MEMORY64 in r.features else 32
    if align < 32:
        return align, r.unsigned(offset_bits), 0
    if ins.MULTI_MEMORY not in r.features or align >= 128:
        raise r.error("malformed memop flags", start)
    if align < 64:
        return align, r.unsigned(offset_bits), 0
    memory = r.u32()
    return align - 64, r.unsigned(offset_bits), memory


def _memory_index(r: Reader) -> int:
    """A memory index: any u32 with multiple memories, else the zero byte of Wasm 2.0."""
    return r.u32() if ins.MULTI_MEMORY in r.features else _zero_byte(r)


def _block_type(r: Reader) -> tuple[object, ...]:
    b = r.peek()
    if b == 0x40:
        r.pos += 1
        return (None,)
    if b is not None and (t := _known_valtype(r, b)) is not None:
        r.pos += 1
        return (t,)
    if b in (0x63, 0x64) and ins.FUNCTION_REFERENCES in r.features:
        return (read_valtype(r),)
    start = r.pos
    index = r.signed(33)
    if index < 0:
        raise r.error("malformed value type", start)
    return (index,)


def _br_table(r: Reader) -> tuple[object, ...]:
    start = r.pos
    n = r.length()
    if n > limits.MAX_BR_TABLE_TARGETS:
        raise ImplementationLimitError(
            f"br_table: {n} targets exceed the implementation limit of {limits.MAX_BR_TABLE_TARGETS}", offset=start
        )
    labels = tuple(r.u32() for _ in range(n))
    return (labels, r.u32())


def _f32(r: Reader) -> tuple[object, ...]:
    return (int.from_bytes(r.bytes(4), "little"),)


def _f64(r: Reader) -> tuple[object, ...]:
    return (int.from_bytes(r.bytes(8), "little"),)


def _select_t(r: Reader) -> tuple[object, ...]:
    n = r.length()
    return (tuple(read_valtype(r) for _ in range(n)),)


def _lane(r: Reader) -> int:
    return r.byte()


def _try_table(r: Reader) -> tuple[object, ...]:
    block_type = _block_type(r)[0]
    catches = []
    for _ in range(r.u32()):
        kind = r.byte()
        if kind > 3:
            raise r.error("malformed catch clause", r.pos - 1)
        tag = r.u32() if kind <= 1 else None
        catches.append((kind, tag, r.u32()))
    return (block_type, tuple(catches))


def _br_on_cast(r: Reader) -> tuple[object, ...]:
    """``br_on_cast``'s immediates: a flags byte (bit 0: the source type is nullable, bit 1: the
    target type), the label, the two heap types."""
    start = r.pos
    flags = r.byte()
    if flags > 3:
        raise r.error("malformed br_on_cast flags", start)
    label = r.u32()
    source = RefType(bool(flags & 1), read_heap_type(r))
    return (label, source, RefType(bool(flags & 2), read_heap_type(r)))


def read_tag_type(r: Reader) -> int:
    """A tag type: an attribute byte (0, exception) and a type index."""
    _zero_byte(r)
    return r.u32()


IMMEDIATE_READERS: dict[str, Callable[[Reader], tuple[object, ...]]] = {
    Imm.BLOCK: _block_type,
    Imm.LABEL: lambda r: (r.u32(),),
    Imm.BR_TABLE: _br_table,
    Imm.FUNC: lambda r: (r.u32(),),
    Imm.CALL_INDIRECT: lambda r: (r.u32(), r.u32()),
    Imm.TYPE: lambda r: (r.u32(),),
    Imm.LOCAL: lambda r: (r.u32(),),
    Imm.GLOBAL: lambda r: (r.u32(),),
    Imm.TABLE: lambda r: (r.u32(),),
    Imm.MEMARG: _memarg,
    Imm.I32: lambda r: (r.signed(32),),
    Imm.I64: lambda r: (r.signed(64),),
    Imm.F32: _f32,
    Imm.F64: _f64,
    Imm.SELECT_T: _select_t,
    Imm.HEAPTYPE: _ref_null_type,
    Imm.MEMORY: lambda r: (_memory_index(r),),
    Imm.FENCE: lambda r: (_zero_byte(r),),
    Imm.MEMORY_INIT: lambda r: (r.u32(), _memory_index(r)),
    Imm.DATA: lambda r: (r.u32(),),
    Imm.MEMORY_COPY: lambda r: (_memory_index(r), _memory_index(r)),
    Imm.ELEM: lambda r: (r.u32(),),
    Imm.TABLE_INIT: lambda r: (r.u32(), r.u32()),
    Imm.TABLE_COPY: lambda r: (r.u32(), r.u32()),
    Imm.V128: lambda r: (r.bytes(16),),
    Imm.SHUFFLE: lambda r: (r.bytes(16),),
    Imm.LANE: lambda r: (_lane(r),),
    Imm.MEMARG_LANE: lambda r: (*_memarg(r), _lane(r)),
    Imm.TAG: lambda r: (r.u32(),),
    Imm.TRY_TABLE: _try_table,
    Imm.CATCH: lambda r: (r.u32(),),
    Imm.DELEGATE: lambda r: (r.u32(),),
    Imm.FIELD: lambda r: (r.u32(), r.u32()),
    Imm.TYPE_PAIR: lambda r: (r.u32(), r.u32()),
    Imm.TYPE_DATA: lambda r: (r.u32(), r.u32()),
    Imm.TYPE_ELEM: lambda r: (r.u32(), r.u32()),
    Imm.TYPE_COUNT: lambda r: (r.u32(), r.u32()),
    Imm.CAST: lambda r: (RefType(False, read_heap_type(r)),),
    Imm.CAST_NULL: lambda r: (RefType(True, read_heap_type(r)),),
    Imm.BR_ON_CAST: lambda r: _br_on_cast(r),
}

# What may follow in an open block (the decoder's ``frames``): False nothing but ``end``, True an
# ``if``'s ``else``; a legacy ``try``'s body takes handlers or ``delegate``, a handler more handlers.
_TRY_BODY, _TRY_HANDLER, _TRY_LAST_HANDLER = 2, 3, 4


_OP_MEMORY_INIT = ins.BY_NAME["memory.init"]
_OP_DATA_DROP = ins.BY_NAME["data.drop"]
# GC's instructions naming a data segment need the data count section too.
_GC_DATA_OPS = frozenset((ins.BY_NAME["array.new_data"], ins.BY_NAME["array.init_data"]))

# Immediate kinds that are one unsigned LEB128 index, and the interned
# instructions for indices below 128 (one byte): most immediates in real code.
_INDEX_KINDS = frozenset((Imm.LABEL, Imm.FUNC, Imm.TYPE, Imm.LOCAL, Imm.GLOBAL, Imm.TABLE, Imm.DATA, Imm.ELEM, Imm.TAG))


class _InternedByIndex(dict[Opcode, list[Instruction]]):
    """Opcode -> its instructions with the one-byte indices 0-127, each opcode's made at its first use: making
    all 36 opcodes' 4,600 at import cost every process ~2.5 ms, a few percent of a small program's run."""

    def __missing__(self, op: Opcode) -> list[Instruction]:
        made = self[op] = [tuple.__new__(Instruction, (op, (i,))) for i in range(128)]
        return made


_SMALL_INDEX = _InternedByIndex()
_OP_I32_CONST = ins.BY_NAME["i32.const"]
_OP_I64_CONST = ins.BY_NAME["i64.const"]
# One-byte signed LEB128: 0..63 and -64..-1 (bytes 0x40..0x7F).
_SMALL_CONST = {
    op: [Instruction(op, (b if b < 0x40 else b - 0x80,)) for b in range(128)] for op in (_OP_I32_CONST, _OP_I64_CONST)
}
# block/loop/if/try_table... with a one-byte block type (empty or a value
# type), interned per opcode and byte.
_SMALL_BLOCK: dict[Opcode, dict[int, Instruction]] = {
    op: {
        0x40: Instruction(op, (None,)),
        **{type_code(t): Instruction(op, (t,)) for t in (*NUMBER_TYPES, FUNCREF, EXTERNREF, EXNREF)},
    }
    for op in (ins.OP_BLOCK, ins.OP_LOOP, ins.OP_IF)
}
# Memory instructions with one-byte alignment and offset, interned (bounded:
# at most opcodes x 32 alignments x 128 offsets).
_MEMARG_CACHE: dict[tuple[Opcode, int, int], Instruction] = {}


def read_expr(r: Reader, offsets: list[int] | None = None, data_ops: list[int] | None = None) -> Expr:
    """Read instructions up to and including the ``end`` that closes the
    expression.  ``offsets``, when given, receives each instruction's offset;
    ``data_ops`` the offsets of ``memory.init``/``data.drop`` (which need a
    data count section).

    This is the decoder's hot loop: one-byte immediates are read inline and
    their instructions interned; everything else goes through the readers.
    """
    single, prefixed, _ = ins.opcode_tables(r.features)
    # NamedTuple's own __new__ is a Python function; tuple's is not.
    new_tuple = tuple.__new__
    readers = IMMEDIATE_READERS
    small_index = _SMALL_INDEX
    small_const = _SMALL_CONST
    memarg_cache = _MEMARG_CACHE
    small_block = _SMALL_BLOCK
    index_kinds = _INDEX_KINDS
    op_if, op_else, op_end = ins.OP_IF, ins.OP_ELSE, ins.OP_END
    op_try, op_catch_all, catch_kind, delegate_kind = ins.OP_TRY, ins.OP_CATCH_ALL, Imm.CATCH, Imm.DELEGATE
    openers = ins.BLOCK_OPENERS
    memarg_kind = Imm.MEMARG
    data = r.data
    end = r.end
    body: Expr = []
    append = body.append
    # Each open block: True while an `if` may still take its `else` (or a legacy try's state).
    frames: list[bool | int] = []
    pos = r.pos
    while True:
        if pos >= end:
            r.pos = pos
            raise r.error("unexpected end of section or function")
        start = pos
        code = data[pos]
        pos += 1
        op: Opcode | None = single[code]
        if op is None:
            table = prefixed.get(code)
            if table is None:
                raise r.error(f"illegal opcode {code:02x}", start)
            r.pos = pos
            sub = r.u32()
            pos = r.pos
            op = table.get(sub)
            if op is None:
                raise r.error(f"illegal opcode {code:02x} {sub:02x}", start)
            if data_ops is not None and (op is _OP_MEMORY_INIT or op is _OP_DATA_DROP or op in _GC_DATA_OPS):
                data_ops.append(start)
        if offsets is not None:
            offsets.append(start)
        kind = op.imm
        if not kind:
            if op is op_end:
                append(op.bare)
                if not frames:
                    r.pos = pos
                    return body
                frames.pop()
                continue
            if op is op_else:
                if not frames or frames[-1] is not True:
                    raise r.error("END opcode expected", start)
                frames[-1] = False
            elif op is op_catch_all:
                if not frames or frames[-1] not in (_TRY_BODY, _TRY_HANDLER):
                    raise r.error("END opcode expected", start)
                frames[-1] = _TRY_LAST_HANDLER
            append(op.bare)
            continue
        if pos + 4 < end:
            b = data[pos]
            if b >= 0x80 and (kind in index_kinds or op is _OP_I32_CONST or op is _OP_I64_CONST):
                # Two to four byte LEB128, decoded inline (no limit can be
                # exceeded in 28 bits); longer ones take the checked reader.
                value = b & 0x7F
                b = data[pos + 1]
                value |= (b & 0x7F) << 7
                length = 2
                if b >= 0x80:
                    b = data[pos + 2]
                    value |= (b & 0x7F) << 14
                    length = 3
                    if b >= 0x80:
                        b = data[pos + 3]
                        value |= (b & 0x7F) << 21
                        length = 4
                if b < 0x80:
                    if kind not in index_kinds and b & 0x40:
                        value -= 1 << (7 * length)
                    append(new_tuple(Instruction, (op, (value,))))
                    pos += length
                    continue
        if pos < end:
            b = data[pos]
            if b < 0x80:
                if kind in index_kinds:
                    append(small_index[op][b])
                    pos += 1
                    continue
                if op is _OP_I32_CONST or op is _OP_I64_CONST:
                    append(small_const[op][b])
                    pos += 1
                    continue
                if op in small_block:
                    instr = small_block[op].get(b)
                    if instr is not None and (b != 0x69 or ins.EXCEPTIONS in r.features):
                        append(instr)
                        pos += 1
                        frames.append(op is op_if)
                        continue
                if kind is memarg_kind and pos + 1 < end and b < 32 and data[pos + 1] < 0x80:
                    key = (op, b, data[pos + 1])
                    instr = memarg_cache.get(key)
                    if instr is None:
                        instr = memarg_cache[key] = Instruction(op, (b, data[pos + 1], 0))
                    append(instr)
                    pos += 2
                    continue
        r.pos = pos
        append(new_tuple(Instruction, (op, readers[kind](r))))
        pos = r.pos
        if op in openers:
            frames.append(_TRY_BODY if op is op_try else op is op_if)
        elif kind is catch_kind:
            if not frames or frames[-1] not in (_TRY_BODY, _TRY_HANDLER):
                raise r.error("END opcode expected", start)
            frames[-1] = _TRY_HANDLER
        elif kind is delegate_kind:  # ends its try, as ``end`` would
            if not frames or frames[-1] != _TRY_BODY:
                raise r.error("END opcode expected", start)
            frames.pop()


def decode_code_entry(r: Reader, end: int, has_data_count: bool) -> tuple[list[ValType], Expr, bool]:
    """A code entry's locals and body, from ``r.pos`` (after its size) to ``end``; and whether it
    uses ``memory.init``/``data.drop`` (which need the data count section)."""
    start = r.pos
    locals_: list[ValType] = []
    total = 0
    for _ in range(r.length()):
        n = r.u32()
        total += n
        t = read_valtype(r)
        if total > limits.MAX_LOCALS:
            # The spec allows 2^32-1; like wasmtime we refuse more than
            # an engine could ever allocate instead of exhausting memory.
            raise r.error("too many locals", start)
        locals_.extend([t] * n)
    data_ops: list[int] = []
    body = read_expr(r, None, data_ops)
    if r.pos != end:
        raise r.error("section size mismatch", start)
    if data_ops and not has_data_count:
        raise r.error("data count section required", start)
    return locals_, body, bool(data_ops)


class EncodedBody:
    """A code entry not decoded yet (``decode_module(..., lazy=True)``): decoded when first used."""

    __slots__ = ("data", "start", "end", "section_end", "features", "has_data_count")

    def __init__(
        self, data: bytes, start: int, end: int, section_end: int, features: frozenset[str], has_data_count: bool
    ) -> None:
        self.data = data
        self.start = start
        self.end = end
        self.section_end = section_end
        self.features = features
        self.has_data_count = has_data_count

    def decode(self) -> tuple[list[ValType], Expr]:
        # Reads may run to the end of the code section, as in an eager decode, so a
        # body whose size is wrong gets the same error ("section size mismatch").
        r = Reader(self.data, self.start, self.section_end, self.features)
        gc_was_enabled = gc.isenabled()
        gc.disable()
        try:
            locals_, body, _ = decode_code_entry(r, self.end, self.has_data_count)
        finally:
            if gc_was_enabled:
                gc.enable()
        return locals_, body


class _Decoder:
    def __init__(self, data: bytes, features: frozenset[str], lazy: bool = False) -> None:
        self.r = Reader(data, features=features)
        self.m = Module(features=features)
        self.uses_data_instructions = False
        self.lazy = lazy

    def module(self) -> Module:
        r, m = self.r, self.m
        if len(r.data) < 4:
            raise MalformedError("unexpected end", offset=len(r.data))
        if r.data[:4] != MAGIC:
            raise MalformedError("magic header not detected", offset=0)
        r.pos = 4
        if r.data[4:8] != VERSION:
            if len(r.data) < 8:
                raise MalformedError("unexpected end", offset=len(r.data))
            raise MalformedError("unknown binary version", offset=4)
        r.pos = 8
        last_order = 0
        last_id = 0
        func_type_indices: list[int] | None = None
        code_count: int | None = None
        while not r.at_end():
            section_start = r.pos
            section_id = r.byte()
            if section_id != 0:
                order = SECTION_ORDER.get(section_id)
                if section_id == 13 and ins.EXCEPTIONS not in r.features:
                    order = None
                if order is None:
                    raise r.error("malformed section id", section_start)
                if order <= last_order:
                    raise r.error("unexpected content after last section", section_start)
                last_order = order
            size = r.length()
            body_start = r.pos
            if section_id == 0:
                self._custom(size, last_id)
            elif section_id == 1:
                self._type_section()
            elif section_id == 2:
                m.imports = self._vec(self._import)
            elif section_id == 3:
                func_type_indices = self._vec(r.u32)
            elif section_id == 4:
                m.tables = self._vec(lambda: read_table(r))
            elif section_id == 5:
                m.memories = self._vec(lambda: Memory(read_memory_type(r)))
            elif section_id == 13:
                m.tags = self._vec(lambda: Tag(read_tag_type(r)))
            elif section_id == 6:
                m.globals = self._vec(lambda: Global(read_global_type(r), read_expr(r)))
            elif section_id == 7:
                m.exports = self._vec(self._export)
            elif section_id == 8:
                m.start = r.u32()
            elif section_id == 9:
                m.elements = self._vec(self._element)
            elif section_id == 12:
                m.data_count = r.u32()
            elif section_id == 10:
                m.funcs = self._code(func_type_indices or [])
                code_count = len(m.funcs)
            elif section_id == 11:
                m.datas = self._vec(self._data)
                if m.data_count is not None and m.data_count != len(m.datas):
                    raise r.error("data count and data section have inconsistent lengths", body_start)
            if r.pos != body_start + size:
                raise r.error("section size mismatch", body_start)
            if section_id != 0 and self._nonempty(section_id, func_type_indices):
                # Custom sections are placed after the last section the
                # encoder would write again, so empty sections don't count.
                last_id = section_id
        if len(func_type_indices or []) != (code_count or 0):
            raise r.error("function and code section have inconsistent lengths")
        if m.data_count and not m.datas:
            raise r.error("data count and data section have inconsistent lengths")
        if m.data_count is not None and not self.uses_data_instructions and not self.lazy:
            # The count only serves single-pass validation of memory.init and
            # data.drop; without them the IR keeps the canonical form (none).
            m.data_count = None
        return m

    def _nonempty(self, section_id: int, func_type_indices: list[int] | None) -> bool:
        m = self.m
        content = {
            1: m.types,
            2: m.imports,
            3: func_type_indices,
            4: m.tables,
            5: m.memories,
            13: m.tags,
            6: m.globals,
            7: m.exports,
            8: [m.start],
            9: m.elements,
            12: [m.data_count],
            10: m.funcs,
            11: m.datas,
        }
        return bool(content[section_id])

    # --- helpers ---------------------------------------------------------
    def _vec(self, item: Callable[[], object]) -> list:  # type: ignore[type-arg]
        n = self.r.u32()
        return [item() for _ in range(n)]

    def _type_section(self) -> None:
        """The type section: function types, and with GC recursion groups (0x4E), sub-type
        declarations (0x50 ``sub``, 0x4F ``sub final``), struct (0x5F) and array (0x5E) types."""
        r, types = self.r, self.m.types
        for _ in range(r.u32()):
            if ins.GC in r.features and r.data[r.pos : r.pos + 1] == b"\x4e":
                r.pos += 1
                first, size = len(types), r.u32()
                if size == 0:
                    self.m.empty_rec_groups.append(first)
                for _ in range(size):
                    types.append(self._sub_type((first, size)))
            else:
                types.append(self._sub_type(None))

    def _sub_type(self, rec: tuple[int, int] | None) -> DefinedType:
        r = self.r
        code = r.data[r.pos] if r.pos < len(r.data) else None
        if ins.GC in r.features and code in (0x50, 0x4F):
            r.pos += 1
            supertypes = tuple(self._vec(r.u32))
            composite = self._composite_type()
            return records.replace(composite, final=code == 0x4F, supertypes=supertypes, rec=rec, written_sub=True)
        composite = self._composite_type()
        return composite if rec is None else records.replace(composite, rec=rec)

    def _composite_type(self) -> DefinedType:
        r = self.r
        code = r.byte()
        if code == 0x60:
            params = tuple(self._vec(lambda: read_valtype(r)))
            results = tuple(self._vec(lambda: read_valtype(r)))
            return FuncType(params, results)
        if ins.GC in r.features and code == 0x5F:
            return StructType(tuple(self._vec(self._field_type)))
        if ins.GC in r.features and code == 0x5E:
            return ArrayType(self._field_type())
        raise r.error("integer representation too long" if ins.GC not in r.features else "malformed type", r.pos - 1)

    def _field_type(self) -> FieldType:
        r = self.r
        packed = PACKED_BY_CODE.get(r.data[r.pos]) if r.pos < len(r.data) else None
        storage: StorageType
        if packed is not None:
            r.pos += 1
            storage = packed
        else:
            storage = read_valtype(r)
        mutability = r.byte()
        if mutability > 1:
            raise r.error("malformed mutability", r.pos - 1)
        return FieldType(storage, mutability == 1)

    def _import(self) -> Import:
        r = self.r
        module = r.name()
        name = r.name()
        kind_pos = r.pos
        kind = r.byte()
        desc: int | TableType | MemoryType | GlobalType
        if kind == 0:
            desc = r.u32()
        elif kind == 1:
            desc = read_table_type(r)
        elif kind == 2:
            desc = read_memory_type(r)
        elif kind == 3:
            desc = read_global_type(r)
        elif kind == 4 and ins.EXCEPTIONS in r.features:
            desc = read_tag_type(r)
        else:
            raise r.error("malformed import kind", kind_pos)
        return Import(module, name, ExternKind(kind), desc)

    def _export(self) -> Export:
        r = self.r
        name = r.name()
        kind = r.byte()
        if kind > 4 or (kind == 4 and ins.EXCEPTIONS not in r.features):
            raise r.error("malformed export kind", r.pos - 1)
        return Export(name, ExternKind(kind), r.u32())

    def _element(self) -> ElementSegment:
        r = self.r
        start = r.pos
        flags = r.u32()
        if flags > 7:
            raise r.error("malformed elements segment kind", start)
        table = 0
        offset: Expr | None = None
        if flags & 1:
            mode = SegmentMode.DECLARATIVE if flags & 2 else SegmentMode.PASSIVE
        else:
            mode = SegmentMode.ACTIVE
            if flags & 2:
                table = r.u32()
            offset = read_expr(r)
        uses_exprs = bool(flags & 4)
        # Without a type: (ref func) for function indices (funcref before Wasm 3.0), funcref for
        # expressions.
        elem_type = FUNCREF if uses_exprs else func_elem_type(r.features)
        if flags & 3:
            if uses_exprs:
                elem_type = read_reftype(r)
            elif r.byte() != 0x00:
                raise r.error("malformed element kind", r.pos - 1)
        if uses_exprs:
            init = self._vec(lambda: read_expr(r))
        else:
            ref_func = ins.BY_NAME["ref.func"]
            init = self._vec(lambda: [Instruction(ref_func, (r.u32(),)), ins.END])
        return ElementSegment(elem_type, init, mode, table, offset)

    def _data(self) -> DataSegment:
        r = self.r
        start = r.pos
        flags = r.u32()
        if flags == 0:
            offset = read_expr(r)
            return DataSegment(r.bytes(r.u32()), SegmentMode.ACTIVE, 0, offset)
        if flags == 1:
            return DataSegment(r.bytes(r.u32()), SegmentMode.PASSIVE)
        if flags == 2:
            memory = r.u32()
            offset = read_expr(r)
            return DataSegment(r.bytes(r.u32()), SegmentMode.ACTIVE, memory, offset)
        raise r.error("malformed data segment kind", start)

    def _code(self, type_indices: list[int]) -> list[Function]:
        r = self.r
        # A count that disagrees with the function section is reported after
        # the last section, as the reference decoder does.
        count = r.u32()
        funcs = []
        for i in range(count):
            size = r.length()
            start = r.pos
            if size > limits.MAX_FUNCTION_SIZE:
                raise ImplementationLimitError(
                    f"function body of {size} bytes exceeds the implementation limit of {limits.MAX_FUNCTION_SIZE}",
                    offset=start,
                )
            type_index = type_indices[i] if i < len(type_indices) else 0
            if self.lazy:
                source = EncodedBody(r.data, start, start + size, r.end, r.features, self.m.data_count is not None)
                funcs.append(Function(type_index, body_offset=start, source=source))
                r.pos = start + size
                continue
            locals_, body, uses_data = decode_code_entry(r, start + size, self.m.data_count is not None)
            self.uses_data_instructions |= uses_data
            funcs.append(Function(type_index, locals_, body, body_offset=start))
        return funcs

    def _custom(self, size: int, after: int) -> None:
        r = self.r
        end = r.pos + size
        name = r.name()
        if r.pos > end:
            raise r.error("unexpected end of section or function")
        data = r.bytes(end - r.pos)
        if name == "name" and not self.m.names:
            names = decode_name_section(data)
            if names is not None:
                names.placement = (after, len(self.m.customs))
                self.m.names = names
                return
        self.m.customs.append(CustomSection(name, data, after))


def body_instruction_offsets(data: bytes, body_offset: int) -> list[int]:
    """The byte offset of every instruction of the code entry at ``body_offset`` (after its locals)."""
    r = Reader(data, body_offset)
    for _ in range(r.u32()):
        r.u32()
        read_valtype(r)  # (a reference type with a heap type takes more than one byte)
    offsets: list[int] = []
    read_expr(r, offsets)
    return offsets


def instruction_offset(data: bytes, function: Function, position: int) -> int | None:
    """Byte offset of instruction ``position`` of a decoded ``function``."""
    if function.body_offset is None:
        return None
    offsets = body_instruction_offsets(data, function.body_offset)
    return offsets[position] if position < len(offsets) else None


def decode_name_section(data: bytes) -> Names | None:
    """Decode the ``name`` custom section; ``None`` if it is not well formed
    (a bad name section is not an error: it is kept as a plain custom section)."""
    r = Reader(data)
    names = Names()
    try:
        last = -1
        while not r.at_end():
            sub = r.byte()
            size = r.length()
            end = r.pos + size
            if sub <= last:
                return None
            last = sub
            if sub == 0:
                names.module = r.name()
            elif sub == 1:
                names.functions = _name_map(r)
            elif sub == 2:
                for _ in range(r.length()):
                    func = r.u32()
                    names.locals[func] = _name_map(r)
            elif sub <= 11:  # labels, types, tables, memories, globals, elems, datas, fields, tags
                names.others[sub] = bytes(r.data[r.pos : end])
                r.pos = end
            else:
                return None
            if r.pos != end:
                return None
    except MalformedError:
        return None
    return names


def _name_map(r: Reader) -> dict[int, str]:
    result: dict[int, str] = {}
    for _ in range(r.length()):
        index = r.u32()
        result[index] = r.name()
    return result


def function_instruction_offsets(module: Module, data: bytes | None = None) -> dict[int, list[int]]:
    """Byte offset of every instruction of every defined function, by function index.

    ``data`` is the binary the module was decoded from; without it (a module
    parsed from text) the offsets are those of the module's encoding, which is
    what ``wasmbox wat2wasm`` writes.
    """
    if data is None or any(f.body_offset is None for f in module.funcs):
        from .encode import encode_module

        data = encode_module(module)
        located = decode_module(data, frozenset(ins.ALL_FEATURES)).funcs
    else:
        located = module.funcs
    first = module.num_imported_funcs()
    result: dict[int, list[int]] = {}
    for index, function in enumerate(located):
        assert function.body_offset is not None
        result[first + index] = body_instruction_offsets(data, function.body_offset)
    return result
