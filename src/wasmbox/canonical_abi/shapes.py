"""The canonical ABI's view of a value type: its layout in memory and its flat core values.

CanonicalABI.md defines alignment, element size and flattening by a case analysis on the "despecialized" type
(tuples are records, enums/options/results are variants, maps are lists of pairs). A ``Shape`` is that
despecialized type worked out once: each shape knows its alignment, size and flat core types for one pointer
width, so that lifting and lowering a value is a walk over shapes with no type analysis left to do.

``shape_of(t)`` makes shapes from resolved WIT types (``wasmbox.wit.model``); the component decoder's types
are turned into the same model.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from ..wit.model import (
    Alias,
    Enum,
    Flags,
    FutureOf,
    Handle,
    ListOf,
    MapOf,
    OptionOf,
    Primitive,
    Record,
    Resource,
    ResultOf,
    StreamOf,
    TupleOf,
    Type,
    TypeDef,
    Variant,
)

MAX_FLAT_PARAMS = 16
MAX_FLAT_RESULTS = 1
MAX_STRING_BYTE_LENGTH = (1 << 28) - 1
MAX_LIST_BYTE_LENGTH = (1 << 28) - 1

# Primitive types: (size = alignment, flat core type).
_PRIMITIVE_LAYOUT = {
    "bool": (1, "i32"),
    "u8": (1, "i32"),
    "s8": (1, "i32"),
    "u16": (2, "i32"),
    "s16": (2, "i32"),
    "u32": (4, "i32"),
    "s32": (4, "i32"),
    "u64": (8, "i64"),
    "s64": (8, "i64"),
    "f32": (4, "f32"),
    "f64": (8, "f64"),
    "char": (4, "i32"),
}


def align_to(offset: int, alignment: int) -> int:
    return -(-offset // alignment) * alignment


def join(a: str, b: str) -> str:
    """The core type that can carry both ``a`` and ``b`` (variant payloads share flat slots)."""
    if a == b:
        return a
    if {a, b} == {"i32", "f32"}:
        return "i32"
    return "i64"


@dataclass(eq=False)
class Shape:
    """Layout of one value type: ``alignment`` and ``size`` in bytes, ``flat`` core types."""

    alignment: int = 1
    size: int = 0
    flat: list[str] = field(default_factory=list)


@dataclass(eq=False)
class PrimitiveShape(Shape):
    name: str = ""


@dataclass(eq=False)
class StringShape(Shape):
    pass


@dataclass(eq=False)
class ListShape(Shape):
    """``list<T>`` (pointer and length) or ``list<T, N>`` (N elements in place, like a tuple)."""

    element: Shape = field(default_factory=Shape)
    length: int | None = None
    as_bytes: bool = False  # list<u8>: Python bytes
    kind: str = "list"  # list, or map (a list of key/value pairs; Python dict)


@dataclass(eq=False)
class RecordShape(Shape):
    """A record or a tuple: fields laid out in order, each aligned."""

    labels: list[str] = field(default_factory=list)
    fields: list[Shape] = field(default_factory=list)
    offsets: list[int] = field(default_factory=list)
    kind: str = "record"  # record or tuple


@dataclass(eq=False)
class VariantShape(Shape):
    """A variant, enum, option or result: a discriminant, then the case's payload at ``payload_offset``."""

    labels: list[str] = field(default_factory=list)
    cases: list[Shape | None] = field(default_factory=list)
    discriminant_size: int = 1
    payload_offset: int = 0
    kind: str = "variant"  # variant, enum, option or result
    case_flat: list[list[str]] = field(default_factory=list)  # each case payload's own flat types


@dataclass(eq=False)
class FlagsShape(Shape):
    labels: list[str] = field(default_factory=list)


@dataclass(eq=False)
class HandleShape(Shape):
    """``own<r>``/``borrow<r>``, and the other values that cross as i32 indices into a handle table: the
    readable ends of streams and futures (``element``: their value type, None for none) and error contexts."""

    resource: TypeDef | None = None
    borrowed: bool = False
    kind: str = "handle"  # handle, stream, future or error-context
    element: Type | None = None


class ShapeError(ValueError):
    """A type the canonical ABI cannot lay out (an empty record, flags with more than 32 labels, ...)."""


def shape_of(type_: Type, pointer_size: int = 4) -> Shape:
    """The shape of ``type_`` for memories with ``pointer_size``-byte pointers (4, or 8 for 64-bit memories)."""
    return _Shaper(pointer_size).shape(type_)


