"""``wasmbox objdump`` of a component: its sections with offsets, sizes and entry counts.

Like the core view (:mod:`wasmbox.inspect.objdump`), it re-reads the binary
for positions; ``-x`` adds one line per entry, printed as the component
printer writes it.  Nested components are listed with their own sections,
indented.
"""

from __future__ import annotations

from collections.abc import Iterator

from ..binary.reader import Reader
from .decode import decode_component
from .ir import SECTION_IDS, Component, ComponentSection, CoreModuleSection, CustomSection
from .printer import _Printer

SECTION_NAMES = {
    0: "Custom",
    1: "CoreModule",
    2: "CoreInstance",
    3: "CoreType",
    4: "Component",
    5: "Instance",
    6: "Alias",
    7: "Type",
    8: "Canon",
    9: "Start",
    10: "Import",
    11: "Export",
    12: "Value",
}
_VECTOR_SECTIONS = frozenset((2, 3, 5, 6, 7, 8, 10, 11))


def component_objdump_lines(data: bytes, filename: str, headers: bool, details: bool) -> Iterator[str]:
    component = decode_component(data)
    yield f"\n{filename}:\tfile format wasm component (layer 1)\n"
    if headers:
        yield "Sections:\n"
        yield from _headers(data, 8, len(data), 0)
        yield ""
    if details:
        yield "Section Details:\n"
        yield from _details(component, 0)


def _headers(data: bytes, start: int, end: int, depth: int) -> Iterator[str]:
    r = Reader(data, start, end)
    pad = "  " * depth
    while not r.at_end():
        section_id = r.byte()
        size = r.u32()
        body = r.pos
        line = f"{pad}{SECTION_NAMES.get(section_id, '?'):>12} start=0x{body:08x} end=0x{body + size:08x}"
        line += f" (size=0x{size:08x})"
        if section_id == 0:
            line += f' "{Reader(data, body, body + size).name()}"'
        elif section_id in _VECTOR_SECTIONS:
            line += f" count: {Reader(data, body, body + size).u32()}"
        yield line
        if section_id == 4:
            yield from _headers(data, body + 8, body + size, depth + 1)
        r.pos = body + size


def _details(component: Component, depth: int) -> Iterator[str]:
    printer = _Printer()
    printer.counts.append({})
    pad = "  " * depth
    for section in component.sections:
        name = SECTION_NAMES[SECTION_IDS[type(section)]]
        if isinstance(section, ComponentSection):
            yield f"{pad}{name}:"
            yield from _details(section.component, depth + 1)
            printer.counts[-1]["component"] = printer.counts[-1].get("component", 0) + 1
            continue
        if isinstance(section, CustomSection):
            yield f'{pad}{name}:\n{pad} - name: "{section.name}"'
            continue
        lines = printer.section(section, 0)
        if isinstance(section, CoreModuleSection):
            module = section.module
            lines = [
                f"core module: {len(module.types)} types, {len(module.imports)} imports, {len(module.funcs)} "
                f"functions, {len(module.exports)} exports"
            ]
        yield f"{pad}{name}[{len(lines)}]:"
        for line in lines:
            yield f"{pad} - {line.strip()}"
