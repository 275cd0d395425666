"""``wasmbox objdump``: a section-by-section view of a binary, like wabt's.

``-h`` lists section headers with offsets and sizes, ``-x`` the entries of
each section, ``-d`` disassembles code with each instruction's offset and
raw bytes.  It re-reads the binary for positions (the IR keeps none) and
reuses the decoder's readers, so it can never disagree with it.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from ..binary.decode import decode_module, read_expr
from ..binary.reader import Reader
from ..ir.module import Module, SegmentMode
from ..ir.types import ExternKind
from ..text.printer import _Printer

SECTION_NAMES = {
    0: "Custom",
    1: "Type",
    2: "Import",
    3: "Function",
    4: "Table",
    5: "Memory",
    6: "Global",
    7: "Export",
    8: "Start",
    9: "Elem",
    10: "Code",
    11: "Data",
    12: "DataCount",
    13: "Tag",
}


@dataclass
class SectionHeader:
    id: int
    start: int  # first byte of the payload
    end: int
    count: int | None
    custom_name: str | None = None

    @property
    def name(self) -> str:
        return SECTION_NAMES[self.id]


def section_headers(data: bytes) -> list[SectionHeader]:
    r = Reader(data, 8)
    headers = []
    while not r.at_end():
        section_id = r.byte()
        size = r.u32()
        start = r.pos
        count = None
        custom_name = None
        if section_id == 0:
            custom_name = r.name()
        elif section_id not in (8, 12):
            count = r.u32()
        elif section_id == 12:
            count = r.u32()
        headers.append(SectionHeader(section_id, start, start + size, count, custom_name))
        r.pos = start + size
    return headers


def objdump(data: bytes, filename: str, headers: bool, details: bool, disassemble: bool) -> str:
    return "\n".join(objdump_lines(data, filename, headers, details, disassemble)) + "\n"


def objdump_lines(data: bytes, filename: str, headers: bool, details: bool, disassemble: bool) -> Iterator[str]:
    """The report line by line, made as it is printed: function bodies are decoded only by the
    disassembly, one at a time (a 69 MB module's first lines come at once)."""
    module = decode_module(data, lazy=True)
    sections = section_headers(data)
    yield f"\n{filename}:\tfile format wasm 0x1\n"
    if headers:
        yield "Sections:\n"
        for s in sections:
            line = f"{s.name:>9} start=0x{s.start:08x} end=0x{s.end:08x} (size=0x{s.end - s.start:08x})"
            if s.custom_name is not None:
                line += f' "{s.custom_name}"'
            elif s.id == 8:
                line += f" start: {module.start}"
            elif s.count is not None:
                line += f" count: {s.count}"
            yield line
        yield ""
    if details:
        yield "Section Details:\n"
        yield from _details(module, sections)
        yield ""
    if disassemble:
        yield "Code Disassembly:\n"
        yield from _disassembly(data, module, sections)


def _func_label(module: Module, index: int) -> str:
    name = module.names.functions.get(index)
    return f"func[{index}]" + (f" <{name}>" if name else "")


def _details(module: Module, sections: list[SectionHeader]) -> list[str]:
    printer = _Printer(module)
    lines: list[str] = []
    present = {s.id for s in sections}
    if 1 in present:
        lines.append(f"Type[{len(module.types)}]:")
        lines.extend(f" - type[{i}] {t}" for i, t in enumerate(module.types))
    if 2 in present:
        lines.append(f"Import[{len(module.imports)}]:")
        counters = dict.fromkeys(ExternKind, 0)
        for imp in module.imports:
            index = counters[imp.kind]
            counters[imp.kind] += 1
            desc = f"sig={imp.desc}" if imp.kind == ExternKind.FUNC else str(imp.desc)
            lines.append(f" - {imp.kind.text}[{index}] {desc} <- {imp.module}.{imp.name}")
    imported_funcs = module.num_imported_funcs()
    if 3 in present:
        lines.append(f"Function[{len(module.funcs)}]:")
        lines.extend(
            f" - {_func_label(module, imported_funcs + i)} sig={f.type_index}" for i, f in enumerate(module.funcs)
        )
    if 4 in present:
        lines.append(f"Table[{len(module.tables)}]:")
        first = len(module.imported(ExternKind.TABLE))
        lines.extend(
            f" - table[{first + i}] type={t.type.element.text} {t.type.limits}{' i64' * t.type.is_64}"
            for i, t in enumerate(module.tables)
        )
    if 5 in present:
        # Defined memories are numbered after the imported ones (several of each with multiple memories).
        lines.append(f"Memory[{len(module.memories)}]:")
        first = len(module.imported(ExternKind.MEMORY))
        lines.extend(
            f" - memory[{first + i}] pages: {m.type.limits}{' i64' * m.type.is_64}"
            for i, m in enumerate(module.memories)
        )
    if 6 in present:
        lines.append(f"Global[{len(module.globals)}]:")
        for i, g in enumerate(module.globals):
            mut = "mutable" if g.type.mutable else "immutable"
            init = " ".join(printer.instruction(x) for x in g.init[:-1])
            lines.append(f" - global[{i}] {g.type.valtype.text} {mut} - init {init}")
    if 7 in present:
        lines.append(f"Export[{len(module.exports)}]:")
        lines.extend(f' - {e.kind.text}[{e.index}] -> "{e.name}"' for e in module.exports)
    if 8 in present:
        lines.append(f"Start:\n - start function: {module.start}")
    if 9 in present:
        lines.append(f"Elem[{len(module.elements)}]:")
        for i, seg in enumerate(module.elements):
            where = ""
            if seg.mode is SegmentMode.ACTIVE and seg.offset is not None:
                where = f" table={seg.table} - init {' '.join(printer.instruction(x) for x in seg.offset[:-1])}"
            lines.append(f" - segment[{i}] {seg.mode.value} {seg.type.text} count={len(seg.init)}{where}")
    if 11 in present:
        lines.append(f"Data[{len(module.datas)}]:")
        for i, data in enumerate(module.datas):
            where = ""
            if data.mode is SegmentMode.ACTIVE and data.offset is not None:
                where = f" memory={data.memory} - init {' '.join(printer.instruction(x) for x in data.offset[:-1])}"
            lines.append(f" - segment[{i}] {data.mode.value} size={len(data.init)}{where}")
            for row in range(0, min(len(data.init), 256), 16):
                chunk = data.init[row : row + 16]
                hexpart = " ".join(f"{b:02x}" for b in chunk)
                text = "".join(chr(b) if 0x20 <= b < 0x7F else "." for b in chunk)
                lines.append(f"  - {row:07x}: {hexpart:<47}  {text}")
    for s in sections:
        if s.id == 0:
            lines.append(f'Custom:\n - name: "{s.custom_name}"')
    return lines


# Indentation: what ends a nested part of a body, and what starts one (``else`` and the legacy
# handlers do both; ``delegate`` ends its try).
_CLOSERS = frozenset(("end", "else", "catch", "catch_all", "delegate"))
_OPENERS = frozenset(("block", "loop", "if", "else", "try_table", "try", "catch", "catch_all"))


def _disassembly(data: bytes, module: Module, sections: list[SectionHeader]) -> Iterator[str]:
    code = next((s for s in sections if s.id == 10), None)
    if code is None:
        return
    printer = _Printer(module)
    r = Reader(data, code.start)
    count = r.u32()
    first = module.num_imported_funcs()
    for i in range(count):
        size = r.u32()
        start = r.pos
        index = first + i
        yield f"{start:06x} {_func_label(module, index)}:"
        printer.func_index = index
        for _ in range(r.u32()):
            r.u32()
            r.byte()
        offsets: list[int] = []
        body = read_expr(r, offsets)
        depth = 0
        bounds = offsets[1:] + [r.pos]
        for instr, begin, end in zip(body, offsets, bounds, strict=True):
            if instr.op.name in _CLOSERS:
                depth = max(depth - 1, 0)
            raw = " ".join(f"{b:02x}" for b in data[begin:end])
            if len(raw) > 26:
                raw = raw[:23] + "..."
            yield f" {begin:06x}: {raw:<26} | {'  ' * depth}{printer.instruction(instr)}"
            if instr.op.name in _OPENERS:
                depth += 1
        r.pos = start + size
