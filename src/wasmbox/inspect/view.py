"""What the tracer and debugger know about a module: names, offsets, text, types.

Everything is derived from the module IR on demand and cached: instruction
text comes from the printer (``wasm2wat``'s words), byte offsets from the
module's binary (or its encoding, for text modules), operand types from the
validator's own algorithm run once per function, source lines from the
parser.
"""

from __future__ import annotations

import struct
from typing import Any

from .. import numeric
from ..binary.decode import function_instruction_offsets
from ..ir.instructions import Instruction
from ..ir.module import Function, Module
from ..ir.types import F32, F64, I32, I64, V128, ExternKind, ValType
from ..runtime.objects import FunctionInstance
from ..text.printer import function_names, instruction_printer
from ..validate import Context, operand_types


class ModuleView:
    def __init__(self, module: Module) -> None:
        self.module = module
        self.first_defined = module.num_imported_funcs()
        self.names = function_names(module)
        for index, imported in enumerate(module.imported(ExternKind.FUNC)):
            if self.names[index] == f"func[{index}]":
                self.names[index] = f"{imported.module}.{imported.name}"
        self._text = instruction_printer(module)
        self._offsets: dict[int, list[int]] | None = None
        self._types: dict[int, list[tuple[ValType | None, ...]]] = {}
        self._context: Context | None = None
        self._func_types = module.func_types()

    def function(self, func_index: int) -> Function:
        return self.module.funcs[func_index - self.first_defined]

    def instruction(self, func_index: int, position: int) -> Instruction:
        return self.function(func_index).body[position]

    def text(self, func_index: int, position: int) -> str:
        return self._text(func_index, self.instruction(func_index, position))

    def offset(self, func_index: int, position: int) -> int:
        if self._offsets is None:
            self._offsets = function_instruction_offsets(self.module, self.module.binary)
        return self._offsets[func_index][position]

    def body_offset(self, func_index: int) -> int:
        """Offset of the function's first instruction: ``FUNC+OFFSET`` counts from here."""
        return self.offset(func_index, 0)

    def position_at(self, func_index: int, offset: int) -> int | None:
        """The instruction starting at a module byte offset, if one does."""
        self.offset(func_index, 0)
        assert self._offsets is not None
        offsets = self._offsets[func_index]
        return offsets.index(offset) if offset in offsets else None

    def stack_types(self, func_index: int, position: int) -> tuple[ValType | None, ...]:
        types = self._types.get(func_index)
        if types is None:
            if self._context is None:
                self._context = Context(self.module)
            types = self._types[func_index] = operand_types(self.module, func_index, self._context)
        return types[position]

    def result_types(self, func_index: int) -> tuple[ValType, ...]:
        return self._func_types[func_index].results

    def local_types(self, func_index: int) -> list[ValType]:
        return list(self._func_types[func_index].params) + self.function(func_index).locals

    def local_name(self, func_index: int, index: int) -> str:
        name = self.module.names.locals.get(func_index, {}).get(index)
        return f"${name}" if name else f"local{index}"

    def source_line(self, func_index: int, position: int) -> int | None:
        lines = self.function(func_index).source_lines
        return lines[position] if lines is not None and position < len(lines) else None

    def find_function(self, name: str) -> int | None:
        """A function by ``$name``, ``name`` or index."""
        if name.isdigit():
            index = int(name)
            return index if index < len(self._func_types) else None
        wanted = name if name.startswith("$") else f"${name}"
        for index, known in self.names.items():
            if known == wanted:
                return index
        return None


def format_value(value: Any, t: ValType | None) -> str:
    """A run-time value as ``type:value`` (integers signed, floats shortest, v128 as i32 lanes)."""
    if t is I32:
        return f"i32:{numeric.signed32(int(value))}"  # comparisons leave Python bools
    if t is I64:
        return f"i64:{numeric.signed64(int(value))}"
    if t is F32:
        return f"f32:{_f32_text(value)}"
    if t is F64:
        return f"f64:{_float_text(value, numeric.f64_bits(value), 64)}"
    if t is V128:
        lanes = struct.unpack("<4I", bytes(value))
        return "v128:" + " ".join(f"0x{lane:08x}" for lane in lanes)
    if value is None:
        return f"{t.text if t is not None else 'ref'}:null"
    if isinstance(value, FunctionInstance):
        return f"funcref:{value.name or 'func'}"
    return f"{t.text if t is not None else '?'}:{value!r}"


def json_value(value: Any, t: ValType | None) -> dict[str, Any]:
    text = format_value(value, t)
    kind, _, shown = text.partition(":")
    number: Any = shown
    if t in (I32, I64):
        number = int(shown)
    elif t in (F32, F64) and "nan" not in shown and "inf" not in shown:
        number = float(shown)  # NaNs and infinities stay text: JSON has no numbers for them
    return {"type": kind, "value": number}


def _f32_text(value: float) -> str:
    bits = numeric.f32_bits(value)
    if value != value or value in (float("inf"), float("-inf")):
        return _float_text(value, bits, 32)
    single = struct.unpack("<f", struct.pack("<I", bits))[0]
    for digits in range(6, 10):
        text = f"{single:.{digits}g}"
        if struct.pack("<f", float(text)) == struct.pack("<I", bits):
            return text
    return repr(single)


def _float_text(value: float, bits: int, width: int) -> str:
    if value != value:
        payload = bits & ((1 << (23 if width == 32 else 52)) - 1)
        sign = "-" if bits >> (width - 1) else ""
        quiet = 1 << (22 if width == 32 else 51)
        return f"{sign}nan" if payload == quiet else f"{sign}nan:0x{payload:x}"
    if value in (float("inf"), float("-inf")):
        return "inf" if value > 0 else "-inf"
    return repr(value)
