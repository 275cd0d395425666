"""WebAssembly types: value types, function/table/memory/global types.

Each value type carries its binary code and its text name so that the
decoder, encoder, parser and printer all read them from one place.
"""

from __future__ import annotations

import enum
from typing import ClassVar

from ..records import field, record


class ValType:
    """A value type: a :class:`NumType` (numbers and vectors) or a :class:`RefType`.

    The base class lets annotations, ``isinstance`` checks and block types name "any value type"
    while the two kinds keep their own representation: number types are a closed enum, reference
    types are parametric (nullability and a heap type).
    """

    __slots__ = ()

    @property
    def text(self) -> str:
        """The name in the text format (``i32``, ``funcref``, ``(ref $t)``...)."""
        raise NotImplementedError

    @property
    def is_reference(self) -> bool:
        """Whether values of this type are references."""
        raise NotImplementedError

    @property
    def defaultable(self) -> bool:
        """Whether the type has a default value (zero, or null), so locals of it need no
        initialisation (the spec's "defaultable" types)."""
        raise NotImplementedError


class NumType(ValType, enum.Enum):
    """A number or vector type; ``value`` is its binary encoding."""

    I32 = 0x7F
    I64 = 0x7E
    F32 = 0x7D
    F64 = 0x7C
    V128 = 0x7B

    @property
    def text(self) -> str:
        return self.name.lower()

    @property
    def is_reference(self) -> bool:
        return False

    @property
    def defaultable(self) -> bool:
        return True

    def __repr__(self) -> str:
        return self.text


class HeapType(enum.Enum):
    """An abstract heap type; ``value`` is its binary encoding (a negative s33 as one byte).

    A reference type's heap is one of these or a type index (a "concrete" heap type, the
    function type defined at that index).  The GC members are defined so that the decoder,
    parser and subtyping know them in one place; they are accepted only with the ``gc`` feature
    (see :data:`GC_HEAP_TYPES`).
    """

    FUNC = 0x70
    EXTERN = 0x6F
    EXN = 0x69  # exception handling (Wasm 3.0)
    NOFUNC = 0x73
    NOEXTERN = 0x72
    NOEXN = 0x74
    ANY = 0x6E
    EQ = 0x6D
    I31 = 0x6C
    STRUCT = 0x6B
    ARRAY = 0x6A
    NONE = 0x71

    @property
    def text(self) -> str:
        return self.name.lower()

    def __repr__(self) -> str:
        return self.text


GC_HEAP_TYPES = frozenset(
    (HeapType.NOFUNC, HeapType.NOEXTERN, HeapType.ANY, HeapType.EQ, HeapType.I31, HeapType.STRUCT)
    + (HeapType.ARRAY, HeapType.NONE)
)
HEAPTYPE_BY_CODE = {h.value: h for h in HeapType}
HEAPTYPE_BY_TEXT = {h.text: h for h in HeapType}

Heap = HeapType | int
"""A heap type: abstract, or the index of a type defined in the module."""


class RefType(ValType):
    """A reference type ``(ref null? heap)``.

    Instances are interned: ``RefType(True, HeapType.FUNC) is FUNCREF``, so code may compare
    reference types with ``is`` as it does number types (subtyping is :mod:`wasmbox.ir.subtyping`'s
    business).  Immutable and picklable (unpickling interns again).
    """

    __slots__ = ("nullable", "heap")
    nullable: bool
    heap: Heap
    _interned: ClassVar[dict[tuple[bool, Heap], RefType]] = {}

    def __new__(cls, nullable: bool, heap: Heap) -> RefType:
        key = (nullable, heap)
        found = cls._interned.get(key)
        if found is None:
            found = object.__new__(cls)
            object.__setattr__(found, "nullable", nullable)
            object.__setattr__(found, "heap", heap)
            cls._interned[key] = found
        return found

    def __setattr__(self, name: str, value: object) -> None:
        raise AttributeError("reference types are immutable")

    def __reduce__(self) -> tuple[type[RefType], tuple[bool, Heap]]:
        return (RefType, (self.nullable, self.heap))

    @property
    def text(self) -> str:
        shorthand = SHORTHAND_TEXT.get(self)
        if shorthand is not None:
            return shorthand
        return f"(ref {'null ' if self.nullable else ''}{self.heap_text})"

    @property
    def is_reference(self) -> bool:
        return True

    @property
    def defaultable(self) -> bool:
        return self.nullable

    @property
    def heap_text(self) -> str:
        """The heap type as written after ``ref.null`` or ``ref``: ``func``, ``extern``, or an index."""
        return self.heap.text if isinstance(self.heap, HeapType) else str(self.heap)

    def as_nullable(self, nullable: bool = True) -> RefType:
        """The same heap type, nullable or not."""
        return RefType(nullable, self.heap)

    def __repr__(self) -> str:
        return self.text


