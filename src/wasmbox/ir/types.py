"""WebAssembly types: value types, function/table/memory/global types.

Each value type carries its binary code and its text name so that the
decoder, encoder, parser and printer all read them from one place.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass


class ValType(enum.Enum):
    """A value type; ``value`` is its binary encoding."""

    I32 = 0x7F
    I64 = 0x7E
    F32 = 0x7D
    F64 = 0x7C
    V128 = 0x7B
    FUNCREF = 0x70
    EXTERNREF = 0x6F
    EXNREF = 0x69  # exception handling (Wasm 3.0)

    @property
    def text(self) -> str:
        """The name in the text format (``i32``, ``funcref``, ...)."""
        return self.name.lower()

    @property
    def is_reference(self) -> bool:
        """Whether values of this type are references (``funcref``, ``externref``, ``exnref``)."""
        return self in (ValType.FUNCREF, ValType.EXTERNREF, ValType.EXNREF)

    @property
    def heap_text(self) -> str:
        """The heap type name used by ``ref.null`` (``func`` / ``extern``)."""
        return {ValType.FUNCREF: "func", ValType.EXTERNREF: "extern", ValType.EXNREF: "exn"}[self]

    def __repr__(self) -> str:
        return self.text


VALTYPE_BY_CODE = {t.value: t for t in ValType}
VALTYPE_BY_TEXT = {t.text: t for t in ValType}
REFTYPE_BY_HEAP_TEXT = {"func": ValType.FUNCREF, "extern": ValType.EXTERNREF, "exn": ValType.EXNREF}

I32, I64, F32, F64, V128 = ValType.I32, ValType.I64, ValType.F32, ValType.F64, ValType.V128
FUNCREF, EXTERNREF, EXNREF = ValType.FUNCREF, ValType.EXTERNREF, ValType.EXNREF


class ExternKind(enum.IntEnum):
    """The kinds of imports and exports, valued as in the binary format."""

    FUNC = 0
    TABLE = 1
    MEMORY = 2
    GLOBAL = 3
    TAG = 4  # exception handling

    @property
    def text(self) -> str:
        return ("func", "table", "memory", "global", "tag")[self]


@dataclass(frozen=True)
class FuncType:
    """A function's signature: the types of its parameters and of its results."""

    params: tuple[ValType, ...] = ()
    results: tuple[ValType, ...] = ()

    def __str__(self) -> str:
        params = " ".join(t.text for t in self.params)
        results = " ".join(t.text for t in self.results)
        return f"[{params}] -> [{results}]"


@dataclass(frozen=True)
class Limits:
    """The size of a memory (in 64 KiB pages) or a table (in elements): at least ``min``, at most
    ``max`` (None: no maximum)."""

    min: int
    max: int | None = None

    def __str__(self) -> str:
        return f"initial={self.min}" + ("" if self.max is None else f" max={self.max}")


@dataclass(frozen=True)
class TableType:
    """A table: the reference type of its elements and its limits.  ``is_64``: the table is indexed
    by i64 (table64, Wasm 3.0), else by i32."""

    element: ValType
    limits: Limits
    is_64: bool = False

    @property
    def address_type(self) -> ValType:
        """The type of the table's indices and sizes: i64 for a 64-bit table, else i32."""
        return I64 if self.is_64 else I32

    @property
    def max_size(self) -> int:
        """The largest size the spec lets a table of this address type declare."""
        return MAX_TABLE_SIZE_64 if self.is_64 else MAX_TABLE_SIZE_32


@dataclass(frozen=True)
class MemoryType:
    """A linear memory: its limits in 64 KiB pages.  ``is_64``: addresses are i64 (memory64,
    Wasm 3.0), else i32; the argument's name is wasmtime's (``MemoryType(limits, is_64=True)``)."""

    limits: Limits
    is_64: bool = False

    @property
    def address_type(self) -> ValType:
        """The type of the memory's addresses, sizes in pages and lengths: i64 or i32."""
        return I64 if self.is_64 else I32

    @property
    def max_pages(self) -> int:
        """The most pages the spec lets a memory of this address type declare: 2^16 (4 GiB) for
        i32, 2^48 (the whole 64-bit space) for i64."""
        return MAX_PAGES_64 if self.is_64 else MAX_PAGES


@dataclass(frozen=True)
class GlobalType:
    """A global: its value type and whether it may be set (``mutable``)."""

    valtype: ValType
    mutable: bool = False


PAGE_SIZE = 65536
MAX_PAGES = 65536  # an i32 memory's largest size (4 GiB)
MAX_PAGES_64 = 1 << 48  # an i64 memory's: 2^64 bytes
MAX_TABLE_SIZE_32 = 0xFFFFFFFF
MAX_TABLE_SIZE_64 = 0xFFFFFFFFFFFFFFFF
