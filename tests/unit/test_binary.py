"""LEB128 and the binary reader's limits, and decoder error positions."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from wasmbox.binary.decode import decode_module
from wasmbox.binary.leb128 import encode_signed, encode_unsigned
from wasmbox.binary.reader import Reader
from wasmbox.errors import MalformedError


@given(st.integers(0, 2**32 - 1))
def test_unsigned_round_trip(value: int) -> None:
    assert Reader(encode_unsigned(value)).u32() == value


@given(st.integers(-(2**63), 2**63 - 1))
def test_signed_round_trip(value: int) -> None:
    assert Reader(encode_signed(value)).signed(64) == value


def test_u32_limits() -> None:
    assert Reader(b"\xff\xff\xff\xff\x0f").u32() == 2**32 - 1
    with pytest.raises(MalformedError, match="integer too large"):
        Reader(b"\xff\xff\xff\xff\x1f").u32()
    with pytest.raises(MalformedError, match="integer representation too long"):
        Reader(b"\x80\x80\x80\x80\x80\x00").u32()
    with pytest.raises(MalformedError, match="unexpected end"):
        Reader(b"\x80").u32()


def test_signed_unused_bits_must_extend_the_sign() -> None:
    assert Reader(b"\xff\xff\xff\xff\x7f").signed(32) == -1
    with pytest.raises(MalformedError, match="integer too large"):
        Reader(b"\xff\xff\xff\xff\x4f").signed(32)


def test_errors_carry_the_byte_offset() -> None:
    data = b"\x00asm\x01\x00\x00\x00\x0e\x01\x00"
    with pytest.raises(MalformedError) as info:
        decode_module(data)
    assert info.value.offset == 8
    assert info.value.message == "malformed section id"
    assert "@0x8" in str(info.value)


def test_function_types_follow_a_module_that_grows() -> None:
    """``func_types`` is made once per shape of the module (the translation worker asks for it per
    function): a function added later is in the next answer, and a caller changing the list it got
    changes nothing for the next caller."""
    from wasmbox.ir.module import Function, Module
    from wasmbox.ir.types import I32, FuncType

    module = Module(types=[FuncType((), ()), FuncType((I32,), (I32,))])
    module.funcs.append(Function(0, [], []))
    first = module.func_types()
    assert first == [FuncType((), ())]
    first.append(FuncType((I32,), ()))
    module.funcs.append(Function(1, [], []))
    assert module.func_types() == [FuncType((), ()), FuncType((I32,), (I32,))]