class _Shaper:
    def __init__(self, pointer_size: int) -> None:
        self.pointer_size = pointer_size
        self.pointer_type = "i32" if pointer_size == 4 else "i64"
        self.made: dict[int, Shape] = {}

    def shape(self, type_: Type) -> Shape:
        if isinstance(type_, Primitive):
            return self.primitive(type_.name)
        cached = self.made.get(id(type_))
        if cached is None:
            cached = self.made[id(type_)] = self.typedef(type_)
        return cached

    def primitive(self, name: str) -> Shape:
        if name == "string":
            return StringShape(self.pointer_size, 2 * self.pointer_size, [self.pointer_type] * 2)
        if name == "error-context":
            return HandleShape(4, 4, ["i32"], kind="error-context")
        size, flat = _PRIMITIVE_LAYOUT[name]
        return PrimitiveShape(size, size, [flat], name)

    def typedef(self, typedef: TypeDef) -> Shape:
        kind = typedef.kind
        if isinstance(kind, Alias):
            return self.shape(kind.target)
        if isinstance(kind, Record):
            return self.record([f.name for f in kind.fields], [self.shape(f.type) for f in kind.fields if f.type])
        if isinstance(kind, TupleOf):
            shapes = [self.shape(item) for item in kind.items]
            return self.record([str(i) for i in range(len(shapes))], shapes, "tuple")
        if isinstance(kind, Variant):
            return self.variant(
                [case.name for case in kind.cases],
                [None if case.type is None else self.shape(case.type) for case in kind.cases],
            )
        if isinstance(kind, Enum):
            return self.variant(list(kind.cases), [None] * len(kind.cases), "enum")
        if isinstance(kind, OptionOf):
            return self.variant(["none", "some"], [None, self.shape(kind.inner)], "option")
        if isinstance(kind, ResultOf):
            ok = None if kind.ok is None else self.shape(kind.ok)
            err = None if kind.err is None else self.shape(kind.err)
            return self.variant(["ok", "error"], [ok, err], "result")
        if isinstance(kind, Flags):
            return self.flags(kind.names)
        if isinstance(kind, ListOf):
            return self.list(self.shape(kind.element), kind.length, kind.element == Primitive("u8"))
        if isinstance(kind, MapOf):
            pair = self.record(["0", "1"], [self.shape(kind.key), self.shape(kind.value)], "tuple")
            shape = self.list(pair, None, False)
            shape.kind = "map"
            return shape
        if isinstance(kind, Handle):
            return HandleShape(4, 4, ["i32"], kind.resource, kind.borrowed)
        if isinstance(kind, FutureOf | StreamOf):
            kind_name = "future" if isinstance(kind, FutureOf) else "stream"
            return HandleShape(4, 4, ["i32"], kind=kind_name, element=kind.inner)
        assert isinstance(kind, Resource)
        raise ShapeError(f"resource `{typedef.name}` is not a value type: pass it as own<> or borrow<>")

    def record(self, labels: list[str], shapes: list[Shape], kind: str = "record") -> RecordShape:
        if not shapes:
            raise ShapeError(f"a {kind} must have at least one field")
        offsets: list[int] = []
        size = 0
        alignment = 1
        flat: list[str] = []
        for shape in shapes:
            size = align_to(size, shape.alignment)
            offsets.append(size)
            size += shape.size
            alignment = max(alignment, shape.alignment)
            flat += shape.flat
        return RecordShape(alignment, align_to(size, alignment), flat, labels, shapes, offsets, kind)

    def variant(self, labels: list[str], cases: list[Shape | None], kind: str = "variant") -> VariantShape:
        if not labels:
            raise ShapeError(f"a {kind} must have at least one case")
        discriminant = _discriminant_size(len(labels))
        case_alignment = max([1, *(case.alignment for case in cases if case is not None)])
        payload_offset = align_to(discriminant, case_alignment)
        payload_size = max([0, *(case.size for case in cases if case is not None)])
        alignment = max(discriminant, case_alignment)
        size = align_to(payload_offset + payload_size, alignment)
        payload_flat: list[str] = []
        for case in cases:
            for index, core in enumerate([] if case is None else case.flat):
                if index < len(payload_flat):
                    payload_flat[index] = join(payload_flat[index], core)
                else:
                    payload_flat.append(core)
        case_flat = [[] if case is None else list(case.flat) for case in cases]
        return VariantShape(
            alignment, size, ["i32", *payload_flat], labels, cases, discriminant, payload_offset, kind, case_flat
        )

    def flags(self, labels: list[str]) -> FlagsShape:
        if not 0 < len(labels) <= 32:
            raise ShapeError(f"flags must have 1 to 32 labels, not {len(labels)}")
        size = 1 if len(labels) <= 8 else 2 if len(labels) <= 16 else 4
        return FlagsShape(size, size, ["i32"], labels)

    def list(self, element: Shape, length: int | None, as_bytes: bool) -> ListShape:
        if length is not None:
            return ListShape(element.alignment, length * element.size, element.flat * length, element, length, as_bytes)
        return ListShape(self.pointer_size, 2 * self.pointer_size, [self.pointer_type] * 2, element, None, as_bytes)


def _discriminant_size(cases: int) -> int:
    """The smallest unsigned integer that numbers ``cases`` cases (u8, u16 or u32)."""
    bits = math.ceil(math.log2(cases)) if cases > 1 else 0
    return 1 if bits <= 8 else 2 if bits <= 16 else 4
