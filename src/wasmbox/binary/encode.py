"""Binary format encoder: :class:`~wasmbox.ir.module.Module` -> bytes.

Produces the canonical encoding: shortest LEB128s, locals as runs of equal
types, the compact element-segment forms where they apply, and custom
sections back where they were read.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

from ..ir.instructions import Imm, Instruction
from ..ir.module import DataSegment, ElementSegment, Expr, Import, Module, Names, SegmentMode, Table, func_elem_type
from ..ir.types import (
    FUNCREF,
    SHORTHAND_TEXT,
    DefinedType,
    ExternKind,
    FieldType,
    FuncType,
    GlobalType,
    HeapType,
    Limits,
    MemoryType,
    PackedType,
    RefType,
    StructType,
    TableType,
    ValType,
    type_code,
)
from .decode import MAGIC, VERSION
from .leb128 import encode_signed as sleb
from .leb128 import encode_unsigned as uleb


def encode_module(m: Module) -> bytes:
    """Encode ``m``; the result decodes back to an equal module."""
    out = bytearray(MAGIC + VERSION)
    names_at = m.names.placement if m.names else None
    names_written = not m.names

    def write_names() -> None:
        nonlocal names_written
        _section(out, 0, _name("name") + encode_name_section(m.names))
        names_written = True

    def custom_after(section_id: int) -> None:
        for index, custom in enumerate(m.customs):
            if names_at == (section_id, index) and not names_written:
                write_names()
            if custom.after == section_id:
                _section(out, 0, _name(custom.name) + custom.data)
        if names_at is not None and names_at[0] == section_id and not names_written:
            write_names()

    custom_after(0)
    sections: list[tuple[int, Callable[[], bytes] | None]] = [
        (1, (lambda: _type_section(m)) if m.types or m.empty_rec_groups else None),
        (2, (lambda: _vec(m.imports, _import)) if m.imports else None),
        (3, (lambda: _vec(m.funcs, lambda f: uleb(f.type_index))) if m.funcs else None),
        (4, (lambda: _vec(m.tables, _table)) if m.tables else None),
        (5, (lambda: _vec(m.memories, lambda mem: _memory_type(mem.type))) if m.memories else None),
        (13, (lambda: _vec(m.tags, lambda t: b"\x00" + uleb(t.type_index))) if m.tags else None),
        (6, (lambda: _vec(m.globals, lambda g: _global_type(g.type) + encode_expr(g.init))) if m.globals else None),
        (
            7,
            (lambda: _vec(m.exports, lambda e: _name(e.name) + bytes((e.kind,)) + uleb(e.index)))
            if m.exports
            else None,
        ),
        (8, (lambda: uleb(m.start)) if m.start is not None else None),  # type: ignore[arg-type]
        (9, (lambda: _vec(m.elements, lambda seg: _element(seg, func_elem_type(m.features)))) if m.elements else None),
        (12, (lambda: uleb(m.data_count)) if m.data_count is not None else None),  # type: ignore[arg-type]
        (10, (lambda: _vec(m.funcs, _code)) if m.funcs else None),
        (11, (lambda: _vec(m.datas, _data)) if m.datas else None),
    ]
    for section_id, build in sections:
        if build is not None:
            _section(out, section_id, build())
        custom_after(section_id)
    if not names_written:
        write_names()
    return bytes(out)


def _section(out: bytearray, section_id: int, payload: bytes) -> None:
    out.append(section_id)
    out += uleb(len(payload))
    out += payload


def _vec(items: Iterable[object], encode: Callable) -> bytes:  # type: ignore[type-arg]
    parts = [encode(item) for item in items]
    return uleb(len(parts)) + b"".join(parts)


def _name(text: str) -> bytes:
    raw = text.encode("utf-8")
    return uleb(len(raw)) + raw


def _valtype(t: ValType) -> bytes:
    if isinstance(t, RefType) and t not in SHORTHAND_TEXT:
        return (b"\x63" if t.nullable else b"\x64") + _heap_type(t.heap)
    return bytes((type_code(t),))


def _heap_type(heap: HeapType | int) -> bytes:
    """A heap type: a type index as a non-negative s33, an abstract one as its (negative) byte."""
    return sleb(heap) if isinstance(heap, int) else bytes((heap.value,))


def _type_section(m: Module) -> bytes:
    """Types as written: recursion groups (0x4E) around the types declared in one, ``sub``
    prefixes where they were spelled out or mean something (non-final, or a supertype)."""
    entries: list[bytes] = []
    empty = list(m.empty_rec_groups)
    index = 0
    while index < len(m.types) or empty:
        while empty and empty[0] == index:
            entries.append(b"\x4e\x00")
            empty.pop(0)
        if index >= len(m.types):
            break
        t = m.types[index]
        if t.rec is not None and t.rec[0] == index:
            members = m.types[index : index + t.rec[1]]
            entries.append(b"\x4e" + _vec(members, _sub_type))
            index += len(members)
        else:
            entries.append(_sub_type(t))
            index += 1
    return uleb(len(entries)) + b"".join(entries)


def _sub_type(t: DefinedType) -> bytes:
    if t.written_sub or not t.final or t.supertypes:
        head = (b"\x4f" if t.final else b"\x50") + _vec(t.supertypes, uleb)
    else:
        head = b""
    if isinstance(t, FuncType):
        return head + _functype(t)
    if isinstance(t, StructType):
        return head + b"\x5f" + _vec(t.fields, _field_type)
    return head + b"\x5e" + _field_type(t.element)


def _field_type(f: FieldType) -> bytes:
    storage = f.storage
    code = bytes([storage.value]) if isinstance(storage, PackedType) else _valtype(storage)
    return code + (b"\x01" if f.mutable else b"\x00")


def _functype(t: FuncType) -> bytes:
    return b"\x60" + _vec(t.params, _valtype) + _vec(t.results, _valtype)


def _limits(limits: Limits, is_64: bool = False, shared: bool = False, page_size: int = 65536) -> bytes:
    # Bit 0 of the flags: a maximum follows; bit 1: a shared memory (threads); bit 2: the address
    # type is i64 (memory64); bit 3: the log2 of a custom page size follows the limits.
    flags = (0x04 if is_64 else 0x00) | (0x02 if shared else 0x00)
    page = b""
    if page_size != 65536:
        flags |= 0x08
        page = uleb(page_size.bit_length() - 1)
    if limits.max is None:
        return bytes((flags,)) + uleb(limits.min) + page
    return bytes((flags | 0x01,)) + uleb(limits.min) + uleb(limits.max) + page


def _table_type(t: TableType) -> bytes:
    return _valtype(t.element) + _limits(t.limits, t.is_64)


def _memory_type(t: MemoryType) -> bytes:
    return _limits(t.limits, t.is_64, t.shared, t.page_size)


def _table(table: Table) -> bytes:
    if table.init is None:
        return _table_type(table.type)
    return b"\x40\x00" + _table_type(table.type) + encode_expr(table.init)


def _global_type(t: GlobalType) -> bytes:
    return _valtype(t.valtype) + (b"\x01" if t.mutable else b"\x00")


def _import(imp: Import) -> bytes:
    head = _name(imp.module) + _name(imp.name) + bytes((imp.kind,))
    desc = imp.desc
    if isinstance(desc, int):
        return head + (b"\x00" if imp.kind == ExternKind.TAG else b"") + uleb(desc)
    if isinstance(desc, TableType):
        return head + _table_type(desc)
    if isinstance(desc, MemoryType):
        return head + _memory_type(desc)
    return head + _global_type(desc)


def _func_indices(init: list[Expr]) -> list[int] | None:
    """The function indices of an element list, if it is only ``ref.func``s."""
    indices = []
    for expr in init:
        if len(expr) != 2 or expr[0].op.name != "ref.func":
            return None
        indices.append(expr[0].imm[0])
    return indices


def _element(seg: ElementSegment, func_indices_type: RefType) -> bytes:
    """An element segment; one of ``ref.func``s of ``func_indices_type`` (the type of element kind
    0x00 under the module's features) takes the compact form of function indices."""
    funcs = _func_indices(seg.init) if seg.type is func_indices_type else None
    flags = 0 if funcs is not None else 4
    head = b""
    if seg.mode is SegmentMode.ACTIVE:
        assert seg.offset is not None
        # Forms 0 and 4 (table 0) imply the type: func_indices_type for indices, funcref for expressions.
        if seg.table != 0 or seg.type is not (func_indices_type if funcs is not None else FUNCREF):
            flags |= 2
            head = uleb(seg.table) + encode_expr(seg.offset)
        else:
            head = encode_expr(seg.offset)
    else:
        flags |= 1 if seg.mode is SegmentMode.PASSIVE else 3
    kind = b""
    if flags & 3:
        kind = b"\x00" if funcs is not None else _valtype(seg.type)
    if funcs is not None:
        body = _vec(funcs, uleb)
    else:
        body = _vec(seg.init, encode_expr)
    return uleb(flags) + head + kind + body


def _data(seg: DataSegment) -> bytes:
    payload = uleb(len(seg.init)) + seg.init
    if seg.mode is SegmentMode.PASSIVE:
        return b"\x01" + payload
    assert seg.offset is not None
    if seg.memory == 0:
        return b"\x00" + encode_expr(seg.offset) + payload
    return b"\x02" + uleb(seg.memory) + encode_expr(seg.offset) + payload


def _code(func: object) -> bytes:
    body = function_body(func)
    return uleb(len(body)) + body


def function_body(func: object) -> bytes:
    """A code entry without its size: the local declarations, then the
    instructions (code metadata such as branch hints count offsets from here)."""
    locals_: list[ValType] = func.locals  # type: ignore[attr-defined]
    runs: list[tuple[int, ValType]] = []
    for t in locals_:
        if runs and runs[-1][1] is t:
            runs[-1] = (runs[-1][0] + 1, t)
        else:
            runs.append((1, t))
    return _vec(runs, lambda run: uleb(run[0]) + _valtype(run[1])) + encode_expr(func.body)  # type: ignore[attr-defined]


# --- instructions -------------------------------------------------------


def _block_type(bt: object) -> bytes:
    if bt is None:
        return b"\x40"
    if isinstance(bt, ValType):
        return _valtype(bt)
    return sleb(bt)  # type: ignore[arg-type]


def _memarg(align: int, offset: int, memory: int) -> bytes:
    # Memory 0 takes the Wasm 2.0 form; another memory sets bit 6 of the alignment field and its
    # index comes between alignment and offset (multiple memories, Wasm 3.0).
    if memory == 0:
        return uleb(align) + uleb(offset)
    return uleb(align | 0x40) + uleb(memory) + uleb(offset)


IMMEDIATE_WRITERS: dict[str, Callable[..., bytes]] = {
    Imm.BLOCK: _block_type,
    Imm.LABEL: uleb,
    Imm.BR_TABLE: lambda labels, default: _vec(labels, uleb) + uleb(default),
    Imm.FUNC: uleb,
    Imm.CALL_INDIRECT: lambda t, table: uleb(t) + uleb(table),
    Imm.TYPE: uleb,
    Imm.LOCAL: uleb,
    Imm.GLOBAL: uleb,
    Imm.TABLE: uleb,
    Imm.MEMARG: _memarg,
    Imm.I32: sleb,
    Imm.I64: sleb,
    Imm.F32: lambda bits: bits.to_bytes(4, "little"),
    Imm.F64: lambda bits: bits.to_bytes(8, "little"),
    Imm.SELECT_T: lambda types: _vec(types, _valtype),
    Imm.HEAPTYPE: lambda t: _heap_type(t.heap),
    Imm.MEMORY: uleb,
    Imm.FENCE: lambda zero: b"\x00",
    Imm.MEMORY_INIT: lambda data, memory: uleb(data) + uleb(memory),
    Imm.DATA: uleb,
    Imm.MEMORY_COPY: lambda dst, src: uleb(dst) + uleb(src),
    Imm.ELEM: uleb,
    Imm.TABLE_INIT: lambda elem, table: uleb(elem) + uleb(table),
    Imm.TABLE_COPY: lambda dst, src: uleb(dst) + uleb(src),
    Imm.V128: bytes,
    Imm.SHUFFLE: bytes,
    Imm.LANE: lambda lane: bytes((lane,)),
    Imm.MEMARG_LANE: lambda align, offset, memory, lane: _memarg(align, offset, memory) + bytes((lane,)),
    Imm.TAG: uleb,
    Imm.TRY_TABLE: lambda block_type, catches: _block_type(block_type) + _vec(catches, _catch),
    Imm.CATCH: uleb,
    Imm.DELEGATE: uleb,
    Imm.FIELD: lambda a, b: uleb(a) + uleb(b),
    Imm.TYPE_PAIR: lambda a, b: uleb(a) + uleb(b),
    Imm.TYPE_DATA: lambda a, b: uleb(a) + uleb(b),
    Imm.TYPE_ELEM: lambda a, b: uleb(a) + uleb(b),
    Imm.TYPE_COUNT: lambda a, b: uleb(a) + uleb(b),
    Imm.CAST: lambda t: _heap_type(t.heap),
    Imm.CAST_NULL: lambda t: _heap_type(t.heap),
    Imm.BR_ON_CAST: lambda label, source, target: (
        bytes((source.nullable | target.nullable << 1,))
        + uleb(label)
        + _heap_type(source.heap)
        + _heap_type(target.heap)
    ),
}


def _catch(clause: tuple[int, int | None, int]) -> bytes:
    kind, tag, label = clause
    return bytes((kind,)) + (uleb(tag) if tag is not None else b"") + uleb(label)


_OPCODE_BYTES: dict[object, bytes] = {}


def _opcode_bytes(instr: Instruction) -> bytes:
    op = instr.op
    encoded = _OPCODE_BYTES.get(op)
    if encoded is None:
        encoded = bytes((op.code,)) if op.prefix is None else bytes((op.prefix,)) + uleb(op.code)
        _OPCODE_BYTES[op] = encoded
    return encoded


def encode_instruction(instr: Instruction) -> bytes:
    head = _opcode_bytes(instr)
    if not instr.op.imm:
        return head
    return head + IMMEDIATE_WRITERS[instr.op.imm](*instr.imm)


def encode_expr(expr: Expr) -> bytes:
    return b"".join(encode_instruction(i) for i in expr)


def encode_name_section(names: Names) -> bytes:
    out = bytearray()
    if names.module is not None:
        _section(out, 0, _name(names.module))
    if names.functions:
        _section(out, 1, encode_name_map(names.functions))
    if names.locals:
        payload = uleb(len(names.locals)) + b"".join(
            uleb(func) + encode_name_map(locals_) for func, locals_ in sorted(names.locals.items())
        )
        _section(out, 2, payload)
    for sub, raw in sorted(names.others.items()):
        _section(out, sub, raw)
    return bytes(out)


def encode_name_map(mapping: dict[int, str]) -> bytes:
    return uleb(len(mapping)) + b"".join(uleb(i) + _name(n) for i, n in sorted(mapping.items()))
