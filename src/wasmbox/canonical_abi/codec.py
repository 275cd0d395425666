"""Lifting and lowering component values (CanonicalABI.md, "Loading", "Storing", "Flat Lifting/Lowering").

A guest's values live in its linear memory and in flat core values; Python's live as in ``values.py``. This
module moves them across, checking everything the specification checks: alignment and bounds of every
pointer a guest hands over, the validity of chars, strings and discriminants, and the length limits — a
failed check is a ``Trap``. A Python value of the wrong type or range is the host's mistake: ``TypeError``
or ``ValueError``, before anything is written.

Strings are written with one ``realloc`` of their exact encoded size (the specification's worst-case
allocation followed by a shrinking ``realloc`` is one allowed strategy among others; the guest sees only
that it gets a valid string). Resource handles, streams and futures go through the context's ``handles``
hooks, which the component runtime provides.
"""

from __future__ import annotations

import math
import struct
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from enum import Enum
from typing import Any, Protocol

from ..errors import Trap
from .shapes import (
    MAX_LIST_BYTE_LENGTH,
    MAX_STRING_BYTE_LENGTH,
    FlagsShape,
    HandleShape,
    ListShape,
    PrimitiveShape,
    RecordShape,
    Shape,
    StringShape,
    VariantShape,
    align_to,
)
from .values import Err, Ok, Record, Some, Variant, python_name

STRING_ENCODINGS = ("utf8", "utf16", "latin1+utf16")
_INTEGER_RANGES = {
    "u8": (0, 1 << 8),
    "u16": (0, 1 << 16),
    "u32": (0, 1 << 32),
    "u64": (0, 1 << 64),
    "s8": (-(1 << 7), 1 << 7),
    "s16": (-(1 << 15), 1 << 15),
    "s32": (-(1 << 31), 1 << 31),
    "s64": (-(1 << 63), 1 << 63),
}
_WIDTH = {"bool": 1, "u8": 1, "s8": 1, "u16": 2, "s16": 2, "u32": 4, "s32": 4, "u64": 8, "s64": 8, "char": 4}


_OUT_OF_BOUNDS = {
    "string": "string content out-of-bounds",
    "list": "list content out-of-bounds",
    "realloc": "realloc return: beyond end of memory",
}


class GuestMemory(Protocol):
    """What the codec needs of a linear memory."""

    def read(self, offset: int, length: int) -> bytes: ...

    def write(self, offset: int, data: bytes) -> None: ...

    @property
    def data_len(self) -> int: ...


Realloc = Callable[[int, int, int, int], int]  # (old pointer, old size, alignment, new size) -> pointer


class HandleHooks(Protocol):
    """How handles cross: the component runtime's resource tables (and stream/future ends)."""

    def lift(self, shape: HandleShape, index: int) -> Any: ...

    def lower(self, shape: HandleShape, value: Any) -> int: ...


class _NoHandles:
    def lift(self, shape: HandleShape, index: int) -> Any:
        raise Trap("unsupported", f"canonical ABI: no handle table to lift a {shape.kind} from")

    def lower(self, shape: HandleShape, value: Any) -> int:
        raise Trap("unsupported", f"canonical ABI: no handle table to lower a {shape.kind} into")


@dataclass
class AbiContext:
    """The canonical options of one lift or lower: memory, realloc, string encoding and pointer width."""

    memory: GuestMemory | None = None
    realloc: Realloc | None = None
    string_encoding: str = "utf8"
    pointer_size: int = 4
    handles: HandleHooks = field(default_factory=_NoHandles)

    @property
    def utf16_tag(self) -> int:
        return 1 << (self.pointer_size * 8 - 1)

    # --- memory access, checked ---------------------------------------------------------------------------

    def _memory(self) -> GuestMemory:
        if self.memory is None:
            raise Trap("unsupported", "canonical ABI: this value needs a memory, and the canonical options name none")
        return self.memory

    def check_range(self, pointer: int, length: int, alignment: int, what: str) -> None:
        """Trap unless ``pointer`` is aligned and ``length`` bytes from it are in the memory; the message
        starts as wasmtime's do (``unaligned pointer``, ``string content out-of-bounds``, ...)."""
        if pointer % alignment:
            first = "realloc return: result not aligned" if what == "realloc" else "unaligned pointer"
            raise Trap("unaligned pointer", f"{first}: {what} pointer {pointer} is not {alignment}-aligned")
        if pointer + length > self._memory().data_len:
            first = _OUT_OF_BOUNDS.get(what, "pointer out of bounds of memory")
            raise Trap("out of bounds memory access", f"{first}: {what} at {pointer}+{length}")

    def read_int(self, pointer: int, width: int, signed: bool = False) -> int:
        return int.from_bytes(self._memory().read(pointer, width), "little", signed=signed)

    def write_int(self, pointer: int, value: int, width: int) -> None:
        self._memory().write(pointer, (value % (1 << (8 * width))).to_bytes(width, "little"))

    def allocate(self, size: int, alignment: int, what: str) -> int:
        if self.realloc is None:
            raise Trap("unsupported", f"canonical ABI: lowering a {what} needs `realloc`, and none was given")
        pointer = self.realloc(0, 0, alignment, size)
        self.check_range(pointer, size, alignment, "realloc")
        return pointer


