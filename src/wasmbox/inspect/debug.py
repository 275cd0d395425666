"""The debugger: breakpoints, stepping, and the machine's state at every stop.

It is an observer like the tracer: before each instruction it learns the
frame's operand stack and locals, and decides whether to stop (a breakpoint,
a watched memory range that changed, or the end of a step).  When it stops,
it reads commands (from the terminal or a ``--commands`` file) until one of
them resumes the program.  Commands::

    break FUNC[+OFFSET] | break @OFFSET | break [FILE:]LINE    delete N
    watch ADDR [LEN]       run   step   next   finish   continue   quit
    stack   locals   globals   bt   mem ADDR [LEN]   print NAME   help

``FUNC+OFFSET`` counts bytes from the function's first instruction; ``@OFFSET``
is a byte offset in the module (as ``wasmbox objdump -d`` shows); ``LINE`` is a
line of the ``.wat`` source for modules run from text.  ``mem`` and ``watch``
address memory 0 (the one a module with several memories exports as its main
memory by convention); the tracer names the memory of each access.
"""

from __future__ import annotations

import string
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

from ..ir.module import Module
from ..runtime.instance import ModuleInstance
from ..runtime.observer import Observer
from .view import ModuleView, format_value

PROMPT = "(wdb) "
HELP = __doc__.split("Commands::")[1].split("``FUNC")[0].rstrip() if __doc__ else ""


class DebuggerQuit(Exception):
    """The user ended the session: the program stops where it is."""


@dataclass
class _Frame:
    func_index: int
    position: int = 0
    stack: tuple[Any, ...] = ()
    locals: tuple[Any, ...] = ()


@dataclass
class _Watch:
    address: int
    length: int
    last: bytes | None = None


