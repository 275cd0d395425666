"""Which wasm instruction a machine instruction came from, as DWARF line numbers LLVM keeps for us.

Guard pages (``runtime.guards``) make an out-of-bounds load or store fault in the middle of machine
code, where a tested access would have written its position (the instruction's index in its
function) to the backtrace.  To name that instruction, the whole module's guarded code carries line
tables: each function is a DWARF subprogram, each untested access and the instructions computing it
carry a location whose *line* is the access's position + 1, and everything else carries line 0
("no guarded access here").  LLVM emits these as ``.debug_line`` in the object (``LineTablesOnly``:
no types, no variables), which the object loader keeps with the code it links
(``object_loader.line_at``); the fault handler's host side looks the faulting address up there.

Why every other instruction gets line 0 instead of nothing: an instruction without a location
continues the row before it, so a faulting access that lost its location in some LLVM pass would
be reported at the previous access's position; line 0 makes it "unknown" instead (the frame then
names its function only, as it did before these tables).  Loads must also stay whole machine
instructions of their own (``FunctionLowering.memory_access`` passes each through an empty asm
barrier): x86 folds a load into the instruction using it (``add eax, [mem]``), which carries the
user's location, not the load's.
"""

from __future__ import annotations

from llvmlite import ir

# DWARF 4: file names are inline strings in .debug_line (5 moves them to .debug_line_str).
_DWARF_VERSION = 4
_MODULE_FLAG_MAX, _MODULE_FLAG_WARNING = 7, 2


def line_of(position: int) -> int:
    """The line that stands for the instruction at ``position`` (0 is "no position")."""
    return position + 1


def position_of(line: int) -> int | None:
    """The inverse of ``line_of``: None for line 0."""
    return line - 1 if line > 0 else None


class PositionLines:
    """The debug-info skeleton of one LLVM module: its compile unit and one file."""

    def __init__(self, module: ir.Module, name: str) -> None:
        self.module = module
        self.file = module.add_debug_info("DIFile", {"filename": f"{name}.wasm", "directory": ""})
        self.unit = module.add_debug_info(
            "DICompileUnit",
            {
                "language": ir.DIToken("DW_LANG_C"),
                "file": self.file,
                "producer": "wasmbox",
                "isOptimized": True,
                "runtimeVersion": 0,
                "emissionKind": ir.DIToken("LineTablesOnly"),
            },
            is_distinct=True,
        )
        self.signature = module.add_debug_info("DISubroutineType", {"types": module.add_metadata([])})
        module.add_named_metadata("llvm.dbg.cu", self.unit)
        flags = "llvm.module.flags"
        module.add_named_metadata(flags, [_i32(_MODULE_FLAG_MAX), "Dwarf Version", _i32(_DWARF_VERSION)])
        module.add_named_metadata(flags, [_i32(_MODULE_FLAG_WARNING), "Debug Info Version", _i32(3)])

    def function(self, function: ir.Function) -> FunctionLines:
        """Make ``function`` a subprogram; the locations its instructions take."""
        subprogram = self.module.add_debug_info(
            "DISubprogram",
            {
                "name": function.name,
                "scope": self.file,
                "file": self.file,
                "line": 0,
                "type": self.signature,
                "scopeLine": 0,
                "spFlags": ir.DIToken("DISPFlagDefinition | DISPFlagOptimized"),
                "unit": self.unit,
            },
            is_distinct=True,
        )
        function.set_metadata("dbg", subprogram)
        return FunctionLines(self.module, subprogram)


class FunctionLines:
    """One function's locations: ``unknown`` (line 0) and one per position, made once each."""

    def __init__(self, module: ir.Module, subprogram: ir.DIValue) -> None:
        self.module = module
        self.subprogram = subprogram
        self.unknown = self._location(0)
        self._at: dict[int, ir.DIValue] = {}

    def at(self, position: int) -> ir.DIValue:
        location = self._at.get(position)
        if location is None:
            location = self._at[position] = self._location(line_of(position))
        return location

    def _location(self, line: int) -> ir.DIValue:
        return self.module.add_debug_info("DILocation", {"line": line, "column": 0, "scope": self.subprogram})


def _i32(value: int) -> ir.Constant:
    return ir.Constant(ir.IntType(32), value)
