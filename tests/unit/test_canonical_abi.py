"""The canonical ABI: layouts as CanonicalABI.md computes them, values across memory and flat core values."""

from __future__ import annotations

import math
import struct
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from wasmbox.canonical_abi import (
    AbiContext,
    Err,
    Ok,
    Record,
    ShapeError,
    Some,
    Variant,
    lift_flat,
    lift_values,
    load,
    lower_flat,
    lower_values,
    shape_of,
    store,
)
from wasmbox.canonical_abi.codec import _FlatReader
from wasmbox.canonical_abi.shapes import RecordShape, VariantShape
from wasmbox.errors import Trap
from wasmbox.wit import parse_wit_text
from wasmbox.wit.model import Type

TYPES = """
package test:abi;
interface types {
    record small { a: u8, b: u32, c: u16 }
    record person { name: string, age: u8, tags: list<string>, scores: list<f64> }
    variant mixed { a(f32), b(f64), c(u8), d }
    variant shape { circle(f32), square(u32), nothing }
    enum color { red, green, blue }
    flags nine { f0, f1, f2, f3, f4, f5, f6, f7, f8 }
    flags four { read, write, exec, sticky }
    type pair = tuple<u8, u64>;
    type maybe-float = option<f32>;
    type float-or-big = result<f32, u64>;
    type nested = option<option<u32>>;
    type fixed = list<u8, 4>;
    type blob = list<u8>;
    type text = string;
    type dictionary = map<string, u32>;
    record everything {
        flag: bool, c: char, i8v: s8, i64v: s64, u64v: u64, f: f32, d: f64,
        who: person, shapes: list<shape>, col: color, perms: four, opt: option<string>,
        res: result<string, color>, nested: nested, fixed: fixed, blob: blob, pair: pair,
    }
}
"""


def wit_type(name: str) -> Type:
    return parse_wit_text(TYPES).root.interfaces["types"].types[name]


class BumpMemory:
    """A linear memory with a bump allocator as its ``realloc`` (recording each call)."""

    def __init__(self, size: int = 1 << 16) -> None:
        self.data = bytearray(size)
        self.next = 8
        self.calls: list[tuple[int, int, int, int]] = []

    def read(self, offset: int, length: int) -> bytes:
        return bytes(self.data[offset : offset + length])

    def write(self, offset: int, data: bytes) -> None:
        self.data[offset : offset + len(data)] = data

    @property
    def data_len(self) -> int:
        return len(self.data)

    def realloc(self, old: int, old_size: int, alignment: int, size: int) -> int:
        self.calls.append((old, old_size, alignment, size))
        pointer = -(-self.next // alignment) * alignment
        self.next = pointer + size
        return pointer


def context(encoding: str = "utf8", pointer_size: int = 4) -> tuple[AbiContext, BumpMemory]:
    memory = BumpMemory()
    return AbiContext(memory, memory.realloc, encoding, pointer_size), memory


# --- layout -----------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "alignment", "size", "flat"),
    [
        ("small", 4, 12, ["i32", "i32", "i32"]),
        ("pair", 8, 16, ["i32", "i64"]),
        ("text", 4, 8, ["i32", "i32"]),
        ("maybe-float", 4, 8, ["i32", "f32"]),
        ("float-or-big", 8, 16, ["i32", "i64"]),
        ("mixed", 8, 16, ["i32", "i64"]),  # join(f32, f64, i32) is i64
        ("shape", 4, 8, ["i32", "i32"]),  # join(f32, i32) is i32
        ("color", 1, 1, ["i32"]),
        ("nine", 2, 2, ["i32"]),
        ("four", 1, 1, ["i32"]),
        ("fixed", 1, 4, ["i32", "i32", "i32", "i32"]),
        ("blob", 4, 8, ["i32", "i32"]),
        ("dictionary", 4, 8, ["i32", "i32"]),
    ],
)
def test_layout_is_the_canonical_abis(name: str, alignment: int, size: int, flat: list[str]) -> None:
    shape = shape_of(wit_type(name))
    assert (shape.alignment, shape.size, shape.flat) == (alignment, size, flat)