# --- loading (memory → Python) --------------------------------------------------------------------------------


def load(cx: AbiContext, pointer: int, shape: Shape) -> Any:
    """The value of ``shape`` at ``pointer`` (which the caller has checked is aligned and in bounds)."""
    if isinstance(shape, PrimitiveShape):
        return _load_primitive(cx, pointer, shape.name)
    if isinstance(shape, StringShape):
        begin = cx.read_int(pointer, cx.pointer_size)
        return load_string_range(cx, begin, cx.read_int(pointer + cx.pointer_size, cx.pointer_size))
    if isinstance(shape, ListShape):
        if shape.length is not None:
            return _finish_list(
                shape, [load(cx, pointer + i * shape.element.size, shape.element) for i in range(shape.length)]
            )
        begin = cx.read_int(pointer, cx.pointer_size)
        return load_list_range(cx, begin, cx.read_int(pointer + cx.pointer_size, cx.pointer_size), shape)
    if isinstance(shape, RecordShape):
        values = [
            load(cx, pointer + offset, field_shape)
            for offset, field_shape in zip(shape.offsets, shape.fields, strict=True)
        ]
        return _make_record(shape, values)
    if isinstance(shape, VariantShape):
        index = cx.read_int(pointer, shape.discriminant_size)
        if index >= len(shape.labels):
            raise Trap(
                "invalid variant discriminant",
                f"invalid variant discriminant: case {index} of a {shape.kind} with {len(shape.labels)} cases",
            )
        case = shape.cases[index]
        payload = None if case is None else load(cx, pointer + shape.payload_offset, case)
        return _make_variant(shape, index, payload)
    if isinstance(shape, FlagsShape):
        return _unpack_flags(cx.read_int(pointer, shape.size), shape)
    assert isinstance(shape, HandleShape)
    return cx.handles.lift(shape, cx.read_int(pointer, 4))


def _load_primitive(cx: AbiContext, pointer: int, name: str) -> Any:
    if name == "f32":
        return _canonical_nan(struct.unpack("<f", cx._memory().read(pointer, 4))[0])
    if name == "f64":
        return _canonical_nan(struct.unpack("<d", cx._memory().read(pointer, 8))[0])
    value = cx.read_int(pointer, _WIDTH[name], signed=name.startswith("s"))
    if name == "bool":
        return value != 0
    if name == "char":
        return _char(value)
    return value


def _canonical_nan(value: float) -> float:
    return math.nan if math.isnan(value) else value


def _char(code: int) -> str:
    if code >= 0x110000 or 0xD800 <= code <= 0xDFFF:
        raise Trap("invalid char", f"invalid `char` bit pattern: {code:#x} is not a Unicode scalar value")
    return chr(code)


def load_string_range(cx: AbiContext, pointer: int, tagged_units: int) -> str:
    """A string at ``pointer`` of ``tagged_units`` code units in the context's encoding."""
    encoding = cx.string_encoding
    if encoding == "utf8":
        alignment, length, codec = 1, tagged_units, "utf-8"
    elif encoding == "utf16":
        alignment, length, codec = 2, 2 * tagged_units, "utf-16-le"
    elif tagged_units & cx.utf16_tag:
        alignment, length, codec = 2, 2 * (tagged_units ^ cx.utf16_tag), "utf-16-le"
    else:
        alignment, length, codec = 2, tagged_units, "latin-1"
    if length > MAX_STRING_BYTE_LENGTH:
        raise Trap("string too long", f"canonical ABI: a string of {length} bytes is over the limit")
    cx.check_range(pointer, length, alignment, "string")
    try:
        return cx._memory().read(pointer, length).decode(codec)
    except UnicodeDecodeError as error:
        incomplete = error.reason == "unexpected end of data" and codec == "utf-8"
        first = "incomplete utf-8 byte sequence" if incomplete else f"invalid {codec}"
        raise Trap("invalid string", f"{first}: {error.reason}") from None


