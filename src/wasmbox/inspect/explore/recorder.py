"""The recorder: a run turned into per-step deltas, through the observer seam.

Step ``i`` (0-based) is the ``i``-th executed instruction; the engine calls
:meth:`Recorder.instruction` just before it runs, with the frame's operand
stack and locals.  What that call shows is the machine's state *after* step
``i - 1``, so the recorder stores, for step ``i``:

* where it is: function, position in the body, call depth;
* how the frame's stack and locals differ from the last time this frame was
  seen (values popped, values pushed, locals changed), and globals changed
  since the previous step;
* what the instruction touched in linear memory (known only once it has
  run: at the next event), with the bytes every write left;
* ``cont``, the first later step back in this frame or an outer one (step
  over), and ``parent``, the caller's step that made this call (step out).

Every :data:`~.recording.CHUNK_SIZE` steps it takes a checkpoint: the whole
call stack (each frame's stack and locals) and the globals, so that any step
can be rebuilt from the checkpoint before it and at most a chunk of deltas.
Host calls (imports) are observed like wasm calls: their arguments, results
and the memory they changed are recorded, and what ``fd_write`` wrote is
kept as the program's output.  Values are stored as ``type:value`` text, as
``wasmbox trace`` prints them.

Memory is that of the instance's first memory, followed from ``attach``
(after data segments are copied in; a ``start`` function runs before, so its
memory effects are not recorded).
"""

from __future__ import annotations

import json
import math
import struct
from dataclasses import dataclass, field
from typing import Any

from ...ir.instructions import Imm
from ...ir.module import Module, SegmentMode
from ...ir.types import ExternKind, ValType
from ...runtime.instance import ModuleInstance, evaluate_const
from ...runtime.observer import Observer
from ..trace import access_width
from ..view import ModuleView, format_value
from .recording import CHUNK_SIZE, Recording

COMPARE_BLOCK = 4096  # bytes compared at a time when looking for what a host call changed


class ExploreLimitReached(Exception):
    """``--limit`` steps were recorded: the run stops here."""


@dataclass
class _Frame:
    func_index: int
    host: bool
    stack: tuple[Any, ...] = ()
    types: tuple[ValType | None, ...] = ()
    locals: tuple[Any, ...] | None = None
    position: int = 0
    last_step: int = -1  # this frame's latest step (for a caller: the call)
    call_args: str = ""


@dataclass
class _Pending:
    """An effect of the step just run, read at the next event (its results are only there then)."""

    step: int
    kind: str  # "store", "fill", "copy", "init", "grow", "global"
    address: int = 0
    length: int = 0
    source: int = 0