def test_record_fields_are_aligned_in_order() -> None:
    shape = shape_of(wit_type("small"))
    assert isinstance(shape, RecordShape) and shape.offsets == [0, 4, 8]


def test_64_bit_memories_have_8_byte_pointers() -> None:
    shape = shape_of(wit_type("text"), pointer_size=8)
    assert (shape.alignment, shape.size, shape.flat) == (8, 16, ["i64", "i64"])


@pytest.mark.parametrize(("cases", "size"), [(2, 1), (256, 1), (257, 2), (65536, 2), (65537, 4)])
def test_discriminants_are_the_smallest_integer_numbering_every_case(cases: int, size: int) -> None:
    labels = ", ".join(f"c{i}" for i in range(cases))
    enum = parse_wit_text(f"package a:b; interface i {{ enum e {{ {labels} }} }}").root.interfaces["i"].types["e"]
    shape = shape_of(enum)
    assert isinstance(shape, VariantShape) and shape.discriminant_size == size


def test_flags_over_32_labels_cannot_be_laid_out() -> None:
    labels = ", ".join(f"g{i}" for i in range(33))
    flags = parse_wit_text(f"package a:b; interface i {{ flags f {{ {labels} }} }}").root.interfaces["i"].types["f"]
    with pytest.raises(ShapeError, match="1 to 32"):
        shape_of(flags)


# --- values round trip ------------------------------------------------------------------------------------------

EVERYTHING = Record(
    {
        "flag": True,
        "c": "π",
        "i8v": -128,
        "i64v": -(1 << 63),
        "u64v": (1 << 64) - 1,
        "f": 1.5,
        "d": -2.25e300,
        "who": Record(name="Zoë", age=41, tags=["a", "ünïcode", ""], scores=[1.0, -0.5]),
        "shapes": [Variant("circle", 2.5), Variant("square", 7), Variant("nothing")],
        "col": "blue",
        "perms": frozenset({"read", "exec"}),
        "opt": "present",
        "res": Err("green"),
        "nested": Some(None),
        "fixed": b"\x01\x02\x03\x04",  # lists of u8 are bytes, fixed-length ones too
        "blob": b"\x00\xffbytes",
        "pair": (255, 1 << 40),
    }
)


@pytest.mark.parametrize("encoding", ["utf8", "utf16", "latin1+utf16"])
def test_a_value_of_every_kind_survives_memory(encoding: str) -> None:
    cx, memory = context(encoding)
    shape = shape_of(wit_type("everything"))
    pointer = memory.realloc(0, 0, shape.alignment, shape.size)
    store(cx, EVERYTHING, shape, pointer)
    assert load(cx, pointer, shape) == EVERYTHING


@pytest.mark.parametrize("encoding", ["utf8", "utf16", "latin1+utf16"])
def test_a_value_of_every_kind_survives_flat_values(encoding: str) -> None:
    cx, _ = context(encoding)
    shape = shape_of(wit_type("everything"))
    flat = lower_flat(cx, EVERYTHING, shape)
    assert len(flat) == len(shape.flat)
    assert lift_flat(cx, _FlatReader(flat), shape) == EVERYTHING


def test_nested_options_use_some_only_where_none_would_be_ambiguous() -> None:
    cx, _ = context()
    shape = shape_of(wit_type("nested"))
    for value in (None, Some(None), 5):
        assert lift_flat(cx, _FlatReader(lower_flat(cx, value, shape)), shape) == (Some(5) if value == 5 else value)


def test_records_are_lowered_from_mappings_and_objects_too() -> None:
    cx, _ = context()
    shape = shape_of(wit_type("small"))

    class Small:
        a, b, c = 1, 2, 3

    assert lower_flat(cx, {"a": 1, "b": 2, "c": 3}, shape) == lower_flat(cx, Small(), shape) == [1, 2, 3]