def load_list_range(cx: AbiContext, pointer: int, length: int, shape: ListShape) -> Any:
    element = shape.element
    byte_length = length * element.size
    if byte_length > MAX_LIST_BYTE_LENGTH:
        raise Trap("list too long", f"canonical ABI: a list of {byte_length} bytes is over the limit")
    cx.check_range(pointer, byte_length, element.alignment, "list")
    if shape.as_bytes:
        return cx._memory().read(pointer, length)
    return _finish_list(shape, [load(cx, pointer + i * element.size, element) for i in range(length)])


def _finish_list(shape: ListShape, items: list[Any]) -> Any:
    if shape.as_bytes:
        return bytes(items)
    if shape.kind == "map":
        return [tuple(item) for item in items]  # pairs in order: a map may repeat a key (the last one wins)
    return items


def _make_record(shape: RecordShape, values: list[Any]) -> Any:
    if shape.kind == "tuple":
        return tuple(values)
    return Record(dict(zip(shape.labels, values, strict=True)))


def _make_variant(shape: VariantShape, index: int, payload: Any) -> Any:
    kind = shape.kind
    if kind == "enum":
        return shape.labels[index]
    if kind == "option":
        if index == 0:
            return None
        inner = shape.cases[1]
        return Some(payload) if isinstance(inner, VariantShape) and inner.kind == "option" else payload
    if kind == "result":
        return Ok(payload) if index == 0 else Err(payload)
    return Variant(shape.labels[index], payload)


def _unpack_flags(bits: int, shape: FlagsShape) -> frozenset[str]:
    return frozenset(label for i, label in enumerate(shape.labels) if bits >> i & 1)


# --- storing (Python → memory) --------------------------------------------------------------------------------


def store(cx: AbiContext, value: Any, shape: Shape, pointer: int) -> None:
    """Write ``value`` of ``shape`` at ``pointer`` (aligned and in bounds: the caller allocated it)."""
    if isinstance(shape, PrimitiveShape):
        _store_primitive(cx, value, shape.name, pointer)
    elif isinstance(shape, StringShape):
        begin, units = store_string(cx, value)
        cx.write_int(pointer, begin, cx.pointer_size)
        cx.write_int(pointer + cx.pointer_size, units, cx.pointer_size)
    elif isinstance(shape, ListShape):
        items = _list_items(value, shape)
        if shape.length is not None:
            for i, item in enumerate(items):
                store(cx, item, shape.element, pointer + i * shape.element.size)
        else:
            begin, length = store_list(cx, items, shape)
            cx.write_int(pointer, begin, cx.pointer_size)
            cx.write_int(pointer + cx.pointer_size, length, cx.pointer_size)
    elif isinstance(shape, RecordShape):
        for item, offset, field_shape in zip(_record_values(value, shape), shape.offsets, shape.fields, strict=True):
            store(cx, item, field_shape, pointer + offset)
    elif isinstance(shape, VariantShape):
        index, payload = _variant_case(value, shape)
        cx.write_int(pointer, index, shape.discriminant_size)
        case = shape.cases[index]
        if case is not None:
            store(cx, payload, case, pointer + shape.payload_offset)
    elif isinstance(shape, FlagsShape):
        cx.write_int(pointer, _pack_flags(value, shape), shape.size)
    else:
        assert isinstance(shape, HandleShape)
        cx.write_int(pointer, cx.handles.lower(shape, value), 4)


def _store_primitive(cx: AbiContext, value: Any, name: str, pointer: int) -> None:
    if name == "f32":
        cx._memory().write(pointer, _f32_bytes(value))
    elif name == "f64":
        cx._memory().write(pointer, struct.pack("<d", _float(value, name)))
    else:
        cx.write_int(pointer, _integer(value, name), _WIDTH[name])


def _f32_bytes(value: Any) -> bytes:
    number = _float(value, "f32")
    if math.isnan(number):
        return (0x7FC00000).to_bytes(4, "little")
    try:
        return struct.pack("<f", number)
    except OverflowError:  # a finite double beyond f32's range rounds to infinity
        return struct.pack("<f", math.copysign(math.inf, number))


