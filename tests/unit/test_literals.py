"""Numeric literals: exact rounding, NaN payloads, ranges."""

from __future__ import annotations

import struct

import pytest
from hypothesis import given
from hypothesis import strategies as st

from wasmbox.text.literals import F32_FORMAT, F64_FORMAT, LiteralError, parse_float, parse_int, parse_uint
from wasmbox.text.printer import format_float


def f32_bits(value: float) -> int:
    return int(struct.unpack("<I", struct.pack("<f", value))[0])


def test_f32_rounds_once_from_the_exact_value() -> None:
    # 1 + 2^-24 + 2^-60 is just above the halfway point between two f32s:
    # rounding through f64 first would drop the 2^-60 and round to even (down).
    assert parse_float("0x1.000001000000001p0", F32_FORMAT) == 0x3F800001
    assert parse_float("0x1.000001p0", F32_FORMAT) == 0x3F800000  # exact tie: to even


def test_decimal_f32_matches_struct_rounding_on_ordinary_values() -> None:
    for text in ["0.1", "3.4028234e38", "1.17549435e-38", "1e-45", "123456.789"]:
        assert parse_float(text, F32_FORMAT) == f32_bits(float(text))


def test_overflow_is_out_of_range_but_largest_finite_is_not() -> None:
    assert parse_float("0x1.fffffep127", F32_FORMAT) == 0x7F7FFFFF
    with pytest.raises(LiteralError, match="constant out of range"):
        parse_float("0x1.ffffffp127", F32_FORMAT)
    with pytest.raises(LiteralError, match="constant out of range"):
        parse_float("1e309", F64_FORMAT)


def test_nan_payloads_and_signs() -> None:
    assert parse_float("nan", F32_FORMAT) == 0x7FC00000
    assert parse_float("-nan:0x1", F32_FORMAT) == 0xFF800001
    assert parse_float("nan:0x8_0000_0000_0001", F64_FORMAT) == 0x7FF8000000000001
    with pytest.raises(LiteralError):
        parse_float("nan:0x0", F32_FORMAT)


def test_integer_ranges() -> None:
    assert parse_int("0xffffffff", 32) == -1
    assert parse_int("-0x8000_0000", 32) == -(2**31)
    with pytest.raises(LiteralError, match="out of range"):
        parse_int("+0x80000000", 32)
    with pytest.raises(LiteralError, match="out of range"):
        parse_int("0x1_0000_0000", 32)
    with pytest.raises(LiteralError) as info:
        parse_int("1__0", 32)
    assert info.value.syntax
    assert parse_uint("0x10") == 16


@given(st.integers(0, 2**32 - 1))
def test_f32_printing_round_trips_every_bit_pattern(bits: int) -> None:
    assert parse_float(format_float(bits, F32_FORMAT), F32_FORMAT) == bits


@given(st.integers(0, 2**64 - 1))
def test_f64_printing_round_trips_every_bit_pattern(bits: int) -> None:
    assert parse_float(format_float(bits, F64_FORMAT), F64_FORMAT) == bits
