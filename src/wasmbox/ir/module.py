"""The module IR: the hub every phase reads or produces.

Decoder and text parser produce a :class:`Module`; the validator checks it;
the encoder and printer write it out; the engines run it.  It is plain data:
index spaces are lists, instructions are flat lists in binary order (block,
loop and if closed by ``end``), constants keep their raw bits.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field

from .instructions import Instruction
from .types import ExternKind, FuncType, GlobalType, MemoryType, TableType, ValType

Expr = list[Instruction]


@dataclass
class Import:
    module: str
    name: str
    kind: ExternKind
    desc: int | TableType | MemoryType | GlobalType  # a type index for functions


@dataclass
class Function:
    type_index: int
    locals: list[ValType] = field(default_factory=list)
    body: Expr = field(default_factory=list)
    body_offset: int | None = field(default=None, compare=False, repr=False)  # code entry start in a binary
    source_lines: list[int] | None = field(default=None, compare=False, repr=False)  # per instruction, from text


@dataclass
class Table:
    type: TableType


@dataclass
class Memory:
    type: MemoryType


@dataclass
class Tag:
    """An exception tag; its function type's parameters are the payload."""

    type_index: int


@dataclass
class Global:
    type: GlobalType
    init: Expr


@dataclass
class Export:
    name: str
    kind: ExternKind
    index: int


class SegmentMode(enum.Enum):
    ACTIVE = "active"
    PASSIVE = "passive"
    DECLARATIVE = "declarative"


@dataclass
class ElementSegment:
    type: ValType
    init: list[Expr]
    mode: SegmentMode
    table: int = 0
    offset: Expr | None = None


@dataclass
class DataSegment:
    init: bytes
    mode: SegmentMode
    memory: int = 0
    offset: Expr | None = None


@dataclass
class CustomSection:
    """A custom section kept verbatim; ``after`` is the id of the preceding
    known section (0 when it comes first), so the encoder can put it back."""

    name: str
    data: bytes
    after: int = 0


@dataclass
class Names:
    """The decoded ``name`` custom section (or identifiers from text)."""

    module: str | None = None
    functions: dict[int, str] = field(default_factory=dict)
    locals: dict[int, dict[int, str]] = field(default_factory=dict)
    # Later subsections (the extended-name proposal's labels, types, tables,
    # memories, globals, elements, data: ids 3 to 9), kept as raw payloads
    # by id so that re-encoding gives back the same bytes.
    others: dict[int, bytes] = field(default_factory=dict)
    # Where a decoded name section stood: (id of the preceding known section,
    # number of custom sections before it); None puts it last.
    placement: tuple[int, int] | None = field(default=None, compare=False)

    def __bool__(self) -> bool:
        return bool(self.module is not None or self.functions or self.locals or self.others)


@dataclass
class Module:
    types: list[FuncType] = field(default_factory=list)
    imports: list[Import] = field(default_factory=list)
    funcs: list[Function] = field(default_factory=list)
    tables: list[Table] = field(default_factory=list)
    memories: list[Memory] = field(default_factory=list)
    tags: list[Tag] = field(default_factory=list)
    globals: list[Global] = field(default_factory=list)
    exports: list[Export] = field(default_factory=list)
    start: int | None = None
    elements: list[ElementSegment] = field(default_factory=list)
    datas: list[DataSegment] = field(default_factory=list)
    data_count: int | None = None
    customs: list[CustomSection] = field(default_factory=list)
    names: Names = field(default_factory=Names)
    # Where the module came from, for messages and byte offsets (not part of its meaning).
    source_name: str | None = field(default=None, compare=False, repr=False)
    binary: bytes | None = field(default=None, compare=False, repr=False)

    # --- index spaces (imports first, then definitions) -------------------
    def imported(self, kind: ExternKind) -> list[Import]:
        return [imp for imp in self.imports if imp.kind == kind]

    def func_types(self) -> list[FuncType]:
        """The type of every function in the function index space."""
        imported = [self.types[imp.desc] for imp in self.imported(ExternKind.FUNC)]  # type: ignore[index]
        return imported + [self.types[f.type_index] for f in self.funcs]

    def table_types(self) -> list[TableType]:
        imported: list[TableType] = [imp.desc for imp in self.imported(ExternKind.TABLE)]  # type: ignore[misc]
        return imported + [t.type for t in self.tables]

    def memory_types(self) -> list[MemoryType]:
        imported: list[MemoryType] = [imp.desc for imp in self.imported(ExternKind.MEMORY)]  # type: ignore[misc]
        return imported + [m.type for m in self.memories]

    def global_types(self) -> list[GlobalType]:
        imported: list[GlobalType] = [imp.desc for imp in self.imported(ExternKind.GLOBAL)]  # type: ignore[misc]
        return imported + [g.type for g in self.globals]

    def tag_types(self) -> list[FuncType]:
        imported = [self.types[imp.desc] for imp in self.imported(ExternKind.TAG)]  # type: ignore[index]
        return imported + [self.types[t.type_index] for t in self.tags]

    def num_imported_funcs(self) -> int:
        return sum(1 for imp in self.imports if imp.kind == ExternKind.FUNC)