I32, I64, F32, F64, V128 = NumType.I32, NumType.I64, NumType.F32, NumType.F64, NumType.V128
FUNCREF = RefType(True, HeapType.FUNC)
EXTERNREF = RefType(True, HeapType.EXTERN)
EXNREF = RefType(True, HeapType.EXN)
NONNULL_FUNCREF = RefType(False, HeapType.FUNC)  # (ref func): what ref.func of any function is
NUMBER_TYPES: tuple[NumType, ...] = tuple(NumType)

# Nullable abstract reference types have one-byte shorthands in both formats (``funcref``, 0x70).
_BOTTOM_SHORTHANDS = {HeapType.NONE: "nullref", HeapType.NOFUNC: "nullfuncref"}
_BOTTOM_SHORTHANDS.update({HeapType.NOEXTERN: "nullexternref", HeapType.NOEXN: "nullexnref"})
SHORTHAND_TEXT = {RefType(True, h): _BOTTOM_SHORTHANDS.get(h, h.text + "ref") for h in HeapType}
VALTYPE_BY_CODE: dict[int, ValType] = {t.value: t for t in NumType}
VALTYPE_BY_CODE.update({h.value: RefType(True, h) for h in HeapType})
VALTYPE_BY_TEXT: dict[str, ValType] = {t.text: t for t in NumType}
VALTYPE_BY_TEXT.update({text: t for t, text in SHORTHAND_TEXT.items()})
REFTYPE_BY_HEAP_TEXT = {h.text: RefType(True, h) for h in HeapType}


def type_code(t: ValType) -> int:
    """The one-byte binary code of a number type or of a shorthand reference type."""
    if isinstance(t, NumType):
        return t.value
    assert isinstance(t, RefType) and isinstance(t.heap, HeapType) and t.nullable, t
    return t.heap.value


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


@record(frozen=True, kw_only=True)
class DefinedTypeBase:
    """What every type of the type section carries besides its structure (GC, Wasm 3.0): the
    sub-type declaration and the recursion group it was written in.

    ``final`` and ``supertypes`` (type indices; at most one) are the ``sub`` declaration, final
    with none when not written.  ``rec`` is ``(first index, size)`` of the explicit ``rec`` group
    holding the type (None: a group of its own).  ``written_sub`` only remembers whether ``sub``
    was spelled out (``(sub final (func))`` means ``(func)``; the encoder and printer give it
    back).  ``canonical`` is set only on *closed* types (``subtyping.closed_types``): the
    process-wide id of the type after the spec's canonicalization, so that closed types are
    equal exactly when the types are.
    """

    final: bool = True
    supertypes: tuple[int, ...] = ()
    rec: tuple[int, int] | None = None
    canonical: int | None = None
    written_sub: bool = field(default=False, compare=False)


@record(frozen=True)
class FuncType(DefinedTypeBase):
    """A function's signature: the types of its parameters and of its results."""

    params: tuple[ValType, ...] = ()
    results: tuple[ValType, ...] = ()

    def __post_init__(self) -> None:
        # Tuples whatever sequences it was given (``FuncType([I32], [])``, as the API's docstrings write it):
        # equal types must compare equal (a host's tag against a module's import of it did not).
        if type(self.params) is not tuple:
            self.__dict__["params"] = tuple(self.params)
        if type(self.results) is not tuple:
            self.__dict__["results"] = tuple(self.results)

    def __str__(self) -> str:
        params = " ".join(t.text for t in self.params)
        results = " ".join(t.text for t in self.results)
        return f"[{params}] -> [{results}]"


