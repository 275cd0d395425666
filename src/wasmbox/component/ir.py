"""The component IR: a component is its sections, in order.

Component index spaces grow definition by definition and sections may repeat
and interleave (Binary.md "Component Definitions"), so the IR keeps the
section list as written rather than one list per kind: the validator, encoder
and printer walk it in order.  Nested core modules are ordinary core
:class:`~wasmbox.ir.module.Module` objects (with their original bytes, when
decoded, so encoding gives them back unchanged).

The canonical built-ins are one table, :data:`CANON_OPS`: name, opcode and the
immediates each takes, which drives the decoder, encoder, parser and printer.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from ..ir.module import Module
from .types import (
    Alias,
    CoreDefType,
    CoreSort,
    DefType,
    ExternName,
    ExternType,
    SortIndex,
)

# --- canonical definitions ----------------------------------------------------

# Immediate kinds of a canonical built-in, in binary order:
#   core_func / func: a ``0x00`` sort byte and a (core) function index (lift, lower)
#   type: a component type index; core_type, core_table, core_memory: core indices
#   opts: the canon options vector; results: a ``resultlist``
#   async / cancel / shared: a flag byte; core_valtype: a core value type; u32: a number
CANON_OPS: dict[str, tuple[int, tuple[str, ...]]] = {
    "lift": (0x00, ("core_func", "opts", "type")),
    "lower": (0x01, ("func", "opts")),
    "resource.new": (0x02, ("type",)),
    "resource.drop": (0x03, ("type",)),
    "resource.rep": (0x04, ("type",)),
    "task.cancel": (0x05, ()),
    "subtask.cancel": (0x06, ("async",)),
    "task.return": (0x09, ("results", "opts")),
    "context.get": (0x0A, ("core_valtype", "u32")),
    "context.set": (0x0B, ("core_valtype", "u32")),
    "thread.yield": (0x0C, ("cancel",)),
    "subtask.drop": (0x0D, ()),
    "stream.new": (0x0E, ("type",)),
    "stream.read": (0x0F, ("type", "opts")),
    "stream.write": (0x10, ("type", "opts")),
    "stream.cancel-read": (0x11, ("type", "async")),
    "stream.cancel-write": (0x12, ("type", "async")),
    "stream.drop-readable": (0x13, ("type",)),
    "stream.drop-writable": (0x14, ("type",)),
    "future.new": (0x15, ("type",)),
    "future.read": (0x16, ("type", "opts")),
    "future.write": (0x17, ("type", "opts")),
    "future.cancel-read": (0x18, ("type", "async")),
    "future.cancel-write": (0x19, ("type", "async")),
    "future.drop-readable": (0x1A, ("type",)),
    "future.drop-writable": (0x1B, ("type",)),
    "error-context.new": (0x1C, ("opts",)),
    "error-context.debug-message": (0x1D, ("opts",)),
    "error-context.drop": (0x1E, ()),
    "waitable-set.new": (0x1F, ()),
    "waitable-set.wait": (0x20, ("cancel", "core_memory")),
    "waitable-set.poll": (0x21, ("cancel", "core_memory")),
    "waitable-set.drop": (0x22, ()),
    "waitable.join": (0x23, ()),
    "backpressure.inc": (0x24, ()),
    "backpressure.dec": (0x25, ()),
    "thread.index": (0x26, ()),
    "thread.new-indirect": (0x27, ("core_type", "core_table")),
    "thread.resume-later": (0x28, ()),
    "thread.suspend": (0x29, ("cancel",)),
    "thread.suspend-then-resume": (0x2A, ("cancel",)),
    "thread.yield-then-resume": (0x2B, ("cancel",)),
    "thread.suspend-then-promote": (0x2C, ("cancel",)),
    "thread.yield-then-promote": (0x2D, ("cancel",)),
    "thread.spawn-ref": (0x40, ("shared", "core_type")),
    "thread.spawn-indirect": (0x41, ("shared", "core_type", "core_table")),
    "thread.available-parallelism": (0x42, ("shared",)),
}
CANON_BY_CODE = {code: name for name, (code, _) in CANON_OPS.items()}

# Canon options: name -> (code, whether an index follows).
CANON_OPTIONS: dict[str, tuple[int, bool]] = {
    "string-encoding=utf8": (0x00, False),
    "string-encoding=utf16": (0x01, False),
    "string-encoding=latin1+utf16": (0x02, False),
    "memory": (0x03, True),
    "realloc": (0x04, True),
    "post-return": (0x05, True),
    "async": (0x06, False),
    "callback": (0x07, True),
    "core-type": (0x08, True),
    "gc": (0x09, False),
}
CANON_OPTION_BY_CODE = {code: name for name, (code, _) in CANON_OPTIONS.items()}


@dataclass(frozen=True)
class CanonOption:
    name: str
    index: int | None = None


@dataclass(frozen=True)
class Canon:
    """A canonical definition: ``op`` names a row of :data:`CANON_OPS`;
    ``immediates`` follow that row's kinds (options apart, in ``options``)."""

    op: str
    immediates: tuple[object, ...] = ()
    options: tuple[CanonOption, ...] = ()

    def immediate(self, kind: str) -> object:
        kinds = [k for k in CANON_OPS[self.op][1] if k != "opts"]
        return self.immediates[kinds.index(kind)]

    @property
    def defines_core_func(self) -> bool:
        """Every built-in but ``lift`` defines a core function; ``lift`` a component one."""
        return self.op != "lift"


