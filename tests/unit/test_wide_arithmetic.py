"""Wide arithmetic (``i64.add128``, ``i64.sub128``, ``i64.mul_wide_s``, ``i64.mul_wide_u``) in the
toolchain and on every engine: 128-bit values as (low, high) i64 pairs."""

from __future__ import annotations

import random
from pathlib import Path

import pytest

from wasmbox import Instance, Module, Store
from wasmbox.binary.decode import decode_module
from wasmbox.binary.encode import encode_module
from wasmbox.errors import MalformedError, ValidationError
from wasmbox.ir.instructions import WASM_2_0, WIDE_ARITHMETIC
from wasmbox.text.parser import parse_module_text
from wasmbox.text.printer import print_module
from wasmbox.validate import validate_module
from wasmbox.wast import run_script

ENGINES = ["interp", "baseline", "native", "tiered"]
WIDE = """(module
  (func (export "add128") (param i64 i64 i64 i64) (result i64 i64)
    (i64.add128 (local.get 0) (local.get 1) (local.get 2) (local.get 3)))
  (func (export "sub128") (param i64 i64 i64 i64) (result i64 i64)
    (i64.sub128 (local.get 0) (local.get 1) (local.get 2) (local.get 3)))
  (func (export "mul_wide_s") (param i64 i64) (result i64 i64)
    (i64.mul_wide_s (local.get 0) (local.get 1)))
  (func (export "mul_wide_u") (param i64 i64) (result i64 i64)
    (i64.mul_wide_u (local.get 0) (local.get 1)))
  ;; The results as operands of later instructions: the low half minus the high half.
  (func (export "mul_then_sub") (param i64 i64) (result i64)
    (i64.mul_wide_u (local.get 0) (local.get 1))
    (local.set 0)
    (local.get 0)
    (i64.sub))
)"""
M64 = (1 << 64) - 1
EDGES = [0, 1, 2, M64, M64 - 1, 1 << 63, (1 << 63) - 1, 0x1234_5678_9ABC_DEF0]


def halves(value: int) -> tuple[int, int]:
    value %= 1 << 128
    return value & M64, value >> 64


def unsigned(results: object) -> tuple[int, ...]:
    """The API gives i64 results signed, as wasmtime does; compare bit patterns."""
    return tuple(value & M64 for value in results)  # type: ignore[attr-defined]


def signed(value: int) -> int:
    return value - (1 << 64) if value >> 63 else value


def operands(count: int) -> list[tuple[int, ...]]:
    chooser = random.Random(15)
    cases = [tuple(chooser.choice(EDGES) for _ in range(count)) for _ in range(30)]
    cases += [tuple(chooser.getrandbits(64) for _ in range(count)) for _ in range(30)]
    return cases


@pytest.mark.parametrize("engine", ENGINES)
def test_wide_arithmetic_on_every_engine(engine: str) -> None:
    exports = Instance(Store(engine=engine), Module(WIDE)).exports
    for a0, a1, b0, b1 in operands(4):
        first, second = a0 | a1 << 64, b0 | b1 << 64
        assert unsigned(exports["add128"](a0, a1, b0, b1)) == halves(first + second)
        assert unsigned(exports["sub128"](a0, a1, b0, b1)) == halves(first - second)
    for x, y in operands(2):
        assert unsigned(exports["mul_wide_u"](x, y)) == halves(x * y)
        assert unsigned(exports["mul_wide_s"](x, y)) == halves(signed(x) * signed(y))
        low, high = halves(x * y)
        assert exports["mul_then_sub"](x, y) & M64 == (low - high) & M64


def test_wide_arithmetic_round_trips() -> None:
    module = parse_module_text(WIDE)
    binary = encode_module(module)
    for code in (19, 20, 21, 22):
        assert bytes((0xFC, code)) in binary
    assert encode_module(decode_module(binary)) == binary
    assert encode_module(parse_module_text(print_module(module))) == binary


@pytest.mark.parametrize(
    "body",
    [
        "(i64.add128 (i64.const 0) (i64.const 0) (i64.const 0))",  # three operands
        "(i64.mul_wide_u (i32.const 0) (i64.const 0)) (drop) (drop)",  # an i32
        "(drop (i64.mul_wide_s (i64.const 0) (i64.const 0)))",  # two results left one on the stack
    ],
)
def test_wide_arithmetic_is_type_checked(body: str) -> None:
    with pytest.raises(ValidationError, match="type mismatch"):
        validate_module(parse_module_text(f"(module (func {body}))"))


def test_wide_arithmetic_is_a_feature() -> None:
    with pytest.raises(MalformedError, match="i64.add128"):
        parse_module_text(WIDE, features=WASM_2_0)
    with pytest.raises(MalformedError):
        decode_module(encode_module(parse_module_text(WIDE)), WASM_2_0)
    assert WIDE_ARITHMETIC in parse_module_text(WIDE).features


def test_the_native_engine_compiles_wide_arithmetic(tmp_path: Path) -> None:
    script = tmp_path / "wide.wast"
    script.write_text(
        WIDE + '\n(assert_return (invoke "mul_wide_u" (i64.const -1) (i64.const -1)) (i64.const 1) (i64.const -2))\n'
    )
    result = run_script(script, "native")
    assert (result.passed, result.failed) == (2, 0)
    assert result.engine.fallbacks == []  # machine code, not the portable engine
