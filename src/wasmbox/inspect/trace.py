"""The instruction tracer: every executed instruction with the operand stack after it.

This is the stack machine made visible.  The engine calls the tracer before
each instruction with the frame's operand stack; an instruction's line is
written when the next event of its frame arrives, because that event carries
the stack the instruction left behind (``--json`` numbers instructions in the
order they started, ``"step": 1, 2, ...``: ``wasmbox explore`` numbers its
steps the same way).  A ``call`` completes only when its
callee returns, so the callee's lines (one level deeper, after a ``→`` line
with its arguments) come before the caller's ``call`` line, which shows the
results pushed.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any, TextIO

from ..ir.instructions import Imm
from ..ir.module import Module
from ..ir.types import ValType
from ..runtime.instance import ModuleInstance
from ..runtime.observer import Observer
from .view import ModuleView, format_value, json_value


class TraceLimitReached(Exception):
    """``--limit`` lines were written: the run stops here."""


@dataclass
class _Frame:
    func_index: int
    shown: bool
    pending: tuple[int, tuple[Any, ...], int] | None = None  # (position, stack before, step)
    depth: int = 0
    extra: dict[str, Any] = field(default_factory=dict)


def access_width(name: str) -> int:
    """Bytes a load or store touches: ``i64.load32_s`` 4, ``v128.load8x8_s`` 8, ``f64.store`` 8."""
    kind, _, rest = name.partition(".")
    operation = rest.replace("load", "", 1).replace("store", "", 1)
    digits = operation.split("_")[0]
    if "x" in digits:
        lanes, count = digits.split("x")
        return int(lanes) * int(count) // 8
    if digits.isdigit():
        return int(digits) // 8
    return {"i32": 4, "f32": 4, "i64": 8, "f64": 8, "v128": 16}[kind]


class Tracer(Observer):
    wants_instructions = True

    def __init__(
        self,
        module: Module,
        out: TextIO,
        *,
        functions: set[str] | None = None,
        limit: int | None = None,
        memory: bool = False,
        as_json: bool = False,
    ) -> None:
        self.view = ModuleView(module)
        self.out = out
        self.only = {self._wanted_index(name) for name in functions} if functions else None
        self.limit = limit
        self.memory = memory
        self.as_json = as_json
        self.frames: list[_Frame] = []
        self.lines = 0
        self.steps = 0  # instructions executed, traced or not: a JSON record's "step"
        self.instance: ModuleInstance | None = None

    def _wanted_index(self, name: str) -> int:
        index = self.view.find_function(name)
        if index is None:
            raise ValueError(f"no function {name!r} in the module")
        return index

    def attach(self, instance: ModuleInstance) -> None:
        self.instance = instance

    # --- events ------------------------------------------------------------------
    def enter(self, func_index: int, params: tuple[Any, ...]) -> None:
        shown = self.only is None or func_index in self.only
        depth = len(self.frames)
        self.frames.append(_Frame(func_index, shown, depth=depth))
        if not shown:
            return
        types = self.view._func_types[func_index].params
        if self.as_json:
            self._write_json(
                {
                    "event": "enter",
                    "depth": depth,
                    "func": self.view.names[func_index],
                    "func_index": func_index,
                    "args": [json_value(v, t) for v, t in zip(params, types, strict=True)],
                }
            )
        else:
            args = ", ".join(format_value(v, t) for v, t in zip(params, types, strict=True))
            self._write_text(f"{'  ' * depth}→ {self.view.names[func_index]}({args})")

    def instruction(self, func_index: int, position: int, stack: tuple[Any, ...], locals_: tuple[Any, ...]) -> None:
        frame = self.frames[-1]
        if frame.pending is not None:
            self._complete(frame, stack, self.view.stack_types(func_index, position))
        self.steps += 1
        frame.pending = (position, stack, self.steps)

    def leave(self, func_index: int, results: Any) -> Any:
        frame = self.frames.pop()
        if frame.pending is not None:
            values = () if results is None else results if isinstance(results, tuple) else (results,)
            self._complete(frame, values, self.view.result_types(func_index))
        return results

    def unwound(self, reason: BaseException | None = None) -> None:
        while self.frames:
            self._abandon()

    def caught(self, func_index: int) -> None:
        while self.frames and self.frames[-1].func_index != func_index:
            self._abandon("threw")
        if self.frames and self.frames[-1].pending is not None:
            self._complete(self.frames[-1], None, (), "threw")  # the call or throw the exception left

    def _abandon(self, how: str = "trapped") -> None:
        frame = self.frames.pop()
        if frame.pending is not None and frame.shown:
            self._complete(frame, None, (), how)

    # --- output --------------------------------------------------------------------
    def _complete(
        self, frame: _Frame, after: tuple[Any, ...] | None, types: tuple[ValType | None, ...], how: str = "trapped"
    ) -> None:
        """Write the pending instruction of ``frame`` with the stack it left (None: it trapped, or ``how``)."""
        assert frame.pending is not None
        position, before, step = frame.pending
        frame.pending = None
        if not frame.shown:
            return
        func_index = frame.func_index
        text = self.view.text(func_index, position)
        offset = self.view.offset(func_index, position)
        touched = self._memory_touched(func_index, position, before) if self.memory and after is not None else None
        if self.as_json:
            record: dict[str, Any] = {
                "event": "instr",
                "step": step,
                "depth": frame.depth,
                "func": self.view.names[func_index],
                "func_index": func_index,
                "offset": offset,
                "instr": text,
                "stack": None if after is None else [json_value(v, t) for v, t in zip(after, types, strict=True)],
                **({"ended": how} if after is None else {}),
            }
            source_line = self.view.source_line(func_index, position)
            if source_line is not None:
                record["line"] = source_line
            if touched is not None:
                record["memory"] = {"address": touched[1], "bytes": touched[2].hex()}
                if touched[0]:
                    record["memory"]["index"] = touched[0]
            self._write_json(record)
        else:
            if after is None:
                shown = how
            else:
                shown = "[" + ", ".join(format_value(v, t) for v, t in zip(after, types, strict=True)) + "]"
            line = f"{'  ' * frame.depth}{self.view.names[func_index]} @{offset:#06x}  {text:<28} {shown}"
            if touched is not None:
                memory, address, data = touched
                line += f"  mem{memory or ''}[{address:#x}]={data.hex(' ')}"
            self._write_text(line)

    def _memory_touched(self, func_index: int, position: int, before: tuple[Any, ...]) -> tuple[int, int, bytes] | None:
        """(memory index, address, bytes now there) of a load or store; lines name memories other
        than 0 (``mem1[...]``), JSON records give their ``index``."""
        instr = self.view.instruction(func_index, position)
        if instr.op.imm not in (Imm.MEMARG, Imm.MEMARG_LANE) or self.instance is None or not self.instance.memories:
            return None
        plain_load = instr.op.imm is Imm.MEMARG and "load" in instr.op.name
        address = before[-1] if plain_load else before[-2]
        start = address + instr.imm[1]
        width = access_width(instr.op.name)
        memory = instr.imm[2]
        view = self.instance.memories[memory].view
        return memory, start, bytes(view[start : start + width])

    def _count(self) -> None:
        self.lines += 1
        if self.limit is not None and self.lines > self.limit:
            raise TraceLimitReached(self.limit)

    def _write_text(self, line: str) -> None:
        self._count()
        self.out.write(line + "\n")

    def _write_json(self, record: dict[str, Any]) -> None:
        self._count()
        self.out.write(json.dumps(record) + "\n")