# --- instances ------------------------------------------------------------------


@dataclass(frozen=True)
class CoreInstantiate:
    module: int
    args: tuple[tuple[str, int], ...]  # (name, core instance index)


@dataclass(frozen=True)
class CoreInlineExports:
    exports: tuple[tuple[str, CoreSort, int], ...]


CoreInstance = CoreInstantiate | CoreInlineExports


@dataclass(frozen=True)
class Instantiate:
    component: int
    args: tuple[tuple[str, SortIndex], ...]


@dataclass(frozen=True)
class InlineExports:
    exports: tuple[tuple[ExternName, SortIndex], ...]


Instance = Instantiate | InlineExports


# --- imports, exports, start -------------------------------------------------------


@dataclass(frozen=True)
class ComponentImport:
    name: ExternName
    type: ExternType


@dataclass(frozen=True)
class ComponentExport:
    name: ExternName
    item: SortIndex
    type: ExternType | None = None  # the ascribed type, when given


@dataclass(frozen=True)
class Start:
    func: int
    args: tuple[int, ...]
    results: int


# --- sections ----------------------------------------------------------------------


@dataclass
class CoreModuleSection:
    module: Module
    raw: bytes | None = None  # the module's bytes as decoded


@dataclass
class CoreInstanceSection:
    instances: list[CoreInstance]


@dataclass
class CoreTypeSection:
    types: list[CoreDefType]


@dataclass
class ComponentSection:
    component: Component


@dataclass
class InstanceSection:
    instances: list[Instance]


@dataclass
class AliasSection:
    aliases: list[Alias]


@dataclass
class TypeSection:
    types: list[DefType]


@dataclass
class CanonSection:
    canons: list[Canon]


@dataclass
class StartSection:
    start: Start


@dataclass
class ImportSection:
    imports: list[ComponentImport]


@dataclass
class ExportSection:
    exports: list[ComponentExport]


@dataclass
class ValueSection:
    """Value definitions (🪙, not supported): kept as bytes."""

    raw: bytes


@dataclass
class CustomSection:
    name: str
    data: bytes


Section = (
    CoreModuleSection
    | CoreInstanceSection
    | CoreTypeSection
    | ComponentSection
    | InstanceSection
    | AliasSection
    | TypeSection
    | CanonSection
    | StartSection
    | ImportSection
    | ExportSection
    | ValueSection
    | CustomSection
)

SECTION_IDS: dict[type, int] = {
    CustomSection: 0,
    CoreModuleSection: 1,
    CoreInstanceSection: 2,
    CoreTypeSection: 3,
    ComponentSection: 4,
    InstanceSection: 5,
    AliasSection: 6,
    TypeSection: 7,
    CanonSection: 8,
    StartSection: 9,
    ImportSection: 10,
    ExportSection: 11,
    ValueSection: 12,
}


@dataclass
class Component:
    sections: list[Section] = field(default_factory=list)