def _float(value: Any, name: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise TypeError(f"expected a number for {name}, got {type(value).__name__}")
    return float(value)


def _integer(value: Any, name: str) -> int:
    """A Python value as the integer the core value or memory holds (bool → 0/1, char → its code point)."""
    if name == "bool":
        if not isinstance(value, bool):
            raise TypeError(f"expected a bool, got {type(value).__name__}")
        return int(value)
    if name == "char":
        if not isinstance(value, str) or len(value) != 1 or 0xD800 <= ord(value) <= 0xDFFF:
            raise TypeError(f"expected one Unicode scalar value for char, got {value!r}")
        return ord(value)
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"expected an int for {name}, got {type(value).__name__}")
    low, high = _INTEGER_RANGES[name]
    if not low <= value < high:
        raise ValueError(f"{value} is out of range for {name}")
    return value


def store_string(cx: AbiContext, value: Any) -> tuple[int, int]:
    """Write a string in the context's encoding: (pointer, code units, tagged for latin1+utf16's UTF-16)."""
    if not isinstance(value, str):
        raise TypeError(f"expected a str, got {type(value).__name__}")
    encoding = cx.string_encoding
    try:
        if encoding == "utf8":
            data, alignment, units = value.encode("utf-8"), 1, None
        elif encoding == "utf16":
            data, alignment, units = value.encode("utf-16-le"), 2, None
        elif all(ord(char) < 256 for char in value):
            data, alignment, units = value.encode("latin-1"), 2, None
        else:
            data = value.encode("utf-16-le")
            alignment, units = 2, (len(data) // 2) | cx.utf16_tag
    except UnicodeEncodeError:
        raise ValueError("the string contains a lone surrogate, which no string encoding can carry") from None
    if len(data) > MAX_STRING_BYTE_LENGTH:
        raise ValueError(f"a string of {len(data)} bytes is over the canonical ABI's limit")
    if units is None:
        units = len(data) // (2 if encoding == "utf16" else 1)
    pointer = cx.allocate(len(data), alignment, "string")
    cx._memory().write(pointer, data)
    return pointer, units


def _list_items(value: Any, shape: ListShape) -> Sequence[Any]:
    if shape.kind == "map":
        if isinstance(value, Mapping):
            return list(value.items())
        return list(value)
    if shape.as_bytes and isinstance(value, bytes | bytearray | memoryview):
        items: Sequence[Any] = bytes(value)
    elif isinstance(value, str | bytes) or not isinstance(value, Iterable):
        raise TypeError(f"expected a sequence for a list, got {type(value).__name__}")
    else:
        items = list(value)
    if shape.length is not None and len(items) != shape.length:
        raise ValueError(f"expected {shape.length} elements for a fixed-length list, got {len(items)}")
    return items


def store_list(cx: AbiContext, items: Sequence[Any], shape: ListShape) -> tuple[int, int]:
    element = shape.element
    byte_length = len(items) * element.size
    if byte_length > MAX_LIST_BYTE_LENGTH:
        raise ValueError(f"a list of {byte_length} bytes is over the canonical ABI's limit")
    if shape.as_bytes:
        data = bytes(_integer(item, "u8") for item in items) if not isinstance(items, bytes) else items
        pointer = cx.allocate(len(data), 1, "list")
        cx._memory().write(pointer, data)
        return pointer, len(data)
    pointer = cx.allocate(byte_length, element.alignment, "list")
    for i, item in enumerate(items):
        store(cx, item, element, pointer + i * element.size)
    return pointer, len(items)


def _record_values(value: Any, shape: RecordShape) -> list[Any]:
    if shape.kind == "tuple":
        if isinstance(value, str | bytes) or not isinstance(value, Iterable):
            raise TypeError(f"expected a tuple, got {type(value).__name__}")
        items = list(value)
        if len(items) != len(shape.fields):
            raise ValueError(f"expected a tuple of {len(shape.fields)} values, got {len(items)}")
        return items
    values: list[Any] = []
    for label in shape.labels:
        if isinstance(value, Record):
            values.append(value.fields[label])
        elif isinstance(value, Mapping):
            if label in value:
                values.append(value[label])
            elif python_name(label) in value:
                values.append(value[python_name(label)])
            else:
                raise ValueError(f"record field `{label}` is missing")
        elif hasattr(value, python_name(label)):
            values.append(getattr(value, python_name(label)))
        else:
            raise TypeError(f"expected a record with field `{label}`, got {type(value).__name__}")
    return values


def _variant_case(value: Any, shape: VariantShape) -> tuple[int, Any]:
    kind = shape.kind
    if kind == "enum":
        label = value.value if isinstance(value, Enum) else value
        if label not in shape.labels:
            raise ValueError(f"{value!r} is not a case of the enum ({', '.join(shape.labels)})")
        return shape.labels.index(label), None
    if kind == "option":
        if value is None:
            return 0, None
        return 1, value.value if isinstance(value, Some) else value
    if kind == "result":
        if isinstance(value, Ok):
            return 0, value.value
        if isinstance(value, Err):
            return 1, value.value
        raise TypeError(f"expected Ok(...) or Err(...) for a result, got {type(value).__name__}")
    case = getattr(value, "case", None)
    if case not in shape.labels:
        raise ValueError(f"expected a Variant with a case of ({', '.join(shape.labels)}), got {value!r}")
    return shape.labels.index(case), getattr(value, "value", None)


def _pack_flags(value: Any, shape: FlagsShape) -> int:
    names = {str(getattr(item, "name", item)).lower().replace("_", "-") for item in value}
    unknown = names - set(shape.labels)
    if unknown:
        raise ValueError(f"unknown flags {sorted(unknown)} (known: {', '.join(shape.labels)})")
    return sum(1 << i for i, label in enumerate(shape.labels) if label in names)


# --- flat values ----------------------------------------------------------------------------------------------


class _FlatReader:
    """Core values in order; a variant's payload slot may hold a wider type than its case needs."""

    def __init__(self, values: Sequence[Any]) -> None:
        self.values = values
        self.position = 0

    def next(self) -> Any:
        value = self.values[self.position]
        self.position += 1
        return value


def lift_flat(cx: AbiContext, reader: _FlatReader, shape: Shape) -> Any:
    if isinstance(shape, PrimitiveShape):
        return _lift_flat_primitive(reader.next(), shape.name)
    if isinstance(shape, StringShape):
        pointer = reader.next()
        return load_string_range(cx, pointer, reader.next())
    if isinstance(shape, ListShape):
        if shape.length is not None:
            return _finish_list(shape, [lift_flat(cx, reader, shape.element) for _ in range(shape.length)])
        pointer = reader.next()
        return load_list_range(cx, pointer, reader.next(), shape)
    if isinstance(shape, RecordShape):
        return _make_record(shape, [lift_flat(cx, reader, field_shape) for field_shape in shape.fields])
    if isinstance(shape, VariantShape):
        index = reader.next() % (1 << 32)
        if index >= len(shape.labels):
            raise Trap(
                "invalid variant discriminant",
                f"invalid variant discriminant: case {index} of a {shape.kind} with {len(shape.labels)} cases",
            )
        slots = [reader.next() for _ in shape.flat[1:]]
        case = shape.cases[index]
        payload = None
        if case is not None:
            coerced = [
                _narrow(slot, want, have)
                for slot, want, have in zip(slots, shape.flat[1:], shape.case_flat[index], strict=False)
            ]
            payload = lift_flat(cx, _FlatReader(coerced), case)
        return _make_variant(shape, index, payload)
    if isinstance(shape, FlagsShape):
        return _unpack_flags(reader.next() % (1 << 32), shape)
    assert isinstance(shape, HandleShape)
    return cx.handles.lift(shape, reader.next() % (1 << 32))


def _lift_flat_primitive(value: Any, name: str) -> Any:
    if name in ("f32", "f64"):
        return _canonical_nan(float(value))
    width = 64 if name in ("u64", "s64") else 32
    bits = int(value) % (1 << width)
    if name == "bool":
        return bits != 0
    if name == "char":
        return _char(bits)
    size = _WIDTH[name] * 8
    bits %= 1 << size
    if name.startswith("s") and bits >= 1 << (size - 1):
        bits -= 1 << size
    return bits


def _narrow(value: Any, slot: str, case: str) -> Any:
    """A joined slot's core value as the case's own core type (CanonicalABI.md, ``lift_flat_variant``)."""
    if slot == case:
        return value
    bits = int(value)
    if case == "i32":
        return bits % (1 << 32)
    if case == "f32":
        return struct.unpack("<f", (bits % (1 << 32)).to_bytes(4, "little"))[0]
    return struct.unpack("<d", (bits % (1 << 64)).to_bytes(8, "little"))[0]  # f64 from i64


def lower_flat(cx: AbiContext, value: Any, shape: Shape) -> list[Any]:
    """The core values of ``value``; integers are unsigned (as core wasm values are kept here)."""
    if isinstance(shape, PrimitiveShape):
        name = shape.name
        if name == "f32":
            return [struct.unpack("<f", _f32_bytes(value))[0]]
        if name == "f64":
            number = _float(value, name)
            return [math.nan if math.isnan(number) else number]
        width = 64 if name in ("u64", "s64") else 32
        return [_integer(value, name) % (1 << width)]
    if isinstance(shape, StringShape):
        return list(store_string(cx, value))
    if isinstance(shape, ListShape):
        items = _list_items(value, shape)
        if shape.length is not None:
            return [core for item in items for core in lower_flat(cx, item, shape.element)]
        return list(store_list(cx, items, shape))
    if isinstance(shape, RecordShape):
        values = _record_values(value, shape)
        return [
            core
            for item, field_shape in zip(values, shape.fields, strict=True)
            for core in lower_flat(cx, item, field_shape)
        ]
    if isinstance(shape, VariantShape):
        index, payload = _variant_case(value, shape)
        case = shape.cases[index]
        flat = [] if case is None else lower_flat(cx, payload, case)
        widened = [
            _widen(core, have, want)
            for core, have, want in zip(flat, shape.case_flat[index], shape.flat[1:], strict=False)
        ]
        padding = [0.0 if slot in ("f32", "f64") else 0 for slot in shape.flat[1 + len(widened) :]]
        return [index, *widened, *padding]
    if isinstance(shape, FlagsShape):
        return [_pack_flags(value, shape)]
    assert isinstance(shape, HandleShape)
    return [cx.handles.lower(shape, value)]


def _widen(value: Any, case: str, slot: str) -> Any:
    """A case's core value in a joined slot: floats by their bits, i32 zero-extended to i64."""
    if case == slot:
        return value
    if case == "f32":
        return int.from_bytes(struct.pack("<f", value), "little")
    if case == "f64":
        return int.from_bytes(struct.pack("<d", value), "little")
    return value  # i32 into i64


# --- whole parameter and result lists -------------------------------------------------------------------------


def lift_values(cx: AbiContext, flat: Sequence[Any], shapes: Sequence[Shape], limit: int) -> list[Any]:
    """Values from core values; more than ``limit`` flat values arrive as one pointer to a tuple in memory."""
    reader = _FlatReader(flat)
    if sum(len(shape.flat) for shape in shapes) > limit:
        pointer = reader.next()
        alignment, offsets, size = _tuple_layout(shapes)
        cx.check_range(pointer, size, alignment, "parameter or result tuple")
        return [load(cx, pointer + offset, shape) for offset, shape in zip(offsets, shapes, strict=True)]
    return [lift_flat(cx, reader, shape) for shape in shapes]


def lower_values(
    cx: AbiContext, values: Sequence[Any], shapes: Sequence[Shape], limit: int, out_pointer: int | None = None
) -> list[Any]:
    """Core values of ``values``; more than ``limit`` go through memory (at ``out_pointer``, or a new tuple)."""
    if len(values) != len(shapes):
        raise TypeError(f"expected {len(shapes)} values, got {len(values)}")
    if sum(len(shape.flat) for shape in shapes) > limit:
        alignment, offsets, size = _tuple_layout(shapes)
        if out_pointer is None:
            pointer = cx.allocate(size, alignment, "tuple")
        else:
            pointer = out_pointer
            cx.check_range(pointer, size, alignment, "result")
        for value, offset, shape in zip(values, offsets, shapes, strict=True):
            store(cx, value, shape, pointer + offset)
        return [] if out_pointer is not None else [pointer]
    return [core for value, shape in zip(values, shapes, strict=True) for core in lower_flat(cx, value, shape)]


def _tuple_layout(shapes: Sequence[Shape]) -> tuple[int, list[int], int]:
    offsets: list[int] = []
    size = 0
    alignment = 1
    for shape in shapes:
        size = align_to(size, shape.alignment)
        offsets.append(size)
        size += shape.size
        alignment = max(alignment, shape.alignment)
    return alignment, offsets, align_to(size, alignment)
