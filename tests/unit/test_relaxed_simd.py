"""Relaxed SIMD (Wasm 3.0): the 20 instructions in the toolchain, and the one result per instruction
that wasmbox chooses among those the spec permits (wasmbox.simd documents it), the same on every
engine and the same as wasmtime's deterministic relaxed SIMD."""

from __future__ import annotations

import random
import struct

import pytest

from wasmbox import Instance, Module, Store
from wasmbox.binary.decode import decode_module
from wasmbox.binary.encode import encode_module
from wasmbox.errors import MalformedError
from wasmbox.ir.instructions import BY_NAME, WASM_2_0
from wasmbox.text.parser import parse_module_text
from wasmbox.text.printer import print_module
from wasmbox.validate import validate_module

ENGINES = ["interp", "baseline", "native"]
UNARY = [
    "i32x4.relaxed_trunc_f32x4_s",
    "i32x4.relaxed_trunc_f32x4_u",
    "i32x4.relaxed_trunc_f64x2_s_zero",
    "i32x4.relaxed_trunc_f64x2_u_zero",
]
BINARY = [
    "i8x16.relaxed_swizzle",
    "f32x4.relaxed_min",
    "f32x4.relaxed_max",
    "f64x2.relaxed_min",
    "f64x2.relaxed_max",
    "i16x8.relaxed_q15mulr_s",
    "i16x8.relaxed_dot_i8x16_i7x16_s",
]
TERNARY = [
    "f32x4.relaxed_madd",
    "f32x4.relaxed_nmadd",
    "f64x2.relaxed_madd",
    "f64x2.relaxed_nmadd",
    "i8x16.relaxed_laneselect",
    "i16x8.relaxed_laneselect",
    "i32x4.relaxed_laneselect",
    "i64x2.relaxed_laneselect",
    "i32x4.relaxed_dot_i8x16_i7x16_add_s",
]


def _function(name: str, operands: int) -> str:
    """An export that applies ``name`` to the v128s at memory 0, 16, 32 and returns the address of the result."""
    loads = " ".join(f"(v128.load offset={16 * i} (local.get 0))" for i in range(operands))
    return (
        f'(func (export "{name}") (param i32) (result i32) (v128.store (i32.const 64) ({name} {loads})) (i32.const 64))'
    )


SOURCE = (
    '(module (memory (export "memory") 1) '
    + " ".join(
        [_function(n, 1) for n in UNARY] + [_function(n, 2) for n in BINARY] + [_function(n, 3) for n in TERNARY]
    )
    + ")"
)


def test_all_twenty_instructions_are_in_the_table() -> None:
    relaxed = sorted(op.code for op in BY_NAME.values() if op.feature == "relaxed-simd")
    assert relaxed == list(range(0x100, 0x114))
    assert len(UNARY + BINARY + TERNARY) == 20


def test_round_trip_and_encoding() -> None:
    module = parse_module_text(SOURCE)
    validate_module(module)
    binary = encode_module(module)
    assert decode_module(binary) == module
    assert encode_module(parse_module_text(print_module(module))) == binary
    wasmtime = pytest.importorskip("wasmtime", reason="wasmtime-py is the encoding oracle")
    assert binary == wasmtime.wat2wasm(SOURCE)


def test_wasm_2_0_does_not_know_them() -> None:
    with pytest.raises(MalformedError, match="feature relaxed-simd is not enabled"):
        parse_module_text(SOURCE, features=WASM_2_0)
    with pytest.raises(MalformedError):
        decode_module(encode_module(parse_module_text(SOURCE)), WASM_2_0)


def _run(engine: str, name: str, *vectors: bytes) -> bytes:
    instance = Instance(Store(engine=engine), Module(SOURCE))
    memory = instance.exports["memory"]
    memory.write(0, b"".join(vectors))
    return bytes(memory.read(instance.exports[name](0), 16))


@pytest.mark.parametrize("engine", ENGINES)
def test_multiply_add_is_fused(engine: str) -> None:
    """(1 + 2^-23)(1 - 2^-23) - 1 is -2^-46 exactly; rounding the product first would give 0."""
    a = struct.pack("<4f", 1 + 2**-23, 2.0, 0.0, -0.0)
    b = struct.pack("<4f", 1 - 2**-23, 3.0, -1.0, 0.0)
    c = struct.pack("<4f", -1.0, 1.0, -0.0, 0.0)
    madd = struct.unpack("<4f", _run(engine, "f32x4.relaxed_madd", a, b, c))
    assert madd[0] == -(2.0**-46)
    assert madd[1] == 7.0
    assert str(madd[2]) == "-0.0"  # (0 * -1) + -0: both addends are -0
    assert str(madd[3]) == "0.0"  # (-0 * 0) + 0: one addend is +0
    nmadd = struct.unpack("<4f", _run(engine, "f32x4.relaxed_nmadd", a, b, c))
    assert nmadd[0] == -2.0  # -(1 - 2^-46) - 1, rounded once to f32
    assert nmadd[1] == -5.0


