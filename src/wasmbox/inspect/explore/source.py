"""The text the explorer shows, and the line of every instruction in it.

A module run from a ``.wat`` file is shown as written (comments and folded
expressions included): the parser records the line of each instruction
(``Function.source_lines``), and those are the lines highlighted.  A binary
is printed in wasm2wat's flat form (one instruction a line), and the printed
text is parsed again to learn where each instruction landed: the printer and
the parser agree on the instructions of each body, so position ``p`` of a
function's body is the ``p``-th instruction of the reparsed one.

Function and local names come from the name section (or the text's
identifiers).  DWARF line tables (``.debug_line``) are not read: a C or Rust
program compiled with debug information is shown as its WAT, not its source.
"""

from __future__ import annotations

from dataclasses import dataclass

from ...ir.module import Module
from ...load import load_module
from ...text.printer import print_module


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
