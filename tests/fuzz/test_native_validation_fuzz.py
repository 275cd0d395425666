"""Mutated function bodies: the native validator never accepts one that the Python decoder or validator rejects.

Bodies of seed modules (every instruction family, exception handling and memory64 too)
are mutated in place — bytes replaced, so the code entry keeps its size and
the module around it still decodes — and each body's two verdicts compared.
CI-sized by default (1,000 cases); ``-m slow`` runs 40,000.
"""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from tests.spec.test_native_validation import verdicts

from wasmbox import native_validation
from wasmbox.binary.decode import EncodedBody, decode_module
from wasmbox.binary.encode import encode_module
from wasmbox.ir.instructions import ALL_FEATURES
from wasmbox.text.parser import parse_module_text

pytestmark = pytest.mark.skipif(not native_validation.available(), reason="the native validator needs llvmlite")

SEEDS_TEXT = [
    """(module
  (type $t (func (param i32) (result i32)))
  (import "env" "f" (func $imp (param i32)))
  (memory 1 2)
  (table 2 funcref)
  (global $g (mut i32) (i32.const 5))
  (global $c i64 (i64.const 7))
  (elem (i32.const 0) $fac $fac)
  (elem $e funcref (ref.func $fac))
  (data $d "hi")
  (func $fac (type $t) (param $n i32) (result i32)
    (if (result i32) (i32.eqz (local.get $n))
      (then (i32.const 1))
      (else (i32.mul (local.get $n) (call $fac (i32.sub (local.get $n) (i32.const 1)))))))
  (func (param v128 f32 f64) (result i32) (local i64 i32)
    block $b (result i32) i32.const 1 i32.const 0 br_if $b end
    (i32x4.extract_lane 2 (local.get 0)) i32.add
    (i64.store offset=8 (i32.const 0) (local.get 3))
    (f32.store (i32.const 4) (f32.add (local.get 1) (f32.const 1.5)))
    (drop (f64.sqrt (local.get 2)))
    (memory.fill (i32.const 0) (i32.const 1) (i32.const 2))
    (memory.init $d (i32.const 0) (i32.const 0) (i32.const 1))
    (data.drop $d)
    (table.init 0 $e (i32.const 0) (i32.const 0) (i32.const 1))
    (drop (table.get 0 (i32.const 1)))
    (drop (select (local.get 4) (i32.const 2) (i32.const 3)))
    (drop (ref.is_null (ref.func $fac)))
    (global.set $g (i32.wrap_i64 (global.get $c)))
    (drop (call_indirect (type $t) (i32.const 1) (i32.const 0)))
    (loop $l (br_if $l (i32.const 0)))
    (br_table 0 0 (i32.const 0)))
)""",
    """(module
  (tag $e (param i32))
  (tag $e0)
  (func $thrower (param i32) (throw $e (local.get 0)))
  (func (param i32) (result i32)
    (block $h (result i32)
      (try_table (result i32) (catch $e $h)
        (block $inner (result exnref)
          (try_table (catch_all_ref $inner) (call $thrower (local.get 0)))
          (unreachable))
        (throw_ref)))))""",
    # memory64: an i64 and an i32 memory, an i64 and an i32 table (address-typed operands everywhere).
    """(module
  (type $t (func (param i32) (result i32)))
  (memory $wide i64 1)
  (memory $narrow 1)
  (table $big i64 2 funcref)
  (table $small 2 funcref)
  (elem $e funcref (ref.func $id))
  (data $d "hi")
  (func $id (type $t) (local.get 0))
  (func (param i64 i32 v128) (result i64)
    (i64.store $wide offset=0x1_0000_0000 (local.get 0) (i64.const 1))
    (i32.store $narrow offset=8 (local.get 1) (i32.const 2))
    (drop (v128.load8_lane $wide 1 (local.get 0) (local.get 2)))
    (memory.fill $wide (local.get 0) (i32.const 0) (i64.const 4))
    (memory.copy $wide $narrow (local.get 0) (local.get 1) (i32.const 4))
    (memory.copy $wide $wide (local.get 0) (i64.const 8) (i64.const 4))
    (memory.init $wide $d (i64.const 0) (i32.const 0) (i32.const 1))
    (drop (memory.grow $narrow (i32.const 0)))
    (table.init $big $e (i64.const 0) (i32.const 0) (i32.const 1))
    (table.copy $small $big (i32.const 0) (i64.const 0) (i32.const 1))
    (drop (table.get $big (i64.const 1)))
    (table.set $big (i64.const 0) (ref.func $id))
    (table.fill $big (i64.const 0) (ref.null func) (i64.const 1))
    (drop (table.grow $big (ref.null func) (i64.const 1)))
    (drop (table.size $big))
    (drop (call_indirect $big (type $t) (i32.const 1) (i64.const 0)))
    (i64.add (memory.size $wide) (memory.grow $wide (i64.const 0))))
  (elem declare func $id)
)""",
]
SEEDS = [encode_module(parse_module_text(text)) for text in SEEDS_TEXT]

DEFAULT = settings(max_examples=500, deadline=None, suppress_health_check=[HealthCheck.too_slow])
SLOW = settings(max_examples=20_000, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def body_ranges(data: bytes) -> list[tuple[int, int]]:
    module = decode_module(data, ALL_FEATURES, lazy=True)
    ranges = []
    for function in module.funcs:
        assert isinstance(function.source, EncodedBody)
        ranges.append((function.source.start, function.source.end))
    return ranges


@st.composite
def mutated(draw: st.DrawFn) -> bytes:
    seed = draw(st.sampled_from(SEEDS))
    start, end = draw(st.sampled_from(body_ranges(seed)))
    data = bytearray(seed)
    for _ in range(draw(st.integers(1, 4))):
        position = draw(st.integers(start, end - 1))
        data[position] = draw(st.one_of(st.integers(0, 255), st.sampled_from([0x00, 0x0B, 0x40, 0x7F, 0x80, 0xFF])))
    return bytes(data)


def check(data: bytes) -> None:
    for index, python_accepts, native_accepts, _ in verdicts(data, ALL_FEATURES) or []:
        assert python_accepts or not native_accepts, f"function {index} accepted natively only: {data.hex()}"


@DEFAULT
@given(mutated())
def test_mutated_bodies_are_never_accepted_natively_alone(data: bytes) -> None:
    check(data)


@pytest.mark.slow
@SLOW
@given(mutated())
def test_mutated_bodies_are_never_accepted_natively_alone_at_scale(data: bytes) -> None:
    check(data)