@pytest.mark.parametrize("engine", ENGINES)
def test_dot_products_are_signed_and_wrap(engine: str) -> None:
    a = bytes([0x80, 0x80] + [0] * 14)  # -128, -128
    b = bytes([0x80, 0x80] + [0] * 14)
    assert struct.unpack("<8h", _run(engine, "i16x8.relaxed_dot_i8x16_i7x16_s", a, b))[0] == -32768
    b = bytes([0x81, 0x81] + [0] * 14)  # -127 as signed (129 as unsigned)
    assert struct.unpack("<8h", _run(engine, "i16x8.relaxed_dot_i8x16_i7x16_s", a, b))[0] == 32512
    c = struct.pack("<4i", 1, 2, 3, 4)
    a4, b4 = bytes([0x80] * 4 + [0] * 12), bytes([0x81] * 4 + [0] * 12)
    assert struct.unpack("<4i", _run(engine, "i32x4.relaxed_dot_i8x16_i7x16_add_s", a4, b4, c)) == (65025, 2, 3, 4)


@pytest.mark.parametrize("engine", ENGINES)
def test_strict_counterparts(engine: str) -> None:
    indices = bytes([0, 17, 255, 15] + [1] * 12)
    table = bytes(range(100, 116))
    assert _run(engine, "i8x16.relaxed_swizzle", table, indices)[:4] == bytes([100, 0, 0, 115])
    floats = struct.pack("<4f", float("nan"), 3e9, -3e9, -1.5)
    assert struct.unpack("<4i", _run(engine, "i32x4.relaxed_trunc_f32x4_s", floats)) == (0, 2**31 - 1, -(2**31), -1)
    mask = bytes([0xF0] * 16)
    assert _run(engine, "i8x16.relaxed_laneselect", bytes([0xAA] * 16), bytes([0x55] * 16), mask) == bytes([0xA5] * 16)
    zeros = struct.pack("<2d", -0.0, 0.0), struct.pack("<2d", 0.0, -0.0)
    assert [str(x) for x in struct.unpack("<2d", _run(engine, "f64x2.relaxed_min", *zeros))] == ["-0.0", "-0.0"]


def _random_vector(generator: random.Random) -> bytes:
    kind = generator.randrange(3)
    if kind == 0:
        return bytes(generator.randrange(256) for _ in range(16))
    specials = [float("inf"), float("nan"), -0.0, 0.0, 3e38, 1e-45, generator.uniform(-2, 2)]
    if kind == 1:
        return struct.pack("<4f", *(generator.choice([*specials, generator.uniform(-1e9, 1e9)]) for _ in range(4)))
    return struct.pack("<2d", *(generator.choice([*specials, 1e308, generator.uniform(-1e20, 1e20)]) for _ in range(2)))


def _same(name: str, ours: bytes, theirs: bytes) -> bool:
    """Equal, counting any NaN equal to any NaN in float results (NaN payloads may differ)."""
    if ours == theirs:
        return True
    shape = {"f32": "<4f", "f64": "<2d"}.get(name[:3])
    if shape is None:
        return False
    pairs = zip(struct.unpack(shape, ours), struct.unpack(shape, theirs), strict=True)
    return all(x == y or (x != x and y != y) for x, y in pairs)


@pytest.mark.parametrize("engine", ENGINES)
def test_agrees_with_wasmtime_deterministic_mode(engine: str) -> None:
    wasmtime = pytest.importorskip("wasmtime", reason="wasmtime-py is the oracle")
    config = wasmtime.Config()
    config.wasm_relaxed_simd = True
    config.wasm_relaxed_simd_deterministic = True
    peer_engine = wasmtime.Engine(config)
    peer_store = wasmtime.Store(peer_engine)
    peer = wasmtime.Instance(peer_store, wasmtime.Module(peer_engine, SOURCE), []).exports(peer_store)
    ours = Instance(Store(engine=engine), Module(SOURCE)).exports
    generator = random.Random(7)
    mismatches = []
    for _ in range(150):
        data = b"".join(_random_vector(generator) for _ in range(3))
        peer["memory"].write(peer_store, data, 0)
        ours["memory"].write(0, data)
        for name in UNARY + BINARY + TERNARY:
            peer[name](peer_store, 0)
            theirs = bytes(peer["memory"].read(peer_store, 64, 80))
            mine = bytes(ours["memory"].read(ours[name](0), 16))
            if not _same(name, mine, theirs):
                mismatches.append((name, data.hex(), mine.hex(), theirs.hex()))
    assert not mismatches, mismatches[:5]
