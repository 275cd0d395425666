"""The exceptions wasmbox raises, one class per kind of failure.

Users catch these to tell bad input apart from a bad module or a failing
program; no other exception type is allowed to escape from decoding,
parsing or validation, whatever the input.
"""

from __future__ import annotations

from .records import record


class WasmError(Exception):
    """Base of every error wasmbox raises on purpose."""


class MalformedError(WasmError):
    """Input that is not a well-formed binary or text module.

    ``offset`` is a byte offset into a binary; ``line``/``column`` a position in
    text. ``message`` is the bare rule broken, in the spec tests' words.
    """

    def __init__(
        self,
        message: str,
        *,
        offset: int | None = None,
        line: int | None = None,
        column: int | None = None,
        source: str | None = None,
    ) -> None:
        self.message = message
        self.offset = offset
        self.line = line
        self.column = column
        self.source = source
        super().__init__(self._describe())

    def _describe(self) -> str:
        where = self.source or ""
        if self.line is not None:
            where += f":{self.line}:{self.column or 1}" if where else f"{self.line}:{self.column or 1}"
        elif self.offset is not None:
            where += f" @0x{self.offset:x}" if where else f"@0x{self.offset:x}"
        return f"{where}: {self.message}" if where else self.message


class ValidationError(WasmError):
    """A well-formed module that breaks a validation rule.

    ``func_index`` and ``instruction`` say where in the code (function index
    in the function index space, position in its body); ``line`` is the
    source line for text modules and ``offset`` the byte offset for binaries.
    """

    def __init__(
        self,
        message: str,
        *,
        func_index: int | None = None,
        instruction: int | None = None,
        offset: int | None = None,
        line: int | None = None,
    ) -> None:
        self.message = message
        self.func_index = func_index
        self.instruction = instruction
        self.offset = offset
        self.line = line
        super().__init__(self._describe())

    def _describe(self) -> str:
        where = []
        if self.line is not None:
            where.append(f"line {self.line}")
        if self.func_index is not None:
            where.append(f"func {self.func_index}")
        if self.offset is not None:
            where.append(f"@0x{self.offset:x}")
        return f"{', '.join(where)}: {self.message}" if where else self.message

    def at_offset(self, offset: int) -> ValidationError:
        """The same error, placed at a byte offset of the binary."""
        return ValidationError(
            self.message, func_index=self.func_index, instruction=self.instruction, offset=offset, line=self.line
        )


class ImplementationLimitError(ValidationError):
    """A module beyond one of wasmbox's implementation limits (``wasmbox.limits``: the ones V8 and
    wasmtime enforce): more parameters, locals, br_table targets, functions, ... than any engine
    accepts.  A ``ValidationError``, so every path that refuses invalid modules refuses it."""


class SerializationError(WasmError):
    """Bytes given to ``Module.deserialize`` that are not a module serialized by this wasmbox on this
    kind of machine: another format or version, cut short, or changed."""


class LinkError(WasmError):
    """Imports that do not match what a module asks for, or a linker definition that cannot be made."""


class UnknownImportError(LinkError):
    """An import nothing provides.  ``module`` and ``name`` name it; ``expected`` is the type the
    module asks for, as text (``func (i32) -> i32``)."""

    def __init__(self, module: str, name: str, expected: str) -> None:
        self.module = module
        self.name = name
        self.expected = expected
        super().__init__(f"unknown import {module}.{name}: expected {expected}, found nothing")

    def __reduce__(self) -> tuple[type[UnknownImportError], tuple[str, str, str]]:
        return (type(self), (self.module, self.name, self.expected))  # pickles across processes


class IncompatibleImportError(LinkError):
    """An import provided with the wrong kind or type: ``expected`` is the type the module asks for,
    ``found`` the type of what was given (both as text, a memory's or table's current size as its
    minimum, as the spec's import matching reads them)."""

    def __init__(self, module: str, name: str, expected: str, found: str) -> None:
        self.module = module
        self.name = name
        self.expected = expected
        self.found = found
        super().__init__(f"incompatible import {module}.{name}: expected {expected}, found {found}")

    def __reduce__(self) -> tuple[type[IncompatibleImportError], tuple[str, str, str, str]]:
        return (type(self), (self.module, self.name, self.expected, self.found))