@dataclass
class Debugger(Observer):
    module: Module
    commands: TextIO
    out: TextIO
    echo: bool = False
    breakpoints: dict[int, tuple[int, int]] = field(default_factory=dict)
    watches: dict[int, _Watch] = field(default_factory=dict)
    wants_instructions = True

    def __post_init__(self) -> None:
        self.view = ModuleView(self.module)
        self.frames: list[_Frame] = []
        self.mode = "continue"
        self.target_depth = 0
        self.instance: ModuleInstance | None = None
        self.numbers = 0
        self.source = self._source_lines()

    def _source_lines(self) -> list[str] | None:
        name = self.module.source_name
        if self.module.binary is not None or name is None or not Path(name).is_file():
            return None
        return Path(name).read_text(errors="replace").splitlines()

    def attach(self, instance: ModuleInstance) -> None:
        self.instance = instance

    # --- the session around the run -----------------------------------------------
    def before_run(self) -> bool:
        """Commands before the program starts (breakpoints, watches) up to ``run``; False to quit."""
        while True:
            command = self._read()
            if command is None or command[0] in ("quit", "q"):
                return False
            if command[0] in ("run", "r"):
                return True
            if command[0] in ("step", "s"):
                self.mode = "step"  # stop at the very first instruction
                return True
            self._inspect(command, running=False)

    def finished(self, status: int) -> None:
        self._say(f"[program exited with status {status}]")

    # --- events --------------------------------------------------------------------
    def enter(self, func_index: int, params: tuple[Any, ...]) -> None:
        self.frames.append(_Frame(func_index))

    def leave(self, func_index: int, results: Any) -> Any:
        depth = len(self.frames)
        self.frames.pop()
        if self.mode == "finish" and depth == self.target_depth and self.view.first_defined <= func_index:
            values = () if results is None else results if isinstance(results, tuple) else (results,)
            types = self.view.result_types(func_index)
            shown = ", ".join(format_value(v, t) for v, t in zip(values, types, strict=True))
            self._say(f"{self.view.names[func_index]} returned [{shown}]")
        return results

    def unwound(self, reason: BaseException | None = None) -> None:
        self.frames.clear()

    def caught(self, func_index: int) -> None:
        while self.frames and self.frames[-1].func_index != func_index:
            self.frames.pop()

    def instruction(self, func_index: int, position: int, stack: tuple[Any, ...], locals_: tuple[Any, ...]) -> None:
        frame = self.frames[-1]
        frame.position, frame.stack, frame.locals = position, stack, locals_
        reason = self._watch_triggered()
        depth = len(self.frames)
        if reason is None:
            for number, where in self.breakpoints.items():
                if where == (func_index, position):
                    reason = f"breakpoint {number}"
                    break
        if reason is None:
            if self.mode == "step" or (self.mode == "next" and depth <= self.target_depth):
                reason = "step"
            elif self.mode == "finish" and depth < self.target_depth:
                reason = "finish"
        if reason is not None:
            self._stop(reason)

    def _watch_triggered(self) -> str | None:
        if not self.watches or self.instance is None or not self.instance.memories:
            return None
        memory = self.instance.memories[0].view
        for number, watch in self.watches.items():
            now = bytes(memory[watch.address : watch.address + watch.length])
            if watch.last is not None and now != watch.last:
                old, watch.last = watch.last, now
                return f"watchpoint {number} ({watch.address:#x}): {old.hex(' ')} -> {now.hex(' ')}"
            watch.last = now
        return None

    # --- stopped ---------------------------------------------------------------------
    def _stop(self, reason: str) -> None:
        self._say(f"{reason}: {self._where(self.frames[-1])}")
        self._show_source(self.frames[-1])
        while True:
            command = self._read()
            if command is None or command[0] in ("quit", "q"):
                raise DebuggerQuit
            verb = command[0]
            if verb in ("step", "s"):
                self.mode = "step"
                return
            if verb in ("next", "n"):
                self.mode, self.target_depth = "next", len(self.frames)
                return
            if verb == "finish":
                self.mode, self.target_depth = "finish", len(self.frames)
                return
            if verb in ("continue", "c", "run", "r"):
                self.mode = "continue"
                return
            self._inspect(command, running=True)

    def _where(self, frame: _Frame) -> str:
        index = frame.func_index
        offset = self.view.offset(index, frame.position)
        relative = offset - self.view.body_offset(index)
        return f"{self.view.names[index]}+{relative:#x} @{offset:#06x}  {self.view.text(index, frame.position)}"

    def _show_source(self, frame: _Frame) -> None:
        line = self.view.source_line(frame.func_index, frame.position)
        if line is not None and self.source is not None and 0 < line <= len(self.source):
            self._say(f"  {self.module.source_name}:{line}: {self.source[line - 1].strip()}")

    # --- commands that do not resume ------------------------------------------------------
    def _inspect(self, command: list[str], running: bool) -> None:  # noqa: C901 - one branch per command
        verb, operands = command[0], command[1:]
        try:
            if verb in ("break", "b"):
                self._break(" ".join(operands))
            elif verb == "delete":
                self.breakpoints.pop(int(operands[0]), None)
                self.watches.pop(int(operands[0]), None)
            elif verb == "watch":
                address = self._number(operands[0]) if running else int(operands[0], 0)
                length = int(operands[1], 0) if len(operands) > 1 else 4
                self.numbers += 1
                self.watches[self.numbers] = _Watch(address, length)
                self._say(f"watchpoint {self.numbers}: {length} bytes at {address:#x}")
            elif verb == "help":
                self._say(HELP.strip("\n"))
            elif not running:
                self._say(f"{verb}: the program is not running (use 'run')")
            elif verb == "stack":
                self._stack()
            elif verb == "locals":
                self._locals()
            elif verb == "globals":
                self._globals()
            elif verb in ("bt", "backtrace"):
                self._backtrace()
            elif verb in ("mem", "x"):
                self._memory(self._number(operands[0]), self._number(operands[1]) if len(operands) > 1 else 64)
            elif verb in ("print", "p"):
                self._print(operands[0])
            else:
                self._say(f"unknown command {verb!r} (try 'help')")
        except (IndexError, ValueError) as error:
            self._say(f"{verb}: {error or 'missing operand'}")

    def _break(self, where: str) -> None:
        location = self._location(where)
        if location is None:
            self._say(f"break: no instruction at {where!r}")
            return
        self.numbers += 1
        self.breakpoints[self.numbers] = location
        func_index, position = location
        self._say(f"breakpoint {self.numbers}: {self._where(_Frame(func_index, position))}")

    def _location(self, where: str) -> tuple[int, int] | None:
        view = self.view
        defined = range(view.first_defined, view.first_defined + len(self.module.funcs))
        if where.startswith("@"):
            offset = int(where[1:], 0)
            for index in defined:
                position = view.position_at(index, offset)
                if position is not None:
                    return index, position
            return None
        head, colon, line = where.rpartition(":")
        has_lines = any(view.function(index).source_lines for index in defined)
        if has_lines and (where.isdigit() or (colon and line.isdigit())):
            wanted = int(line if colon else where)
            for index in defined:
                lines = view.function(index).source_lines or []
                if wanted in lines:
                    return index, lines.index(wanted)
            return None
        name, plus, relative = where.partition("+")
        found = view.find_function(name)
        if found is None or found not in defined:
            return None
        if not plus:
            return found, 0
        position = view.position_at(found, view.body_offset(found) + int(relative, 0))
        return None if position is None else (found, position)

    def _stack(self) -> None:
        frame = self.frames[-1]
        types = self.view.stack_types(frame.func_index, frame.position)
        if not frame.stack:
            self._say("(empty)")
        for depth, (value, t) in enumerate(zip(reversed(frame.stack), reversed(types), strict=True)):
            self._say(f"  {depth}: {format_value(value, t)}")

    def _locals(self) -> None:
        frame = self.frames[-1]
        types = self.view.local_types(frame.func_index)
        for index, (value, t) in enumerate(zip(frame.locals, types, strict=True)):
            self._say(f"  {self.view.local_name(frame.func_index, index)} = {format_value(value, t)}")

    def _globals(self) -> None:
        assert self.instance is not None
        for index, glob in enumerate(self.instance.globals):
            mutable = " mut" if glob.type.mutable else ""
            self._say(f"  global{index}{mutable} = {format_value(glob.value, glob.type.valtype)}")

    def _backtrace(self) -> None:
        for depth, frame in enumerate(reversed(self.frames)):
            if frame.func_index < self.view.first_defined:
                self._say(f"  #{depth} {self.view.names[frame.func_index]} (host)")
                continue
            self._say(f"  #{depth} {self._where(frame)}")

    def _memory(self, address: int, length: int) -> None:
        assert self.instance is not None
        if not self.instance.memories:
            self._say("mem: the module has no memory")
            return
        view = self.instance.memories[0].view
        end = min(address + length, len(view))
        if address >= end:
            self._say(f"mem: {address:#x} is outside memory ({len(view)} bytes)")
            return
        for row in range(address, end, 16):
            chunk = bytes(view[row : min(row + 16, end)])
            text = "".join(chr(b) if chr(b) in string.printable and b >= 0x20 and b < 0x7F else "." for b in chunk)
            self._say(f"  {row:08x}  {chunk.hex(' '):<47}  {text}")

    def _number(self, text: str) -> int:
        """A number, or the value of a local or global (``mem global0`` dumps the shadow stack)."""
        try:
            return int(text, 0)
        except ValueError:
            pass
        value = self._lookup(text)
        if value is None or not isinstance(value[0], int):
            raise ValueError(f"{text!r} is neither a number nor an integer local or global")
        return int(value[0])

    def _lookup(self, name: str) -> tuple[Any, str] | None:
        """(value, label) of a local of the current frame or a global."""
        frame = self.frames[-1]
        for index in range(len(frame.locals)):
            label = self.view.local_name(frame.func_index, index)
            if name in (label, f"local{index}", str(index)):
                types = self.view.local_types(frame.func_index)
                return frame.locals[index], format_value(frame.locals[index], types[index])
        assert self.instance is not None
        if name.startswith("global") and name[6:].isdigit() and int(name[6:]) < len(self.instance.globals):
            glob = self.instance.globals[int(name[6:])]
            return glob.value, format_value(glob.value, glob.type.valtype)
        return None

    def _print(self, name: str) -> None:
        found = self._lookup(name)
        if found is None:
            self._say(f"print: no local or global {name!r} here")
        else:
            self._say(f"{name} = {found[1]}")

    # --- input and output ------------------------------------------------------------------
    def _read(self) -> list[str] | None:
        while True:
            if not self.echo:
                self.out.write(PROMPT)
                self.out.flush()
            line = self.commands.readline()
            if not line:
                return None
            if self.echo:
                self._say(PROMPT + line.rstrip("\n"))
            words = line.split("#", 1)[0].split()
            if words:
                return words

    def _say(self, text: str) -> None:
        self.out.write(text + "\n")
        self.out.flush()