@dataclass
class Recorder(Observer):
    module: Module
    limit: int | None = None
    recording: Recording = field(init=False)

    wants_instructions = True

    def __post_init__(self) -> None:
        self.view = ModuleView(self.module)
        self.recording = Recording()
        self.frames: list[_Frame] = []
        self.count = 0
        self.unwound_at: int | None = None  # the step count when a trap or exit ended the run
        self.ended_by: BaseException | None = None  # that trap or exit
        self.instance: ModuleInstance | None = None
        self.shadow = bytearray()  # memory as the recording knows it
        self.pending: _Pending | None = None
        self.check_globals = False
        self.globals_seen: list[str] = []
        self.open_steps: list[tuple[int, int]] = []  # (depth, step) waiting for their ``cont``
        self.local_types: dict[int, list[ValType]] = {}
        self.imports = self.module.imported(ExternKind.FUNC)

    # --- events -----------------------------------------------------------------
    def attach(self, instance: ModuleInstance) -> None:
        self.instance = instance
        recording = self.recording
        if instance.memories:
            self.shadow = bytearray(instance.memories[0].view)
            recording.initial_memory = bytes(self.shadow)
            for index, data in enumerate(self.module.datas):
                if data.mode is SegmentMode.ACTIVE and data.memory == 0 and data.offset is not None and data.init:
                    start = evaluate_const(data.offset, instance.globals, instance.funcs)
                    if isinstance(start, int):
                        recording.segments.append((start, len(data.init), f"data[{index}]"))
        self.globals_seen = self._globals_now()
        recording.initial_globals = list(self.globals_seen)

    def enter(self, func_index: int, params: tuple[Any, ...]) -> None:
        self._settle()
        host = func_index < self.view.first_defined
        frame = _Frame(func_index, host)
        if host:
            types = self.view._func_types[func_index].params
            frame.call_args = json.dumps([format_value(v, t) for v, t in zip(params, types, strict=True)])
            self._capture_output(func_index, params)
        self.frames.append(frame)

    def instruction(self, func_index: int, position: int, stack: tuple[Any, ...], locals_: tuple[Any, ...]) -> None:
        if self.pending is not None or self.check_globals:
            self._settle()
        step = self.count
        if self.limit is not None and step >= self.limit:
            raise ExploreLimitReached(self.limit)
        self.count = step + 1
        frames = self.frames
        frame = frames[-1]
        depth = len(frames) - 1
        recording = self.recording
        types = self.view.stack_types(func_index, position)
        # The stack: how much of the frame's last stack is still there, then what is new.
        before, before_types = frame.stack, frame.types
        keep = min(len(before), len(stack))
        for slot in range(keep):
            if not _same(before[slot], stack[slot]) or before_types[slot] is not _type_at(types, slot):
                keep = slot
                break
        pops = len(before) - keep if frame.locals is not None else -1  # -1: a new frame
        pushes = [format_value(stack[slot], _type_at(types, slot)) for slot in range(keep, len(stack))]
        # Locals: all of them when the frame is new, else those that changed.
        local_types = self.local_types.get(func_index)
        if local_types is None:
            local_types = self.local_types[func_index] = self.view.local_types(func_index)
        changed: list[list[Any]] = []
        old = frame.locals
        for index, value in enumerate(locals_):
            if old is None or not _same(old[index], value):
                changed.append([index, format_value(value, local_types[index])])
        globals_changed = self._globals_delta() if self.check_globals else []
        self.check_globals = False
        frame.stack, frame.types, frame.locals, frame.position = stack, types, locals_, position
        # Navigation: this step ends the wait of every open step at this depth or deeper.
        open_steps = self.open_steps
        cont = recording.cont
        while open_steps and open_steps[-1][0] >= depth:
            cont[open_steps.pop()[1]] = step
        open_steps.append((depth, step))
        parent = frames[-2].last_step if depth > 0 else -1
        frame.last_step = step
        recording.add_step(func_index, position, depth, parent, pops, pushes, changed, globals_changed)
        if step % CHUNK_SIZE == 0:
            recording.checkpoints.append(self._checkpoint())
        self._note_effect(step, func_index, position, stack)

    def leave(self, func_index: int, results: Any) -> Any:
        self._settle()
        frame = self.frames.pop()
        values = () if results is None else results if isinstance(results, tuple) else (results,)
        types = self.view._func_types[func_index].results
        encoded = [format_value(v, t) for v, t in zip(values, types, strict=True)]
        if frame.host:
            step = self.count - 1
            self.recording.calls.append((step, func_index, frame.call_args, json.dumps(encoded)))
            self._diff_memory(step)
            self.check_globals = True
        if not self.frames:
            self.recording.results = encoded
        return results

    def unwound(self, reason: BaseException | None = None) -> None:
        self.unwound_at = self.count
        self.ended_by = reason
        self.pending = None  # the instruction that was running did not finish
        self._diff_memory(self.count - 1)  # a host function may have written before it ended the run
        self.frames.clear()

    def caught(self, func_index: int) -> None:
        self.pending = None
        while self.frames and self.frames[-1].func_index != func_index:
            self.frames.pop()

    def finish(self, status: str) -> Recording:
        """The recording, once the run is over (``status``: how it ended)."""
        self._settle()
        recording = self.recording
        while self.open_steps:
            recording.cont[self.open_steps.pop()[1]] = self.count
        recording.status = status
        recording.final_globals = self._globals_now()
        return recording

    # --- effects ------------------------------------------------------------------
    def _note_effect(self, step: int, func_index: int, position: int, stack: tuple[Any, ...]) -> None:
        instr = self.view.instruction(func_index, position)
        op = instr.op
        name = op.name
        if op.imm is Imm.MEMARG or op.imm is Imm.MEMARG_LANE:
            plain_load = op.imm is Imm.MEMARG and "load" in name
            address = int(stack[-1] if plain_load else stack[-2]) + instr.imm[1]
            width = access_width(name)
            if "load" in name:
                self.recording.access.setdefault(step, []).append(("r", address, width))
            else:
                self.pending = _Pending(step, "store", address, width)
        elif name == "global.set":
            self.check_globals = True
        elif name == "memory.fill":
            self.pending = _Pending(step, "fill", int(stack[-3]), int(stack[-1]))
        elif name == "memory.copy":
            self.pending = _Pending(step, "copy", int(stack[-3]), int(stack[-1]), int(stack[-2]))
        elif name == "memory.init":
            self.pending = _Pending(step, "init", int(stack[-3]), int(stack[-1]))
        elif name == "memory.grow":
            self.pending = _Pending(step, "grow")

    def _settle(self) -> None:
        """Record what the step just run did, now that it has."""
        pending = self.pending
        self.pending = None
        if pending is not None and self.instance is not None and self.instance.memories:
            if pending.kind == "grow":
                self._diff_memory(pending.step)
            else:
                if pending.kind == "copy" and pending.length:
                    self.recording.access.setdefault(pending.step, []).append(("r", pending.source, pending.length))
                self._write(pending.step, pending.address, pending.length)

    def _write(self, step: int, address: int, length: int) -> None:
        if length <= 0:
            return
        assert self.instance is not None
        data = bytes(self.instance.memories[0].view[address : address + length])
        self.shadow[address : address + length] = data
        self.recording.writes.append((step, address, data))
        self.recording.access.setdefault(step, []).append(("w", address, length))

    def _diff_memory(self, step: int) -> None:
        """Find the bytes a host call (or memory.grow) changed: compare with the shadow copy."""
        if self.instance is None or not self.instance.memories or step < 0:
            return
        view = self.instance.memories[0].view
        size = len(view)
        if size != len(self.shadow):
            self.shadow.extend(bytes(size - len(self.shadow)))
            self.recording.sizes.append((step, size))
        shadow = self.shadow
        for block in range(0, size, COMPARE_BLOCK):
            end = min(block + COMPARE_BLOCK, size)
            if view[block:end] == shadow[block:end]:
                continue
            changed = [address for address in range(block, end) if view[address] != shadow[address]]
            self._write(step, changed[0], changed[-1] + 1 - changed[0])

    def _capture_output(self, func_index: int, params: tuple[Any, ...]) -> None:
        """What ``fd_write`` is about to write (its iovecs, read from memory), as the program's output."""
        imported = self.imports[func_index]
        if imported.name != "fd_write" or not imported.module.startswith("wasi") or len(params) != 4:
            return
        if self.instance is None or not self.instance.memories:
            return
        view = self.instance.memories[0].view
        fd, iovs, count = int(params[0]), int(params[1]), int(params[2])
        chunks: list[bytes] = []
        try:
            for index in range(min(count, 1024)):
                pointer, length = struct.unpack_from("<II", view, iovs + 8 * index)
                chunks.append(bytes(view[pointer : pointer + length]))
        except (struct.error, ValueError):
            return  # the call itself will report the bad pointers
        text = b"".join(chunks).decode("utf-8", "replace")
        if text:
            self.recording.output.append((self.count - 1, fd, text))

    # --- globals and checkpoints ---------------------------------------------------
    def _globals_now(self) -> list[str]:
        if self.instance is None:
            return []
        return [format_value(g.value, g.type.valtype) for g in self.instance.globals]

    def _globals_delta(self) -> list[list[Any]]:
        now = self._globals_now()
        changed = [
            [index, value]
            for index, value in enumerate(now)
            if index >= len(self.globals_seen) or value != self.globals_seen[index]
        ]
        self.globals_seen = now
        return changed

    def _checkpoint(self) -> str:
        """The whole state at this step, as JSON: each frame's function, position, stack and locals."""
        frames = []
        for frame in self.frames:
            if frame.host:
                frames.append({"f": frame.func_index, "p": -1, "stack": [], "locals": []})
                continue
            local_types = self.local_types.get(frame.func_index) or self.view.local_types(frame.func_index)
            frames.append(
                {
                    "f": frame.func_index,
                    "p": frame.position,
                    "stack": [format_value(v, _type_at(frame.types, slot)) for slot, v in enumerate(frame.stack)],
                    "locals": [format_value(v, t) for v, t in zip(frame.locals or (), local_types, strict=True)],
                }
            )
        return json.dumps({"frames": frames, "globals": self.globals_seen}, separators=(",", ":"))


def _type_at(types: tuple[ValType | None, ...], slot: int) -> ValType | None:
    return types[slot] if slot < len(types) else None


def _same(a: Any, b: Any) -> bool:
    """Equal as wasm values: ``0.0`` and ``-0.0`` differ, a NaN differs from everything (shown anew)."""
    if a is b:
        return type(a) is not float or not math.isnan(a)
    if type(a) is not type(b) or a != b:
        return False
    return type(a) is not float or math.copysign(1.0, a) == math.copysign(1.0, b)