class DuplicateDefinitionError(LinkError):
    """A ``Linker`` definition of a (module, name) already defined there, while the linker's
    ``allow_shadowing`` is off (the default, as in wasmtime)."""

    def __init__(self, module: str, name: str) -> None:
        self.module = module
        self.name = name
        super().__init__(f"{module}.{name} is already defined in this linker (set allow_shadowing to replace it)")

    def __reduce__(self) -> tuple[type[DuplicateDefinitionError], tuple[str, str]]:
        return (type(self), (self.module, self.name))


class ConcurrentUseError(WasmError, RuntimeError):
    """A store was entered from a second thread while a call was running in it.

    A store runs one call at a time (its call accounting and the native engine's
    context records belong to the thread running it); give each thread its own store.
    """


class OutOfBoundsError(WasmError, IndexError):
    """An address or index given to the embedding API lies outside the memory or table
    (also an ``IndexError``, so code written for sequences catches it)."""


@record(frozen=True)
class TrapFrame:
    """One wasm function on the stack when a trap happened.

    ``offset`` is the byte offset of the instruction that was running (the
    call, in outer frames) in the module's binary; ``line`` its line in the
    text source, for modules parsed from WAT.
    """

    func_index: int
    name: str
    offset: int | None = None
    line: int | None = None
    source: str | None = None

    def __str__(self) -> str:
        text = self.name
        if self.offset is not None:
            text += f" @{self.offset:#x}"
        if self.line is not None:
            text += f" ({self.source or 'line'}:{self.line})"
        return text


class Trap(WasmError):
    """A WebAssembly trap: the program stopped on a runtime check.

    ``kind`` names the check ("integer divide by zero", ...); ``frames`` are
    the wasm functions that were running, innermost first, with byte offsets
    and source lines; ``backtrace`` is just their names (from the name
    section, or ``func[N]``).
    """

    def __init__(self, kind: str, message: str | None = None) -> None:
        self.kind = kind
        self.message = message or kind
        self.frames: list[TrapFrame] = []
        super().__init__(self.message)

    @property
    def backtrace(self) -> list[str]:
        """The names of the wasm functions that were running, innermost first."""
        return [frame.name for frame in self.frames]

    def __str__(self) -> str:
        if not self.frames:
            return self.message
        return f"{self.message}\nwasm backtrace:\n" + "\n".join(_backtrace_lines(self.frames))


# Identical frames in a row shown before the rest are counted on one line (a recursion that
# exhausted the stack would otherwise print hundreds of the same line, as Python's tracebacks do not).
REPEATS_SHOWN = 3


def _backtrace_lines(frames: list[TrapFrame]) -> list[str]:
    lines: list[str] = []
    index = 0
    while index < len(frames):
        text = str(frames[index])
        end = index + 1
        while end < len(frames) and str(frames[end]) == text:
            end += 1
        shown = min(end, index + REPEATS_SHOWN)
        lines.extend(f"  {i}: {text}" for i in range(index, shown))
        if end > shown:
            lines.append(f"  ...: the frame above repeated {end - shown} more times (to frame {end - 1})")
        index = end
    return lines


class Exhaustion(Trap):
    """A resource ran out (call stack, fuel)."""

    def __init__(self, kind: str = "call stack exhausted", message: str | None = None) -> None:
        super().__init__(kind, message)


class WasmException(WasmError):
    """A wasm exception (``throw``) that no ``try_table`` caught: ``tag`` and its ``payload`` values."""

    def __init__(self, tag: object, payload: tuple[object, ...]) -> None:
        # No message made here: guests throw and catch these by the million; __str__ makes it.
        self.tag = tag
        self.payload = payload

    def __str__(self) -> str:
        return f"uncaught wasm exception ({len(self.payload)} values)"


class WasiExit(WasmError):
    """The guest called ``proc_exit``; ``code`` is its exit status."""

    def __init__(self, code: int) -> None:
        self.code = code
        super().__init__(f"exit status {code}")
