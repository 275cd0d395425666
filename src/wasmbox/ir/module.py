"""The module IR: the hub every phase reads or produces.

Decoder and text parser produce a :class:`Module`; the validator checks it;
the encoder and printer write it out; the engines run it.  It is plain data:
index spaces are lists, instructions are flat lists in binary order (block,
loop and if closed by ``end``), constants keep their raw bits.
"""

from __future__ import annotations

import enum
from collections.abc import Sequence
from typing import Protocol

from ..records import field, record
from .instructions import DEFAULT_FEATURES, FUNCTION_REFERENCES, Instruction
from .types import (
    FUNCREF,
    NONNULL_FUNCREF,
    DefinedType,
    ExternKind,
    FuncType,
    GlobalType,
    MemoryType,
    RefType,
    TableType,
    ValType,
)

Expr = list[Instruction]


def block_signature(
    block_type: object, types: Sequence[DefinedType]
) -> tuple[tuple[ValType, ...], tuple[ValType, ...]]:
    """A block type's parameters and results: none (empty), one result (a value type), or those of a
    function type (a type index into ``types``, which the caller has checked, or, in bodies made for
    the engines by ``ir.legacy_exceptions``, the function type itself)."""
    if block_type is None:
        return (), ()
    if isinstance(block_type, ValType):
        return (), (block_type,)
    if isinstance(block_type, FuncType):
        return block_type.params, block_type.results
    assert isinstance(block_type, int)
    t = types[block_type]
    assert isinstance(t, FuncType)
    return t.params, t.results


@record
class Import:
    module: str
    name: str
    kind: ExternKind
    desc: int | TableType | MemoryType | GlobalType  # a type index for functions


class Function:
    """A defined function: its type index, declared locals and body.

    ``body_offset`` is where its code entry starts in a binary (after the
    entry's size); ``source_lines`` the text line of each instruction of a
    parsed module.  A function decoded lazily has a ``source`` instead of a
    body: its locals and instructions are decoded on first use (see
    ``binary.decode``), so loading a large module need not build them all.
    """

    __slots__ = ("type_index", "_locals", "_body", "body_offset", "source_lines", "source")

    def __init__(
        self,
        type_index: int,
        locals: list[ValType] | None = None,  # noqa: A002 - the spec's word
        body: Expr | None = None,
        body_offset: int | None = None,
        source_lines: list[int] | None = None,
        source: LazyBody | None = None,
    ) -> None:
        self.type_index = type_index
        self._locals = locals if locals is not None else ([] if source is None else None)
        self._body = body if body is not None else ([] if source is None else None)
        self.body_offset = body_offset
        self.source_lines = source_lines
        self.source = source

    def _decode(self) -> None:
        assert self.source is not None
        self._locals, self._body = self.source.decode()
        self.source = None

    @property
    def locals(self) -> list[ValType]:
        if self._locals is None:
            self._decode()
        return self._locals  # type: ignore[return-value]

    @locals.setter
    def locals(self, value: list[ValType]) -> None:
        self._locals = value

    @property
    def body(self) -> Expr:
        if self._body is None:
            self._decode()
        return self._body  # type: ignore[return-value]

    @body.setter
    def body(self, value: Expr) -> None:
        self._body = value

    @property
    def decoded(self) -> bool:
        """Whether the body exists as instructions (not only as bytes to decode)."""
        return self._body is not None

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Function):
            return NotImplemented
        return (self.type_index, self.locals, self.body) == (other.type_index, other.locals, other.body)

    def __repr__(self) -> str:
        state = f"{len(self._body)} instructions" if self._body is not None else "not decoded"
        return f"Function(type_index={self.type_index}, {state})"


class LazyBody(Protocol):
    """Where a lazily decoded function's locals and body come from."""

    start: int  # the code entry's bytes, after its size
    end: int

    def decode(self) -> tuple[list[ValType], Expr]: ...


def func_elem_type(features: frozenset[str]) -> RefType:
    """The type of an element segment given as function indices (``func $f ...``, element kind
    0x00): ``(ref func)`` since typed function references, ``funcref`` before."""
    return NONNULL_FUNCREF if FUNCTION_REFERENCES in features else FUNCREF


@record
class Table:
    """A defined table; ``init`` is its initializer (Wasm 3.0), a constant expression whose
    value every element starts with (None: null)."""

    type: TableType
    init: Expr | None = None


@record
class Memory:
    type: MemoryType


@record
class Tag:
    """An exception tag; its function type's parameters are the payload."""

    type_index: int


