"""The text the explorer shows, and the line of every instruction in it.

A module run from a ``.wat`` file is shown as written (comments and folded
expressions included): the parser records the line of each instruction
(``Function.source_lines``), and those are the lines highlighted.  A binary
is printed in wasm2wat's flat form (one instruction a line), and the printed
text is parsed again to learn where each instruction landed: the printer and
the parser agree on the instructions of each body, so position ``p`` of a
function's body is the ``p``-th instruction of the reparsed one.

Function and local names come from the name section (or the text's
identifiers).  A binary compiled with debug information (``.debug_line``)
also gives each instruction its C or Rust source line (``DwarfSource``): the
page shows ``file:line`` and, when the file is readable here, that line's text.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from ...ir.module import Module
from ...load import load_module
from ...text.printer import print_module
from ..dwarf_lines import LineTable, module_line_table
from ..objdump import section_headers


@dataclass
class SourceText:
    """``text`` as shown; ``lines[f][p]`` the 1-based line of instruction ``p`` of defined function ``f``
    (indexed from the first defined function), or None where no line is known."""

    text: str
    kind: str  # "wat" (the file as written) or "printed" (from the binary)
    lines: list[list[int] | None]


def source_text(module: Module, wat: str | None) -> SourceText:
    """The text of ``module``: ``wat`` if it was read from that text, else the module printed."""
    if wat is not None and all(function.source_lines is not None for function in module.funcs):
        return SourceText(wat, "wat", [list(function.source_lines or []) for function in module.funcs])
    printed = print_module(module)
    reparsed = load_module(printed, "printed.wat")
    lines: list[list[int] | None] = []
    for original, again in zip(module.funcs, reparsed.funcs, strict=True):
        same = again.source_lines is not None and len(again.body) == len(original.body)
        lines.append(list(again.source_lines or []) if same else None)
    return SourceText(printed, "printed", lines)


MAX_SOURCE_FILE = 1 << 20  # larger source files are named, not read


@dataclass
class DwarfSource:
    """Source lines of a binary's instructions, from its DWARF line table: ``texts`` holds each
    distinct ``file:line  text`` once, and ``index_of`` maps a module byte offset to its entry."""

    table: LineTable
    code_start: int  # DWARF addresses count from the code section's contents
    base: Path  # relative source paths are read from here (the program's directory)
    texts: list[str] = field(default_factory=list)
    _indices: dict[object, int] = field(default_factory=dict)
    _files: dict[str, list[str] | None] = field(default_factory=dict)

    @classmethod
    def of(cls, module: Module, binary: bytes, base: Path) -> DwarfSource | None:
        table = module_line_table([(c.name, c.data) for c in module.customs])
        code = [h for h in section_headers(binary) if h.id == 10] if table is not None else []
        if table is None or not code:
            return None
        return cls(table, code[0].start, base)

    def index_of(self, offset: int) -> int:
        """The entry of the instruction at module byte ``offset`` (-1: no line known)."""
        where = self.table.at(offset - self.code_start)
        if where is None or where.line == 0:
            return -1
        key = (where.file, where.line)
        index = self._indices.get(key)
        if index is None:
            text = self._line_text(where.file, where.line)
            index = self._indices[key] = len(self.texts)
            self.texts.append(f"{where.file}:{where.line}" + (f"  {text}" if text else ""))
        return index

    def _line_text(self, file: str, line: int) -> str:
        if file not in self._files:
            path = Path(file) if Path(file).is_absolute() else self.base / file
            try:
                readable = path.is_file() and path.stat().st_size <= MAX_SOURCE_FILE
                self._files[file] = path.read_text("utf-8", "replace").splitlines() if readable else None
            except OSError:
                self._files[file] = None
        lines = self._files[file]
        return lines[line - 1].strip() if lines is not None and 0 < line <= len(lines) else ""