def test_variant_payloads_share_joined_slots_by_their_bits() -> None:
    cx, _ = context()
    shape = shape_of(wit_type("mixed"))
    flat = lower_flat(cx, Variant("a", 1.5), shape)
    assert flat == [0, int.from_bytes(struct.pack("<f", 1.5), "little")]
    assert lift_flat(cx, _FlatReader(flat), shape) == Variant("a", 1.5)
    assert lift_flat(cx, _FlatReader(lower_flat(cx, Variant("b", -0.1), shape)), shape) == Variant("b", -0.1)
    assert lower_flat(cx, Variant("d"), shape) == [3, 0]


def test_latin1_utf16_strings_tag_their_length_when_they_need_utf16() -> None:
    cx, memory = context("latin1+utf16")
    text = shape_of(wit_type("text"))
    assert lower_flat(cx, "café", text)[1] == 4  # all below U+0100: Latin-1, untagged
    pointer, tagged = lower_flat(cx, "π≈3", text)
    assert tagged == 3 | 1 << 31
    assert memory.read(pointer, 6) == "π≈3".encode("utf-16-le")


def test_strings_are_allocated_once_at_their_encoded_size() -> None:
    cx, memory = context("utf8")
    lower_flat(cx, "ünï", shape_of(wit_type("text")))
    assert memory.calls == [(0, 0, 1, 5)]


def test_nan_is_canonical_in_memory_and_when_lifted() -> None:
    cx, memory = context()
    shape = shape_of(wit_type("maybe-float"))
    store(cx, math.nan, shape, 16)
    assert memory.read(20, 4) == (0x7FC00000).to_bytes(4, "little")
    memory.write(20, (0x7FA12345).to_bytes(4, "little"))  # a NaN with a payload
    assert math.isnan(load(cx, 16, shape))


@settings(max_examples=200, deadline=None)
@given(
    st.text(),
    st.integers(0, (1 << 64) - 1),
    st.integers(-(1 << 63), (1 << 63) - 1),
    st.floats(allow_nan=False, width=32),
    st.sampled_from(["utf8", "utf16", "latin1+utf16"]),
)
def test_any_string_and_integer_round_trip(text: str, unsigned: int, signed: int, single: float, encoding: str) -> None:
    text = text.encode("utf-8", "replace").decode("utf-8")  # no lone surrogates: no encoding carries them
    wit = "package a:b; interface i { record r { s: string, u: u64, i: s64, f: f32, o: option<string> } }"
    shape = shape_of(parse_wit_text(wit).root.interfaces["i"].types["r"])
    value = Record(s=text, u=unsigned, i=signed, f=single, o=text or None)
    cx, memory = context(encoding)
    assert lift_flat(cx, _FlatReader(lower_flat(cx, value, shape)), shape) == value
    pointer = memory.realloc(0, 0, shape.alignment, shape.size)
    store(cx, value, shape, pointer)
    assert load(cx, pointer, shape) == value


# --- parameter lists --------------------------------------------------------------------------------------------


def test_more_than_the_flat_limit_goes_through_memory_as_a_tuple() -> None:
    cx, memory = context()
    u32 = shape_of(parse_wit_text("package a:b; interface i { type t = u32; }").root.interfaces["i"].types["t"])
    values = list(range(17))
    flat = lower_values(cx, values, [u32] * 17, limit=16)
    assert len(flat) == 1 and memory.calls == [(0, 0, 4, 68)]
    assert memory.read(flat[0], 8) == b"\x00\x00\x00\x00\x01\x00\x00\x00"
    assert lift_values(cx, flat, [u32] * 17, limit=16) == values
    assert lower_values(cx, values[:16], [u32] * 16, limit=16) == values[:16]


def test_results_can_be_written_where_the_caller_says() -> None:
    cx, memory = context()
    text = shape_of(wit_type("text"))
    assert lower_values(cx, ["hi"], [text], limit=1, out_pointer=64) == []
    pointer, length = struct.unpack("<II", memory.read(64, 8))
    assert memory.read(pointer, length) == b"hi"