class PackedType(enum.Enum):
    """A packed storage type of a struct field or array element (GC); ``value`` is its code.  Read
    as i32, sign- or zero-extended (``struct.get_s``/``_u``)."""

    I8 = 0x78
    I16 = 0x77

    @property
    def text(self) -> str:
        return self.name.lower()

    @property
    def bits(self) -> int:
        return 8 if self is PackedType.I8 else 16

    def __repr__(self) -> str:
        return self.text


StorageType = ValType | PackedType
PACKED_BY_TEXT = {p.text: p for p in PackedType}
PACKED_BY_CODE = {p.value: p for p in PackedType}


def unpacked(storage: StorageType) -> ValType:
    """The value type a field of this storage type is read and written as (i32 for packed ones)."""
    return I32 if isinstance(storage, PackedType) else storage


@record(frozen=True)
class FieldType:
    """A struct field or an array's element: its storage type and whether it may be set."""

    storage: StorageType
    mutable: bool = False

    @property
    def text(self) -> str:
        return f"(mut {self.storage.text})" if self.mutable else self.storage.text


@record(frozen=True)
class StructType(DefinedTypeBase):
    """A struct type (GC): its fields in order."""

    fields: tuple[FieldType, ...] = ()

    def __str__(self) -> str:
        return f"(struct {' '.join(f'(field {f.text})' for f in self.fields)})"


@record(frozen=True)
class ArrayType(DefinedTypeBase):
    """An array type (GC): the type of its elements."""

    element: FieldType = FieldType(NumType.I32)

    def __str__(self) -> str:
        return f"(array {self.element.text})"


DefinedType = FuncType | StructType | ArrayType
"""A type of the type section: a function, struct or array type (with its sub/rec declaration)."""


@record(frozen=True)
class Limits:
    """The size of a memory (in 64 KiB pages) or a table (in elements): at least ``min``, at most
    ``max`` (None: no maximum)."""

    min: int
    max: int | None = None

    def __str__(self) -> str:
        return f"initial={self.min}" + ("" if self.max is None else f" max={self.max}")


@record(frozen=True)
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


@record(frozen=True)
class MemoryType:
    """A linear memory: its limits in 64 KiB pages.  ``is_64``: addresses are i64 (memory64,
    Wasm 3.0), else i32; the argument's name is wasmtime's (``MemoryType(limits, is_64=True)``)."""

    limits: Limits
    is_64: bool = False
    # A shared memory (the threads proposal): it needs a maximum, and an import of one matches
    # only a shared memory (and an unshared import only an unshared one).
    shared: bool = False
    # Bytes per page (the custom-page-sizes proposal): 65536, or 1; sizes, maxima and
    # memory.size/grow count in these pages.
    page_size: int = 65536

    @property
    def address_type(self) -> ValType:
        """The type of the memory's addresses, sizes in pages and lengths: i64 or i32."""
        return I64 if self.is_64 else I32

    @property
    def max_pages(self) -> int:
        """The most pages the spec lets a memory of this address type declare: 2^16 (4 GiB) for
        i32, 2^48 (the whole 64-bit space) for i64; with 1-byte pages, 2^32-1 and 2^64-1."""
        return min((1 << (64 if self.is_64 else 32)) // self.page_size, (1 << (64 if self.is_64 else 32)) - 1)


@record(frozen=True)
class GlobalType:
    """A global: its value type and whether it may be set (``mutable``)."""

    valtype: ValType
    mutable: bool = False


PAGE_SIZE = 65536
MAX_PAGES = 65536  # an i32 memory's largest size (4 GiB)
MAX_PAGES_64 = 1 << 48  # an i64 memory's: 2^64 bytes
MAX_TABLE_SIZE_32 = 0xFFFFFFFF
MAX_TABLE_SIZE_64 = 0xFFFFFFFFFFFFFFFF


def function_type(t: DefinedType) -> FuncType:
    """``t`` as a function type: for the places where validation has checked that a type index
    names one (a function's type, ``call_indirect``'s, a tag's...)."""
    assert isinstance(t, FuncType), t
    return t
