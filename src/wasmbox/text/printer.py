"""Printer (``wasm2wat``): :class:`~wasmbox.ir.module.Module` -> WAT text.

The output is meant to be read by people and by our own parser alike: it
parses back to an equal module, so ``wat2wasm(wasm2wat(b)) == b`` for the
canonical binaries our encoder writes.  Instructions print flat with block
indentation; function and local names from the name section print as
``$identifiers``; floats print as the shortest decimal that reads back to
the same bits (NaNs with their payload); custom sections as ``@custom``.
"""

from __future__ import annotations

import re
import struct
from collections.abc import Callable

from ..ir import instructions as ins
from ..ir.instructions import TEXT_NAME, Catch, Imm, Instruction
from ..ir.module import CustomSection, ElementSegment, Expr, Module, SegmentMode, func_elem_type
from ..ir.types import ExternKind, FuncType, GlobalType, Limits, MemoryType, StructType, TableType, ValType
from .literals import F32_FORMAT, F64_FORMAT, FloatFormat, LiteralError, parse_float

_ID_CHARS = re.compile(r"[0-9A-Za-z!#$%&'*+\-./:<=>?@\\^_`|~]+$")
_SECTION_NAMES = {
    0: "first",
    1: "type",
    2: "import",
    3: "func",
    4: "table",
    5: "memory",
    13: "tag",
    6: "global",
    7: "export",
    8: "start",
    9: "elem",
    12: "datacount",
    10: "code",
    11: "data",
}


def format_float(bits: int, fmt: FloatFormat) -> str:
    """Shortest text that parses back to exactly ``bits``."""
    sign = "-" if bits & fmt.sign_bit else ""
    magnitude = bits & (fmt.sign_bit - 1)
    if magnitude == fmt.infinity:
        return f"{sign}inf"
    if magnitude > fmt.infinity:
        payload = magnitude & ((1 << fmt.mantissa_bits) - 1)
        if payload == 1 << (fmt.mantissa_bits - 1):
            return f"{sign}nan"
        return f"{sign}nan:0x{payload:x}"
    if fmt is F64_FORMAT:
        value = struct.unpack("<d", struct.pack("<Q", magnitude))[0]
        return sign + repr(value)
    value = struct.unpack("<f", struct.pack("<I", magnitude))[0]
    for precision in range(1, 18):
        text = f"{value:.{precision}g}"
        try:
            if parse_float(text, fmt) == magnitude:
                return sign + text
        except LiteralError:  # rounded up past the largest finite value
            continue
    return sign + float.hex(value)


def format_string(data: bytes) -> str:
    out = []
    for byte in data:
        if 0x20 <= byte < 0x7F and byte not in (0x22, 0x5C):
            out.append(chr(byte))
        else:
            out.append(f"\\{byte:02x}")
    return '"' + "".join(out) + '"'


def identifier(name: str) -> str:
    """``$name``, or the quoted form ``$"..."`` for a name with characters an id cannot hold."""
    return "$" + name if _ID_CHARS.match(name) else "$" + format_string(name.encode("utf-8"))


class _Names:
    """Printable identifiers for functions and locals, taken from the name
    section when they are valid and unique."""

    def __init__(self, module: Module) -> None:
        self.funcs = self._unique(module.names.functions)
        self.locals = {f: self._unique(names) for f, names in module.names.locals.items()}

    @staticmethod
    def _unique(names: dict[int, str]) -> dict[int, str]:
        result: dict[int, str] = {}
        seen: set[str] = set()
        for index, name in sorted(names.items()):
            if name and name not in seen:
                seen.add(name)
                result[index] = identifier(name)
        return result

    def func(self, index: int) -> str:
        return self.funcs.get(index, str(index))

    def local(self, func: int, index: int) -> str:
        return self.locals.get(func, {}).get(index, str(index))


def print_module(module: Module) -> str:
    """The module in the text format, as ``wasm2wat`` writes it (it reads back to the same binary)."""
    return _Printer(module).module()