@record
class Global:
    type: GlobalType
    init: Expr


@record
class Export:
    name: str
    kind: ExternKind
    index: int


class SegmentMode(enum.Enum):
    ACTIVE = "active"
    PASSIVE = "passive"
    DECLARATIVE = "declarative"


@record
class ElementSegment:
    type: ValType
    init: list[Expr]
    mode: SegmentMode
    table: int = 0
    offset: Expr | None = None


@record
class DataSegment:
    init: bytes
    mode: SegmentMode
    memory: int = 0
    offset: Expr | None = None


@record
class CustomSection:
    """A custom section kept verbatim; ``after`` is the id of the preceding
    known section (0 when it comes first), so the encoder can put it back."""

    name: str
    data: bytes
    after: int = 0


@record
class Names:
    """The decoded ``name`` custom section (or identifiers from text)."""

    module: str | None = None
    functions: dict[int, str] = field(default_factory=dict)
    locals: dict[int, dict[int, str]] = field(default_factory=dict)
    # Later subsections (the extended-name proposal's labels, types, tables,
    # memories, globals, elements, data: ids 3 to 9; GC's fields: 10; tags: 11), kept as raw payloads
    # by id so that re-encoding gives back the same bytes.
    others: dict[int, bytes] = field(default_factory=dict)
    # Where a decoded name section stood: (id of the preceding known section,
    # number of custom sections before it); None puts it last.
    placement: tuple[int, int] | None = field(default=None, compare=False)

    def __bool__(self) -> bool:
        return bool(self.module is not None or self.functions or self.locals or self.others)


@record
class Module:
    # The type section: function, struct and array types (GC); each carries its sub/rec declaration.
    types: list[DefinedType] = field(default_factory=list)
    # Where empty ``(rec)`` groups stood (the index of the type after them), so they encode back.
    empty_rec_groups: list[int] = field(default_factory=list)
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
    # The features the module was read with: the validator accepts what they allow (Wasm 2.0 or 3.0).
    features: frozenset[str] = field(default=DEFAULT_FEATURES, compare=False, repr=False)
    # Where the module came from, for messages and byte offsets (not part of its meaning).
    source_name: str | None = field(default=None, compare=False, repr=False)
    binary: bytes | None = field(default=None, compare=False, repr=False)
    _digest: bytes | None = field(default=None, compare=False, repr=False)
    # func_types() for the shape it was made for: (imports, functions, types) counts.
    _func_types: tuple[tuple[int, int, int], list[FuncType]] | None = field(default=None, compare=False, repr=False)

    def digest(self) -> bytes:
        """SHA-256 of the module's binary (its encoding, for a module parsed from text): the key of
        everything compiled from it, here and in other processes.  Computed once."""
        if self._digest is None:
            from ..digests import sha256

            binary = self.binary
            if binary is None:  # only a module made in memory needs the encoder
                from ..binary.encode import encode_module

                binary = encode_module(self)
            self._digest = sha256(binary).digest()
        return self._digest

    # --- index spaces (imports first, then definitions) -------------------
    def imported(self, kind: ExternKind) -> list[Import]:
        return [imp for imp in self.imports if imp.kind == kind]

    def function_type(self, index: int) -> FuncType:
        """The function type at type index ``index`` (validation has checked it is one)."""
        t = self.types[index]
        assert isinstance(t, FuncType), t
        return t

    def func_types(self) -> list[FuncType]:
        """The type of every function in the function index space (a new list each time)."""
        return list(self.func_types_shared())

    def func_types_shared(self) -> Sequence[FuncType]:
        """``func_types``, not copied: for callers that only read it, once per function they compile (a
        copy of 46,000 entries cost each quick compilation of a yosys function ~0.1 ms).

        Made once per shape of the module: the translation worker lowers one function at a time,
        and for a module of 46,000 functions rebuilding this list was a third of each one's cost."""
        shape = (len(self.imports), len(self.funcs), len(self.types))
        if self._func_types is None or self._func_types[0] != shape:
            imported = [self.function_type(imp.desc) for imp in self.imported(ExternKind.FUNC)]  # type: ignore[arg-type]
            self._func_types = (shape, imported + [self.function_type(f.type_index) for f in self.funcs])
        return self._func_types[1]

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
        imported = [self.function_type(imp.desc) for imp in self.imported(ExternKind.TAG)]  # type: ignore[arg-type]
        return imported + [self.function_type(t.type_index) for t in self.tags]

    def num_imported_funcs(self) -> int:
        return sum(1 for imp in self.imports if imp.kind == ExternKind.FUNC)
