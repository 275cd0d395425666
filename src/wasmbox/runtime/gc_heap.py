"""GC's run-time values (Wasm 3.0) and the operations the Python engines call on them.

Structs and arrays are plain Python objects, so Python's own collector reclaims them (reference
counting frees the acyclic ones at once; the cycle collector the rest): no heap of our own, no
roots to track.  Each carries the canonical id of its type (``ir.subtyping``'s registry), which is
all a cast needs, across modules too.  Values stay in the engines' representation (ints for i32
and i64, masked unsigned; floats; bytes for v128; None for null); a packed field holds its low 8
or 16 bits and is sign- or zero-extended when read.

An ``i31`` reference is an :class:`I31` (a distinct type, so ``ref.test i31`` can tell it from
a struct); the conversions between ``any`` and ``extern`` wrap a value once and unwrap it again,
so ``extern.convert_any (any.convert_extern x)`` is ``x`` itself.  Host code sees these objects
as they are, and identity survives a round trip through the host.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from ..errors import Trap
from ..ir.subtyping import CLOSED_BASE, canonical_subtype, closed_id
from ..ir.types import ArrayType, DefinedType, HeapType, RefType, StorageType, StructType
from .objects import FunctionInstance
from .sandbox import RESOURCE_LIMIT

NULL_STRUCT = "null structure reference"
NULL_ARRAY = "null array reference"
NULL_I31 = "null i31 reference"
OUT_OF_BOUNDS_ARRAY = "out of bounds array access"
CAST_FAILURE = "cast failure"


class Struct:
    """A struct: the canonical id of its type and its field values."""

    __slots__ = ("type_id", "fields", "__weakref__")

    def __init__(self, type_id: int, fields: list[Any]) -> None:
        self.type_id = type_id
        self.fields = fields

    def __repr__(self) -> str:
        return f"<struct of type {self.type_id}: {self.fields!r}>"


class Array:
    """An array: the canonical id of its type and its elements."""

    __slots__ = ("type_id", "elements", "__weakref__")

    def __init__(self, type_id: int, elements: list[Any]) -> None:
        self.type_id = type_id
        self.elements = elements

    def __repr__(self) -> str:
        return f"<array of type {self.type_id}: {len(self.elements)} elements>"


class I31:
    """An unboxed 31-bit scalar as a reference (``ref.i31``): ``value`` holds its 31 bits."""

    __slots__ = ("value",)

    def __init__(self, value: int) -> None:
        self.value = value & 0x7FFFFFFF

    def __eq__(self, other: object) -> bool:
        return isinstance(other, I31) and other.value == self.value

    def __hash__(self) -> int:
        return hash((I31, self.value))

    def __repr__(self) -> str:
        return f"<i31 {self.value}>"


class Externalized:
    """An internal reference (``any``) seen as an external one (``extern.convert_any``)."""

    __slots__ = ("inner",)

    def __init__(self, inner: object) -> None:
        self.inner = inner

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Externalized) and other.inner is self.inner

    def __hash__(self) -> int:
        return id(self.inner)


class Internalized:
    """A host reference (``extern``) seen as an internal one (``any.convert_extern``)."""

    __slots__ = ("inner",)

    def __init__(self, inner: object) -> None:
        self.inner = inner

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Internalized) and (other.inner is self.inner or other.inner == self.inner)

    def __hash__(self) -> int:
        return hash(self.inner) if self.inner.__hash__ is not None else id(self.inner)


# --- storage: packing, defaults, reading segments ---------------------------------------------

# Storage kinds, as the translators name them: packed, numeric, vector, reference.
_MASKS = {"i8": 0xFF, "i16": 0xFFFF}
_WIDTHS = {"i8": 1, "i16": 2, "i32": 4, "i64": 8, "f32": 4, "f64": 8, "v128": 16}
_DEFAULTS: dict[str, Any] = {"i8": 0, "i16": 0, "i32": 0, "i64": 0, "f32": 0.0, "f64": 0.0, "v128": bytes(16)}


def default_value(storage: str) -> Any:
    """The default of a field or element of this storage kind (zero, or null)."""
    return _DEFAULTS.get(storage)


def pack(storage: str, value: Any) -> Any:
    """The value as a field of this storage kind holds it (packed kinds keep their low bits)."""
    mask = _MASKS.get(storage)
    return value if mask is None else value & mask


def extend_signed(storage: str, value: int) -> int:
    """A packed value read with ``get_s``: sign-extended to i32 (as an unsigned i32)."""
    bits = 8 if storage == "i8" else 16
    if value >> (bits - 1):
        return (value - (1 << bits)) & 0xFFFFFFFF
    return value


def _decode(storage: str, raw: bytes) -> Any:
    from ..numeric import f32_from_bits, f64_from_bits

    if storage == "f32":
        return f32_from_bits(int.from_bytes(raw, "little"))
    if storage == "f64":
        return f64_from_bits(int.from_bytes(raw, "little"))
    return bytes(raw)  # v128


def data_elements(storage: str, data: bytes, offset: int, count: int) -> list[Any]:
    """``count`` elements of this storage kind read from a data segment at ``offset``; the trap
    when the segment is shorter."""
    width = _WIDTHS[storage]
    end = offset + count * width
    if end > len(data):
        raise Trap(OUT_OF_BOUNDS_MEMORY)
    if storage in ("i8", "i16", "i32", "i64"):
        return [int.from_bytes(data[i : i + width], "little") for i in range(offset, end, width)]
    return [_decode(storage, data[i : i + width]) for i in range(offset, end, width)]


OUT_OF_BOUNDS_MEMORY = "out of bounds memory access"
OUT_OF_BOUNDS_TABLE = "out of bounds table access"


# --- operations -------------------------------------------------------------------------------


def struct_of(reference: Struct | None) -> list[Any]:
    """The fields of a struct reference; the trap of a null one."""
    if reference is None:
        raise Trap(NULL_STRUCT)
    return reference.fields


def array_of(reference: Array | None) -> list[Any]:
    """The elements of an array reference; the trap of a null one."""
    if reference is None:
        raise Trap(NULL_ARRAY)
    return reference.elements


# Arrays are Python lists: a guest asking for 2^32-1 elements must not make the host allocate
# them (as tables are bounded, see ``runtime.sandbox``).  Ten million entries is about 80 MB.
MAX_ARRAY_LENGTH = 10_000_000


def array_new(type_id: int, value: Any, length: int) -> Array:
    if length > MAX_ARRAY_LENGTH:
        raise Trap(RESOURCE_LIMIT, f"{RESOURCE_LIMIT}: array of {length} elements")
    return Array(type_id, [value] * length)


def array_get(reference: Array | None, index: int) -> Any:
    elements = array_of(reference)
    if index >= len(elements):
        raise Trap(OUT_OF_BOUNDS_ARRAY)
    return elements[index]


def array_set(reference: Array | None, index: int, value: Any) -> None:
    elements = array_of(reference)
    if index >= len(elements):
        raise Trap(OUT_OF_BOUNDS_ARRAY)
    elements[index] = value


def array_fill(reference: Array | None, offset: int, value: Any, count: int) -> None:
    elements = array_of(reference)
    if offset + count > len(elements):
        raise Trap(OUT_OF_BOUNDS_ARRAY)
    elements[offset : offset + count] = [value] * count


def array_copy(
    destination: Array | None, destination_offset: int, source: Array | None, source_offset: int, count: int
) -> None:
    to = array_of(destination)
    of = array_of(source)
    if destination_offset + count > len(to) or source_offset + count > len(of):
        raise Trap(OUT_OF_BOUNDS_ARRAY)
    to[destination_offset : destination_offset + count] = of[source_offset : source_offset + count]


def array_new_data(type_id: int, storage: str, data: bytes, offset: int, count: int) -> Array:
    return Array(type_id, data_elements(storage, data, offset, count))


def array_init_data(reference: Array | None, storage: str, data: bytes, index: int, offset: int, count: int) -> None:
    elements = array_of(reference)
    if index + count > len(elements):
        raise Trap(OUT_OF_BOUNDS_ARRAY)
    elements[index : index + count] = data_elements(storage, data, offset, count)


def array_new_elem(type_id: int, segment: list[Any], offset: int, count: int) -> Array:
    if offset + count > len(segment):
        raise Trap(OUT_OF_BOUNDS_TABLE)
    return Array(type_id, list(segment[offset : offset + count]))


def array_init_elem(reference: Array | None, segment: list[Any], index: int, offset: int, count: int) -> None:
    elements = array_of(reference)
    if index + count > len(elements):
        raise Trap(OUT_OF_BOUNDS_ARRAY)
    if offset + count > len(segment):
        raise Trap(OUT_OF_BOUNDS_TABLE)
    elements[index : index + count] = segment[offset : offset + count]


def i31_get(reference: I31 | None, signed: bool) -> int:
    if reference is None:
        raise Trap(NULL_I31)
    value = reference.value
    if signed and value >> 30:
        return (value | 0x80000000) & 0xFFFFFFFF
    return value


def any_convert_extern(reference: object) -> object:
    """``any.convert_extern``: null stays null, an externalized internal value is itself again."""
    if reference is None:
        return None
    if isinstance(reference, Externalized):
        return reference.inner
    return Internalized(reference)


def extern_convert_any(reference: object) -> object:
    """``extern.convert_any``: null stays null, an internalized host value is itself again."""
    if reference is None:
        return None
    if isinstance(reference, Internalized):
        return reference.inner
    return Externalized(reference)


def ref_eq(a: object, b: object) -> int:
    """``ref.eq``: the same object, or both null, or i31 references of the same value."""
    if a is b:
        return 1
    return int(isinstance(a, I31) and a == b)


_ABSTRACT_TESTS: dict[HeapType, Any] = {
    HeapType.ANY: lambda v: True,
    HeapType.FUNC: lambda v: True,
    HeapType.EXTERN: lambda v: True,
    HeapType.EXN: lambda v: True,
    HeapType.EQ: lambda v: isinstance(v, Struct | Array | I31),
    HeapType.I31: lambda v: isinstance(v, I31),
    HeapType.STRUCT: lambda v: isinstance(v, Struct),
    HeapType.ARRAY: lambda v: isinstance(v, Array),
    HeapType.NONE: lambda v: False,
    HeapType.NOFUNC: lambda v: False,
    HeapType.NOEXTERN: lambda v: False,
    HeapType.NOEXN: lambda v: False,
}


def ref_test(value: object, nullable: bool, heap: HeapType | int) -> bool:
    """Whether a value (validated to be of the target's hierarchy) is of type ``(ref null? heap)``;
    a concrete ``heap`` is CLOSED_BASE + a canonical id."""
    if value is None:
        return nullable
    if isinstance(heap, HeapType):
        return bool(_ABSTRACT_TESTS[heap](value))
    expected = heap - CLOSED_BASE
    if isinstance(value, Struct | Array):
        return canonical_subtype(value.type_id, expected)
    if isinstance(value, FunctionInstance):
        return canonical_subtype(closed_id(value.type), expected)
    return False


def is_internal(value: object) -> bool:
    """Whether a value belongs to the ``any`` hierarchy (made by a program, or a host value
    converted with ``any.convert_extern``)."""
    return isinstance(value, Struct | Array | I31 | Internalized)


def ref_cast(value: object, nullable: bool, heap: HeapType | int) -> object:
    """``ref.cast``: the value, or the trap when it is not of the type."""
    if not ref_test(value, nullable, heap):
        raise Trap(CAST_FAILURE)
    return value


def evaluate_constant(
    name: str, imm: tuple[Any, ...], stack: list[Any], types: Sequence[DefinedType], type_ids: Sequence[int]
) -> None:
    """One GC instruction of a constant expression (a global's, a table's or a segment's
    initializer), on ``stack``; ``type_ids`` are the canonical ids of the module's ``types``."""
    if name == "ref.i31":
        stack.append(I31(stack.pop()))
    elif name == "any.convert_extern":
        stack.append(any_convert_extern(stack.pop()))
    elif name == "extern.convert_any":
        stack.append(extern_convert_any(stack.pop()))
    elif name.startswith("struct.new"):
        struct_type = types[imm[0]]
        assert isinstance(struct_type, StructType)
        kinds = [storage_name(f.storage) for f in struct_type.fields]
        if name == "struct.new":
            values = stack[len(stack) - len(kinds) :]
            del stack[len(stack) - len(kinds) :]
            fields = [pack(kind, v) for kind, v in zip(kinds, values, strict=True)]
        else:
            fields = [default_value(kind) for kind in kinds]
        stack.append(Struct(type_ids[imm[0]], fields))
    else:
        array_type = types[imm[0]]
        assert isinstance(array_type, ArrayType)
        kind = storage_name(array_type.element.storage)
        if name == "array.new":
            length = stack.pop()
            stack.append(array_new(type_ids[imm[0]], pack(kind, stack.pop()), length))
        elif name == "array.new_default":
            stack.append(array_new(type_ids[imm[0]], default_value(kind), stack.pop()))
        else:  # array.new_fixed
            values = stack[len(stack) - imm[1] :] if imm[1] else []
            del stack[len(stack) - imm[1] :]
            stack.append(Array(type_ids[imm[0]], [pack(kind, v) for v in values]))


def storage_name(storage: StorageType) -> str:
    """The name this module gives a storage type: ``i8``, ``i16``, a number or vector type's name,
    or ``ref``."""
    return "ref" if isinstance(storage, RefType) else storage.text


OPERATIONS: dict[str, Any] = {
    "Struct": Struct,
    "Array": Array,
    "I31": I31,
    "struct_of": struct_of,
    "array_of": array_of,
    "array_new": array_new,
    "array_get": array_get,
    "array_set": array_set,
    "array_fill": array_fill,
    "array_copy": array_copy,
    "array_new_data": array_new_data,
    "array_init_data": array_init_data,
    "array_new_elem": array_new_elem,
    "array_init_elem": array_init_elem,
    "i31_get": i31_get,
    "any_convert_extern": any_convert_extern,
    "extern_convert_any": extern_convert_any,
    "ref_eq": ref_eq,
    "ref_test": ref_test,
    "ref_cast": ref_cast,
    "extend_signed": extend_signed,
    "HeapType": HeapType,
}
"""The names generated code calls (the engines put them in their namespaces)."""