class _Printer:
    def __init__(self, module: Module) -> None:
        self.m = module
        self.names = _Names(module)
        self.lines: list[str] = []
        self.func_index = 0

    def module(self) -> str:
        m = self.m
        header = "(module"
        if m.names.module:
            header += " " + identifier(m.names.module)
        self.lines.append(header)
        self._customs(0)
        self._types()
        self._customs(1)
        counters = {kind: 0 for kind in ExternKind}
        for imp in m.imports:
            index = counters[imp.kind]
            counters[imp.kind] += 1
            prefix = f"  (import {format_string(imp.module.encode())} {format_string(imp.name.encode())} "
            self.lines.append(prefix + self._import_desc(imp.kind, index, imp.desc) + ")")
        self._customs(2)
        self._customs(3)
        for offset, table in enumerate(m.tables):
            init = "" if table.init is None else " " + self._const_expr(table.init)
            self.lines.append(
                f"  (table (;{counters[ExternKind.TABLE] + offset};) {self._table_type(table.type)}{init})"
            )
        self._customs(4)
        for offset, memory in enumerate(m.memories):
            self.lines.append(f"  (memory (;{counters[ExternKind.MEMORY] + offset};) {self._memory_type(memory.type)})")
        self._customs(5)
        for offset, tag in enumerate(m.tags):
            index = counters[ExternKind.TAG] + offset
            signature = self._signature_of(tag.type_index)
            self.lines.append(f"  (tag (;{index};) (type {tag.type_index}){signature})")
        self._customs(13)
        for offset, glob in enumerate(m.globals):
            index = counters[ExternKind.GLOBAL] + offset
            self.lines.append(f"  (global (;{index};) {self._global_type(glob.type)} {self._const_expr(glob.init)})")
        self._customs(6)
        for export in m.exports:
            target = self.names.func(export.index) if export.kind == ExternKind.FUNC else str(export.index)
            self.lines.append(f"  (export {format_string(export.name.encode())} ({export.kind.text} {target}))")
        self._customs(7)
        if m.start is not None:
            self.lines.append(f"  (start {self.names.func(m.start)})")
        self._customs(8)
        for index, seg in enumerate(m.elements):
            self.lines.append(self._element(index, seg))
        self._customs(9)
        self._customs(12)
        first = counters[ExternKind.FUNC]
        for offset, func in enumerate(m.funcs):
            self._function(first + offset, func.type_index, func.locals, func.body)
        self._customs(10)
        for index, data in enumerate(m.datas):
            parts = [f"  (data (;{index};)"]
            if data.mode is SegmentMode.ACTIVE:
                assert data.offset is not None
                if data.memory:
                    parts.append(f"(memory {data.memory})")
                parts.append(self._offset(data.offset))
            parts.append(format_string(data.init))
            self.lines.append(" ".join(parts) + ")")
        self._customs(11)
        self.lines[-1] += ")"
        return "\n".join(self.lines) + "\n"

    def _customs(self, after: int) -> None:
        for custom in self.m.customs:
            if custom.after == after:
                self.lines.append(self._custom(custom))

    @staticmethod
    def _custom(custom: CustomSection) -> str:
        placement = "(before first)" if custom.after == 0 else f"(after {_SECTION_NAMES[custom.after]})"
        return f"  (@custom {format_string(custom.name.encode())} {placement} {format_string(custom.data)})"

    # --- types -----------------------------------------------------------
    def _signature(self, t: FuncType, param_names: dict[int, str] | None = None) -> str:
        out = ""
        unnamed: list[str] = []
        for index, param in enumerate(t.params):
            name = (param_names or {}).get(index)
            if name:
                if unnamed:
                    out += f" (param {' '.join(unnamed)})"
                    unnamed = []
                out += f" (param {name} {param.text})"
            else:
                unnamed.append(param.text)
        if unnamed:
            out += f" (param {' '.join(unnamed)})"
        if t.results:
            out += " (result " + " ".join(r.text for r in t.results) + ")"
        return out

    @staticmethod
    def _limits(limits: Limits, is_64: bool = False) -> str:
        # A 64-bit memory or table names its address type before the limits (memory64).
        text = f"{limits.min}" if limits.max is None else f"{limits.min} {limits.max}"
        return f"i64 {text}" if is_64 else text

    def _table_type(self, t: TableType) -> str:
        return f"{self._limits(t.limits, t.is_64)} {t.element.text}"

    def _memory_type(self, t: MemoryType) -> str:
        text = self._limits(t.limits, t.is_64) + (" shared" if t.shared else "")
        return text if t.page_size == 65536 else f"{text} (pagesize {t.page_size})"

    @staticmethod
    def _global_type(t: GlobalType) -> str:
        return f"(mut {t.valtype.text})" if t.mutable else t.valtype.text

    def _import_desc(self, kind: ExternKind, index: int, desc: object) -> str:
        if kind == ExternKind.FUNC:
            assert isinstance(desc, int)
            name = self.names.func(index)
            label = name if name.startswith("$") else f"(;{index};)"
            param_names = self.names.locals.get(index)
            signature = self._signature_of(desc, param_names)
            return f"(func {label} (type {desc}){signature})"
        if kind == ExternKind.TABLE:
            assert isinstance(desc, TableType)
            return f"(table (;{index};) {self._table_type(desc)})"
        if kind == ExternKind.MEMORY:
            assert isinstance(desc, MemoryType)
            return f"(memory (;{index};) {self._memory_type(desc)})"
        if kind == ExternKind.TAG:
            assert isinstance(desc, int)
            signature = self._signature_of(desc)
            return f"(tag (;{index};) (type {desc}){signature})"
        assert isinstance(desc, GlobalType)
        return f"(global (;{index};) {self._global_type(desc)})"

    # --- segments --------------------------------------------------------
    def _const_expr(self, expr: Expr) -> str:
        body = [self.instruction(i) for i in expr[:-1]]
        if len(body) == 1:
            return f"({body[0]})"
        return " ".join(body)

    def _offset(self, expr: Expr) -> str:
        return f"(offset {' '.join(self.instruction(i) for i in expr[:-1])})"

    def _element(self, index: int, seg: ElementSegment) -> str:
        parts = [f"  (elem (;{index};)"]
        if seg.mode is SegmentMode.DECLARATIVE:
            parts.append("declare")
        elif seg.mode is SegmentMode.ACTIVE:
            assert seg.offset is not None
            parts.append(f"(table {seg.table})")
            parts.append(self._offset(seg.offset))
        ref_func = ins.BY_NAME["ref.func"]
        if seg.type is func_elem_type(self.m.features) and all(len(e) == 2 and e[0].op is ref_func for e in seg.init):
            parts.append("func")
            parts.extend(self.names.func(e[0].imm[0]) for e in seg.init)
        else:
            parts.append(seg.type.text)
            parts.extend(f"(item {' '.join(self.instruction(i) for i in e[:-1])})" for e in seg.init)
        return " ".join(parts) + ")"

    # --- types -----------------------------------------------------------
    def _types(self) -> None:
        """The type section: ``(rec ...)`` around the groups declared so, ``sub`` where written."""
        m = self.m
        empty = list(m.empty_rec_groups)
        index = 0
        while index < len(m.types) or empty:
            while empty and empty[0] == index:
                self.lines.append("  (rec)")
                empty.pop(0)
            if index >= len(m.types):
                break
            rec = m.types[index].rec
            if rec is not None and rec[0] == index:
                self.lines.append("  (rec")
                for member in range(index, min(index + rec[1], len(m.types))):
                    self.lines.append("  " + self._type_definition(member))
                self.lines.append("  )")
                index += rec[1]
            else:
                self.lines.append(self._type_definition(index))
                index += 1

    def _type_definition(self, index: int) -> str:
        t = self.m.types[index]
        if isinstance(t, FuncType):
            composite = f"(func{self._signature(t)})"
        elif isinstance(t, StructType):
            composite = "(struct" + "".join(f" (field {f.text})" for f in t.fields) + ")"
        else:
            composite = f"(array {t.element.text})"
        if t.written_sub or not t.final or t.supertypes:
            supers = "".join(f" {s}" for s in t.supertypes)
            composite = f"(sub{' final' if t.final else ''}{supers} {composite})"
        return f"  (type (;{index};) {composite})"

    def _signature_of(self, type_index: int, param_names: dict[int, str] | None = None) -> str:
        """The inline signature after ``(type N)`` (none when N names no function type)."""
        t = self.m.types[type_index] if type_index < len(self.m.types) else None
        return self._signature(t, param_names) if isinstance(t, FuncType) else ""

    # --- code ------------------------------------------------------------
    def _function(self, index: int, type_index: int, locals_: list[ValType], body: Expr) -> None:
        self.func_index = index
        defined = self.m.types[type_index] if type_index < len(self.m.types) else None
        t = defined if isinstance(defined, FuncType) else FuncType()
        name = self.names.func(index)
        label = name if name.startswith("$") else f"(;{index};)"
        local_names = self.names.locals.get(index, {})
        line = f"  (func {label} (type {type_index}){self._signature(t, local_names)}"
        base = len(t.params)
        for offset, local in enumerate(locals_):
            local_name = local_names.get(base + offset)
            line += f" (local {local_name} {local.text})" if local_name else f" (local {local.text})"
        self.lines.append(line)
        depth = 2
        for instr in body[:-1]:
            op = instr.op
            if op is ins.OP_END or op is ins.OP_ELSE or op in ins.LEGACY_HANDLERS or op is ins.OP_DELEGATE:
                depth -= 1
            self.lines.append("  " * depth + self.instruction(instr))
            if op in ins.BLOCK_OPENERS or op is ins.OP_ELSE or op in ins.LEGACY_HANDLERS:
                depth += 1
        self.lines[-1] += ")"

    def instruction(self, instr: Instruction) -> str:
        op = instr.op
        name = TEXT_NAME.get(op, op.name)
        kind = op.imm
        if not kind:
            return name
        imm = instr.imm
        if kind == Imm.BLOCK:
            bt = imm[0]
            if bt is None:
                return name
            if isinstance(bt, ValType):
                return f"{name} (result {bt.text})"
            return f"{name} (type {bt})"
        if kind == Imm.TRY_TABLE:
            head = self.instruction(Instruction(ins.OP_BLOCK, (imm[0],))).replace("block", name, 1)
            for catch_kind, tag, label in imm[1]:
                target = f"{tag} {label}" if tag is not None else f"{label}"
                head += f" ({Catch.TEXT[catch_kind]} {target})"
            return head
        if kind == Imm.BR_TABLE:
            return f"{name} {' '.join(str(label) for label in (*imm[0], imm[1]))}"
        if kind == Imm.FUNC:
            return f"{name} {self.names.func(imm[0])}"
        if kind == Imm.CALL_INDIRECT:
            return f"{name} {imm[1]} (type {imm[0]})"
        if kind == Imm.LOCAL:
            return f"{name} {self.names.local(self.func_index, imm[0])}"
        if kind == Imm.MEMARG or kind == Imm.MEMARG_LANE:
            # A memory other than 0 is named before the memarg (multiple memories, Wasm 3.0).
            text = f"{name} {imm[2]}" if imm[2] else name
            if imm[1]:
                text += f" offset={imm[1]}"
            if imm[0] != op.align:
                text += f" align={1 << imm[0]}"
            if kind == Imm.MEMARG_LANE:
                text += f" {imm[3]}"
            return text
        if kind == Imm.I32 or kind == Imm.I64:
            return f"{name} {imm[0]}"
        if kind == Imm.F32:
            return f"{name} {format_float(imm[0], F32_FORMAT)}"
        if kind == Imm.F64:
            return f"{name} {format_float(imm[0], F64_FORMAT)}"
        if kind == Imm.SELECT_T:
            return f"{name} (result {' '.join(t.text for t in imm[0])})"
        if kind == Imm.HEAPTYPE:
            return f"{name} {imm[0].heap_text}"
        if kind == Imm.FENCE:
            return name
        if kind == Imm.MEMORY or kind == Imm.MEMORY_COPY:
            return " ".join((name, *map(str, imm))) if any(imm) else name
        if kind == Imm.MEMORY_INIT:
            return f"{name} {imm[1]} {imm[0]}" if imm[1] else f"{name} {imm[0]}"
        if kind == Imm.TABLE_INIT:
            return f"{name} {imm[1]} {imm[0]}"
        if kind == Imm.TABLE_COPY:
            return f"{name} {imm[0]} {imm[1]}"
        if kind == Imm.V128:
            lanes = struct.unpack("<4I", imm[0])
            return f"{name} i32x4 " + " ".join(f"0x{lane:08x}" for lane in lanes)
        if kind == Imm.SHUFFLE:
            return f"{name} {' '.join(str(b) for b in imm[0])}"
        return f"{name} {' '.join(str(i) for i in imm)}"


def instruction_printer(module: Module) -> Callable[[int, Instruction], str]:
    """WAT text of one instruction of function ``func_index``, with the module's names.

    For tools that show instructions one at a time (objdump, the tracer, the
    debugger): they print exactly what ``wasm2wat`` would.
    """
    printer = _Printer(module)

    def text(func_index: int, instr: Instruction) -> str:
        printer.func_index = func_index
        return printer.instruction(instr)

    return text


def function_names(module: Module) -> dict[int, str]:
    """Every function's printable name: ``$name`` from the name section, or ``func[N]``."""
    named = _Names(module).funcs
    count = len(module.func_types())
    return {index: named.get(index, f"func[{index}]") for index in range(count)}