# --- what a guest can get wrong: traps --------------------------------------------------------------------------


def write_string_header(memory: BumpMemory, at: int, pointer: int, units: int) -> None:
    memory.write(at, struct.pack("<II", pointer, units))


@pytest.mark.parametrize(
    ("setup", "type_name", "encoding", "message"),
    [
        (lambda m: m.write(0, (0xD800).to_bytes(4, "little")), None, "utf8", "invalid `char` bit pattern"),
        (lambda m: m.write(0, bytes([3])), "color", "utf8", "invalid variant discriminant: case 3 of a enum"),
        (
            lambda m: write_string_header(m, 0, 101, 2),
            "text",
            "utf16",
            "unaligned pointer: string pointer 101 is not 2",
        ),
        (lambda m: write_string_header(m, 0, 65530, 10), "text", "utf8", "string content out-of-bounds"),
        (lambda m: (write_string_header(m, 0, 16, 2), m.write(16, b"\xc3\x28")), "text", "utf8", "invalid utf-8"),
        (lambda m: write_string_header(m, 0, 16, 1 << 28), "text", "utf8", "over the limit"),
        (lambda m: write_string_header(m, 0, 16, 1 << 27), "blob", "utf8", "list content out-of-bounds"),
        (lambda m: (write_string_header(m, 0, 16, 1), m.write(16, b"\xc3")), "text", "utf8", "incomplete utf-8"),
    ],
)
def test_bad_guest_values_trap(setup: Any, type_name: str | None, encoding: str, message: str) -> None:
    cx, memory = context(encoding)
    setup(memory)
    if type_name is None:
        wit = "package a:b; interface i { type c = char; }"
        shape = shape_of(parse_wit_text(wit).root.interfaces["i"].types["c"])
    else:
        shape = shape_of(wit_type(type_name))
    with pytest.raises(Trap, match=message):
        load(cx, 0, shape)


def test_a_realloc_returning_a_bad_pointer_traps() -> None:
    memory = BumpMemory()
    cx = AbiContext(memory, lambda old, size, alignment, new: 65535, "utf8")
    with pytest.raises(Trap, match="realloc return: beyond end of memory"):
        lower_flat(cx, "too far", shape_of(wit_type("text")))


def test_flat_discriminants_out_of_range_trap() -> None:
    cx, _ = context()
    with pytest.raises(Trap, match="case 7"):
        lift_flat(cx, _FlatReader([7, 0]), shape_of(wit_type("shape")))


# --- what a host can get wrong: Python errors, nothing written --------------------------------------------------


@pytest.mark.parametrize(
    ("type_name", "value", "error"),
    [
        ("small", Record(a=300, b=0, c=0), ValueError),
        ("small", Record(a="1", b=0, c=0), TypeError),
        ("small", {"a": 1, "b": 2}, ValueError),
        ("color", "purple", ValueError),
        ("four", {"read", "fly"}, ValueError),
        ("float-or-big", 1.0, TypeError),
        ("fixed", [1, 2, 3], ValueError),
        ("text", b"bytes", TypeError),
        ("text", "\ud800", ValueError),
        ("shape", Variant("hexagon"), ValueError),
    ],
)
def test_bad_host_values_raise_python_errors(type_name: str, value: Any, error: type[Exception]) -> None:
    cx, memory = context()
    with pytest.raises(error):
        lower_flat(cx, value, shape_of(wit_type(type_name)))
    assert memory.calls == []


def test_results_lift_to_ok_and_err() -> None:
    cx, _ = context()
    shape = shape_of(wit_type("float-or-big"))
    assert lift_flat(cx, _FlatReader(lower_flat(cx, Ok(2.0), shape)), shape) == Ok(2.0)
    assert lift_flat(cx, _FlatReader(lower_flat(cx, Err(7), shape)), shape) == Err(7)
