"""Extended constant expressions (Wasm 3.0): i32/i64 add, sub and mul and reads of earlier defined
globals in global initialisers and segment offsets; refused when the module is read as Wasm 2.0."""

from __future__ import annotations

import pytest

import wasmbox
from wasmbox import Global, GlobalType, Instance, Module, Store
from wasmbox.binary.decode import decode_module
from wasmbox.binary.encode import encode_module
from wasmbox.errors import ValidationError
from wasmbox.ir.instructions import WASM_2_0
from wasmbox.ir.types import I32
from wasmbox.text.parser import parse_module_text
from wasmbox.text.printer import print_module
from wasmbox.validate import validate_module

SOURCE = """(module
  (import "env" "base" (global $base i32))
  (global $a i32 (i32.add (global.get $base) (i32.const 16)))
  (global $b i64 (i64.mul (i64.const 0x100000000) (i64.const 0x100000001)))
  (global $c i32 (i32.sub (global.get $a) (i32.mul (i32.const 3) (i32.const 5))))
  (global $d i32 (i32.mul (i32.const 0x10000) (i32.const 0x10001)))
  (global $e i64 (i64.sub (i64.const 0) (i64.const 1)))
  (memory 1)
  (table 8 funcref)
  (data (i32.add (global.get $a) (i32.const 4)) "hi")
  (elem (offset (i32.sub (global.get $c) (i32.const 100))) func $f)
  (func $f (result i32) (i32.const 7))
  (func (export "a") (result i32) global.get $a)
  (func (export "b") (result i64) global.get $b)
  (func (export "c") (result i32) global.get $c)
  (func (export "d") (result i32) global.get $d)
  (func (export "e") (result i64) global.get $e)
  (func (export "byte") (param i32) (result i32) (i32.load8_u (local.get 0)))
  (func (export "slot") (param i32) (result i32) (call_indirect (result i32) (local.get 0)))
)
"""


@pytest.mark.parametrize("engine", ["interp", "baseline", "native", "tiered"])
def test_values_on_every_engine(engine: str) -> None:
    module = Module(SOURCE)
    store = Store(engine=engine)
    base = Global(store, GlobalType(I32, False), 100)
    exports = Instance(store, module, {"env": {"base": base}}).exports
    assert exports["a"]() == 116
    assert exports["b"]() == 1 << 32  # 2^32 * (2^32 + 1) wraps to 2^32
    assert exports["c"]() == 101
    assert exports["d"]() == 0x10000  # 2^16 * (2^16 + 1) wraps to 2^16 in 32 bits
    assert exports["e"]() == -1
    assert exports["byte"](120) == ord("h")
    assert exports["slot"](1) == 7  # the element segment starts at 101 - 100


def test_round_trip_through_binary_and_text() -> None:
    module = parse_module_text(SOURCE)
    validate_module(module)
    binary = encode_module(module)
    assert decode_module(binary) == module
    assert encode_module(parse_module_text(print_module(module))) == binary


def test_wasm_2_0_refuses_arithmetic_and_defined_globals() -> None:
    arithmetic = "(module (global i32 (i32.add (i32.const 1) (i32.const 2))))"
    with pytest.raises(ValidationError, match=r"constant expression required .*i32.add"):
        validate_module(parse_module_text(arithmetic, features=WASM_2_0))
    validate_module(parse_module_text(arithmetic))
    defined = "(module (global i32 (i32.const 1)) (global i32 (global.get 0)))"
    with pytest.raises(ValidationError, match="unknown global 0"):
        validate_module(parse_module_text(defined, features=WASM_2_0))
    validate_module(parse_module_text(defined))
    binary = encode_module(parse_module_text(arithmetic))
    with pytest.raises(ValidationError, match="constant expression required"):
        validate_module(decode_module(binary, WASM_2_0))


@pytest.mark.parametrize(
    ("source", "message"),
    [
        ("(module (global i32 (global.get 0)))", "unknown global 0"),  # itself
        ("(module (global i32 (global.get 1)) (global i32 (i32.const 0)))", "unknown global 1"),  # a later one
        ("(module (global (mut i32) (i32.const 0)) (global i32 (global.get 0)))", "mutable global 0"),
        ("(module (global i32 (i32.div_s (i32.const 1) (i32.const 1))))", "constant expression required"),
        ("(module (global i32 (i64.add (i64.const 1) (i64.const 1))))", "type mismatch"),
        ("(module (global i32 (i32.add (i32.const 1))))", "type mismatch"),
    ],
)
def test_invalid_constant_expressions(source: str, message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        validate_module(parse_module_text(source))


def test_segments_read_every_immutable_global() -> None:
    """Segment offsets come after all globals, so they may read any immutable one."""
    module = Module("""(module (memory 1) (global $late i32 (i32.const 8))
      (data (global.get $late) "x") (func (export "f") (result i32) (i32.load8_u (i32.const 8))))""")
    assert Instance(Store(), module).exports["f"]() == ord("x")


def test_agrees_with_wasmtime() -> None:
    wasmtime = pytest.importorskip("wasmtime", reason="wasmtime-py is the oracle")
    only_imports = SOURCE.replace("(global.get $a)", "(global.get $base)").replace("(global.get $c)", "(i32.const 101)")
    store = wasmtime.Store()
    base = wasmtime.Global(store, wasmtime.GlobalType(wasmtime.ValType.i32(), False), 100)
    theirs = wasmtime.Instance(store, wasmtime.Module(store.engine, only_imports), [base]).exports(store)
    ours_store = wasmbox.Store()
    ours_base = Global(ours_store, GlobalType(I32, False), 100)
    ours = Instance(ours_store, Module(only_imports), {"env": {"base": ours_base}}).exports
    for name in ("a", "b", "c", "d", "e"):
        assert ours[name]() == theirs[name](store), name
    assert ours["byte"](120) == theirs["byte"](store, 120)
