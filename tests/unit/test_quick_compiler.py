"""The quick compiler (``engines.native.quick``): wasm straight to x86-64, checked against the baseline
interpreter value by value and trap by trap, entered at calls and at loops (on-stack replacement), and
the tier a small module's hot functions reach first in a cold run."""

from __future__ import annotations

import itertools
import math
import struct
from pathlib import Path
from typing import Any

import pytest

import wasmbox
from wasmbox import I32, Func, FuncType, Instance, Module, Store, Trap
from wasmbox.engines import tiers
from wasmbox.engines.native.quick import QuickUnsupported, compile_function, quick_supported

pytestmark = pytest.mark.skipif(
    "native" not in wasmbox.ENGINES or not quick_supported(),
    reason="quick code needs x86-64 Linux (and llvmlite's engine)",
)

I32_EDGES = [0, 1, 2, 7, 31, 32, 33, 0x7FFFFFFF, 0x80000000, 0xFFFFFFFF, 0xFFFFFFFE, 12345678]
I64_EDGES = [0, 1, 63, 64, 0x7FFFFFFFFFFFFFFF, 0x8000000000000000, 0xFFFFFFFFFFFFFFFF, 0x123456789ABCDEF0]
F64_EDGES = [0.0, -0.0, 1.5, -2.5, 0.49999999999999994, 2.5, 1e300, -1e-300, math.inf, -math.inf, math.nan,
             2147483647.9, 2147483648.0, -2147483648.9, -2147483649.0, 4294967295.5, 4294967296.0,
             9.223372036854775e18, 1.8446744073709552e19, -1.0, -0.9]  # fmt: skip

INTEGER_BINARY = ["add", "sub", "mul", "div_s", "div_u", "rem_s", "rem_u", "and", "or", "xor", "shl", "shr_s",
                  "shr_u", "rotl", "rotr", "eq", "ne", "lt_s", "lt_u", "gt_s", "gt_u", "le_s", "le_u", "ge_s",
                  "ge_u"]  # fmt: skip
INTEGER_UNARY = ["clz", "ctz", "popcnt", "eqz", "extend8_s", "extend16_s"]
FLOAT_BINARY = ["add", "sub", "mul", "div", "copysign", "eq", "ne", "lt", "gt", "le", "ge"]
FLOAT_UNARY = ["neg", "abs", "sqrt", "ceil", "floor", "trunc", "nearest"]
CONVERSIONS = [  # (name, parameter, result)
    ("i32.trunc_f64_s", "f64", "i32"), ("i32.trunc_f64_u", "f64", "i32"), ("i64.trunc_f64_s", "f64", "i64"),
    ("i64.trunc_f64_u", "f64", "i64"), ("i32.trunc_f32_s", "f32", "i32"), ("i32.trunc_f32_u", "f32", "i32"),
    ("i64.trunc_f32_s", "f32", "i64"), ("i64.trunc_f32_u", "f32", "i64"), ("f64.convert_i32_s", "i32", "f64"),
    ("f64.convert_i32_u", "i32", "f64"), ("f64.convert_i64_s", "i64", "f64"), ("f64.convert_i64_u", "i64", "f64"),
    ("f32.convert_i32_s", "i32", "f32"), ("f32.convert_i32_u", "i32", "f32"), ("f32.convert_i64_s", "i64", "f32"),
    ("f32.convert_i64_u", "i64", "f32"), ("f64.promote_f32", "f32", "f64"), ("f32.demote_f64", "f64", "f32"),
    ("i64.extend_i32_s", "i32", "i64"), ("i64.extend_i32_u", "i32", "i64"), ("i32.wrap_i64", "i64", "i32"),
    ("i64.extend32_s", "i64", "i64"), ("i32.reinterpret_f32", "f32", "i32"), ("f64.reinterpret_i64", "i64", "f64"),
    ("i32.trunc_sat_f64_s", "f64", "i32"), ("i32.trunc_sat_f64_u", "f64", "i32"),
    ("i64.trunc_sat_f64_s", "f64", "i64"), ("i64.trunc_sat_f64_u", "f64", "i64"),
    ("i32.trunc_sat_f32_s", "f32", "i32"), ("i32.trunc_sat_f32_u", "f32", "i32"),
    ("i64.trunc_sat_f32_s", "f32", "i64"), ("i64.trunc_sat_f32_u", "f32", "i64"),
]  # fmt: skip


# Right operands given as constants (the quick compiler uses immediates where they fit).
CONSTANTS = {"i32": [0, 1, -1, 5, 31, 33, 0x7FFFFFFF, -0x80000000], "i64": [0, 1, -1, 63, 65, -0x80000000, 0x123456789]}


def operations_module() -> str:
    functions = []
    for t in ("i32", "i64"):
        for op in INTEGER_BINARY:
            result = "i32" if op in ("eq", "ne") or op[:2] in ("lt", "gt", "le", "ge") else t
            functions.append(
                f'(func (export "{t}.{op}") (param {t} {t}) (result {result}) (local.get 0) (local.get 1) ({t}.{op}))'
            )
            for k, constant in enumerate(CONSTANTS[t]):
                functions.append(
                    f'(func (export "{t}.{op}/{k}") (param {t}) (result {result}) '
                    f"(local.get 0) ({t}.const {constant}) ({t}.{op}))"
                )
            # Both operands computed (in the frame's slots, not where they came from).
            functions.append(
                f'(func (export "{t}.{op}/slots") (param {t} {t}) (result {result}) (local.get 0) ({t}.const 0) '
                f"({t}.add) (local.get 1) ({t}.const 0) ({t}.or) ({t}.{op}))"
            )
        for op in INTEGER_UNARY:
            result = "i32" if op == "eqz" else t
            functions.append(f'(func (export "{t}.{op}") (param {t}) (result {result}) (local.get 0) ({t}.{op}))')
    for t in ("f32", "f64"):
        for op in FLOAT_BINARY:
            result = t if op in ("add", "sub", "mul", "div", "copysign") else "i32"
            functions.append(
                f'(func (export "{t}.{op}") (param {t} {t}) (result {result}) (local.get 0) (local.get 1) ({t}.{op}))'
            )
        for op in FLOAT_UNARY:
            functions.append(f'(func (export "{t}.{op}") (param {t}) (result {t}) (local.get 0) ({t}.{op}))')
    for name, param, result in CONVERSIONS:
        functions.append(f'(func (export "{name}") (param {param}) (result {result}) (local.get 0) ({name}))')
    return "(module\n" + "\n".join(functions) + ")"


def f32_round(value: float) -> float:
    return struct.unpack("<f", struct.pack("<f", value))[0] if math.isfinite(value) else value


def arguments(param: str) -> list[Any]:
    if param == "i32":
        return I32_EDGES
    if param == "i64":
        return I64_EDGES
    if param == "f32":
        return [f32_round(v) if abs(v) < 3e38 else math.copysign(math.inf, v) for v in F64_EDGES]
    return F64_EDGES


def outcome(function: Any, args: tuple[Any, ...]) -> Any:
    try:
        value = function(*args)
    except Trap as trap:
        return ("trap", str(trap).split("\n")[0])
    if isinstance(value, float) and math.isnan(value):
        return "nan"  # (the NaN's payload may differ: any arithmetic NaN is right)
    if isinstance(value, float):
        return struct.pack("<d", value)  # -0.0 from 0.0
    return value


def recording_tiers(monkeypatch: pytest.MonkeyPatch) -> list[Any]:
    """The ``TieredFunctions`` of every instance made from now on (the test reads its tiers)."""
    made: list[Any] = []
    stand_ins = tiers.TieredFunctions.stand_ins

    def record(self: Any) -> Any:
        made.append(self)
        return stand_ins(self)

    monkeypatch.setattr(tiers.TieredFunctions, "stand_ins", record)
    return made


def quick_instance(monkeypatch: pytest.MonkeyPatch, cache: Path, text: str, mode: str = "1") -> tuple[Instance, Any]:
    """``text`` on the tiered engine, each function on quick code from its first call (``mode`` "1") or
    entering it at every loop ("loops"); and its ``TieredFunctions``."""
    monkeypatch.setenv("WASMBOX_CACHE", str(cache))
    monkeypatch.setenv("WASMBOX_TRANSLATION_WORKER", "0")
    monkeypatch.setattr(tiers, "QUICK_TESTING", mode)
    monkeypatch.setattr(tiers, "MODULE_NATIVE_AFTER", 3600.0)
    made = recording_tiers(monkeypatch)
    instance = Instance(Store("tiered"), Module(text))
    (functions,) = made
    return instance, functions


def quick_functions(functions: Any) -> set[int]:
    native = functions.native._instance
    return set() if native is None or native.lazy is None else set(native.lazy.quick_only)


def test_every_number_operation_agrees_with_the_baseline(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    text = operations_module()
    instance, functions = quick_instance(monkeypatch, tmp_path, text)
    reference = Instance(Store("baseline"), Module(text))
    module = Module(text).ir
    compared = 0
    for export in module.exports:
        params = module.func_types()[export.index].params
        quick, expected = instance.exports[export.name], reference.exports[export.name]
        for args in itertools.product(*(arguments(p.text) for p in params)):
            assert outcome(quick, args) == outcome(expected, args), (export.name, args)
            compared += 1
    assert compared > 5000
    first = functions.first
    assert quick_functions(functions) == set(range(first, first + len(module.funcs)))  # all of them ran as quick code


PROGRAM = """(module
  (type $unary (func (param i32) (result i32)))
  (import "host" "twice" (func $twice (param i32) (result i32)))
  (memory 1 3)
  (global $calls (mut i32) (i32.const 0))
  (global $wide (mut i64) (i64.const -1))
  (table 4 funcref)
  (elem (i32.const 0) $square $twice $negate)
  (func $square (type $unary) (i32.mul (local.get 0) (local.get 0)))
  (func $negate (type $unary) (i32.sub (i32.const 0) (local.get 0)))
  (func $six (param i32 i64 f64 i32 i64 f32 i32 i32) (result f64)
    ;; more parameters than registers: some travel on the stack
    (f64.add (f64.add (f64.convert_i32_s (local.get 0)) (f64.convert_i64_s (local.get 1)))
      (f64.add (local.get 2) (f64.add (f64.promote_f32 (local.get 5))
        (f64.convert_i32_s (i32.add (i32.add (local.get 3) (local.get 6)) (i32.add (local.get 7)
          (i32.wrap_i64 (local.get 4)))))))))
  (func (export "stack_args") (param i32) (result f64)
    (call $six (local.get 0) (i64.const 10) (f64.const 0.5) (i32.const 100) (i64.const 1000) (f32.const 0.25)
      (i32.const 10000) (i32.const 100000)))
  (func (export "dispatch") (param $element i32) (param $value i32) (result i32)
    (global.set $calls (i32.add (global.get $calls) (i32.const 1)))
    (call_indirect (type $unary) (local.get $value) (local.get $element)))
  (func (export "calls") (result i32) (global.get $calls))
  (func (export "wide") (param i64) (result i64)
    (global.set $wide (i64.add (global.get $wide) (local.get 0))) (global.get $wide))
  (func (export "switch") (param i32) (result i32)
    (block $d (block $c (block $b (block $a
      (br_table $a $b $c $d (local.get 0)))
      (return (i32.const 10)))
      (return (i32.const 20)))
      (return (i32.const 30)))
    (i32.const 40))
  (func (export "sum_bytes") (param $at i32) (param $n i32) (result i64) (local $s i64)
    (block $done (loop $next
      (br_if $done (i32.eqz (local.get $n)))
      (local.set $s (i64.add (local.get $s) (i64.load8_u offset=1 (local.get $at))))
      (local.set $at (i32.add (local.get $at) (i32.const 1)))
      (local.set $n (i32.sub (local.get $n) (i32.const 1)))
      (br $next)))
    (local.get $s))
  (func (export "fill") (param i32 i32 i32) (memory.fill (local.get 0) (local.get 1) (local.get 2)))
  (func (export "copy") (param i32 i32 i32) (memory.copy (local.get 0) (local.get 1) (local.get 2)))
  (func (export "store") (param i32 i64) (i64.store offset=3 (local.get 0) (local.get 1)))
  (func (export "load16") (param i32) (result i32) (i32.load16_s (local.get 0)))
  (func (export "grow") (param i32) (result i32) (memory.grow (local.get 0)))
  (func (export "size") (result i32) (memory.size))
  (func (export "select") (param i32 i64 i64) (result i64) (select (local.get 1) (local.get 2) (local.get 0)))
  (func $deep (export "deep") (param i32) (result i32)
    (if (result i32) (i32.eqz (local.get 0)) (then (i32.const 0))
      (else (i32.add (i32.const 1) (call $deep (i32.sub (local.get 0) (i32.const 1)))))))
  (func (export "host") (param i32) (result i32) (i32.add (call $twice (local.get 0)) (i32.const 1)))
  (func (export "spin") (param i32) (result i32) (local $i i32)
    (loop $again (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br_if $again (i32.ne (local.get $i) (local.get 0))))
    (local.get $i))
  (func (export "under") (param i32) (result f64) (local $i i32)
    ;; values of two types beneath the loop: its OSR entry takes the operand stack too
    (f64.add (f64.const 0.5) (f64.convert_i64_s (i64.add (i64.const 7)
      (loop $again (result i64) (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br_if $again (i32.ne (local.get $i) (local.get 0)))
        (i64.extend_i32_u (local.get $i))))))))"""


def program_calls() -> list[tuple[str, tuple[Any, ...]]]:
    return [
        ("stack_args", (3,)),
        ("dispatch", (0, 7)), ("dispatch", (1, 7)), ("dispatch", (2, 7)), ("dispatch", (3, 7)),
        ("dispatch", (4, 7)), ("dispatch", (0xFFFFFFFF, 7)), ("calls", ()),
        ("wide", (5,)), ("wide", (0xFFFFFFFFFFFFFFFF,)),
        ("switch", (0,)), ("switch", (1,)), ("switch", (2,)), ("switch", (3,)), ("switch", (4,)),
        ("switch", (0xFFFFFFFF,)),
        ("fill", (10, 0x1FF, 20)), ("sum_bytes", (0, 40)), ("copy", (100, 5, 30)), ("sum_bytes", (95, 40)),
        ("store", (65530, 0x0102030405060708)), ("store", (65533, 1)), ("load16", (65535,)), ("load16", (65534,)),
        ("fill", (65530, 1, 7)), ("copy", (0, 65530, 7)), ("copy", (65530, 0, 6)), ("sum_bytes", (65530, 6)),
        ("sum_bytes", (65530, 7)), ("size", ()), ("grow", (1,)), ("size", ()), ("load16", (65535,)),
        ("grow", (5,)), ("select", (0, 1, 2)), ("select", (7, 1, 2)), ("deep", (1000,)), ("host", (20,)),
        ("spin", (100000,)), ("under", (100000,)),
    ]  # fmt: skip


@pytest.mark.parametrize("mode", ["1", "loops"])
def test_calls_memory_tables_and_globals_agree_with_the_baseline(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, mode: str
) -> None:
    def imports(store: Store) -> dict[str, Any]:
        return {"host": {"twice": Func(store, FuncType((I32,), (I32,)), lambda x: 2 * x)}}

    monkeypatch.setenv("WASMBOX_CACHE", str(tmp_path))
    reference_store = Store("baseline")
    reference = Instance(reference_store, Module(PROGRAM), imports(reference_store))
    made = recording_tiers(monkeypatch)
    monkeypatch.setenv("WASMBOX_TRANSLATION_WORKER", "0")
    monkeypatch.setattr(tiers, "QUICK_TESTING", mode)
    monkeypatch.setattr(tiers, "MODULE_NATIVE_AFTER", 3600.0)
    store = Store("tiered")
    instance = Instance(store, Module(PROGRAM), imports(store))
    for name, args in program_calls():
        assert outcome(instance.exports[name], args) == outcome(reference.exports[name], args), (name, args)
    (functions,) = made
    if mode == "1":
        assert len(quick_functions(functions)) >= 15
    else:
        assert functions.native.osr_entries >= 3  # the loops of sum_bytes, spin and under entered quick code


def test_a_trap_in_quick_code_has_the_wasm_backtrace(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    text = """(module (memory 1)
      (func $inner (param i32) (result i32) (i32.load (local.get 0)))
      (func $outer (export "outer") (param i32) (result i32) (i32.add (i32.const 1) (call $inner (local.get 0)))))"""
    instance, functions = quick_instance(monkeypatch, tmp_path, text)
    assert instance.exports["outer"](4) == 1
    with pytest.raises(Trap, match="out of bounds memory access") as raised:
        instance.exports["outer"](70000)
    frames = [(frame.name, frame.line) for frame in raised.value.frames]
    assert [name for name, _ in frames] == ["$inner", "$outer"]
    with pytest.raises(Trap) as on_baseline:
        Instance(Store("baseline"), Module(text)).exports["outer"](70000)
    assert frames == [(frame.name, frame.line) for frame in on_baseline.value.frames]  # the same places
    assert quick_functions(functions) == {0, 1}


def test_deep_recursion_in_quick_code_is_exhaustion_not_a_crash(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    text = """(module (func $down (export "down") (param i32) (result i32)
      (if (result i32) (i32.eqz (local.get 0)) (then (i32.const 0))
        (else (i32.add (i32.const 1) (call $down (i32.sub (local.get 0) (i32.const 1))))))))"""
    instance, functions = quick_instance(monkeypatch, tmp_path, text)
    assert instance.exports["down"](5000) == 5000
    with pytest.raises(wasmbox.Exhaustion):
        instance.exports["down"](10_000_000)
    assert instance.exports["down"](10) == 10  # the depth was given back
    assert quick_functions(functions) == {0}


def test_an_endless_loop_in_quick_code_stops_at_its_deadline(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("WASMBOX_CACHE", str(tmp_path))
    monkeypatch.setenv("WASMBOX_TRANSLATION_WORKER", "0")
    monkeypatch.setattr(tiers, "QUICK_TESTING", "1")
    store = Store("tiered", deadline=0.3)
    instance = Instance(store, Module('(module (func (export "forever") (loop $l (br $l))))'))
    with pytest.raises(Trap):
        instance.exports["forever"]()


def test_what_the_quick_compiler_leaves_to_the_other_tiers_is_named() -> None:
    module = Module("""(module (memory 1)
      (func (result i32 i32) (i32.const 1) (i32.const 2))
      (func (param v128))
      (func (result i32) (i32.const 3) (i32.const 4) (f32.const 1) (f32.const 2) (f32.min) (drop) (i32.add))
      (global $held (mut exnref) (ref.null exn))
      (func (global.set $held (global.get $held))))""").ir
    with pytest.raises(QuickUnsupported, match="multiple results"):
        compile_function(module, 0, False)
    with pytest.raises(QuickUnsupported, match="v128"):
        compile_function(module, 1, False)
    with pytest.raises(QuickUnsupported, match="f32.min"):
        compile_function(module, 2, False)
    with pytest.raises(QuickUnsupported, match="a global of type exnref"):  # (exnref values elsewhere: it takes)
        compile_function(module, 3, False)


def test_a_small_modules_hot_function_gets_quick_code_without_a_worker(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """A cold run's first machine code is the quick compiler's, made on the spot: a small module asks
    LLVM for nothing until it has run a while, and starts no worker process before then."""
    monkeypatch.setenv("WASMBOX_CACHE", str(tmp_path))
    monkeypatch.setattr(tiers, "MODULE_NATIVE_AFTER", 3600.0)
    made = recording_tiers(monkeypatch)
    text = """(module (func (export "count") (param $n i32) (result i32) (local $s i32)
      (loop $again (local.set $s (i32.add (local.get $s) (local.get $n)))
        (local.set $n (i32.sub (local.get $n) (i32.const 1))) (br_if $again (local.get $n)))
      (local.get $s)))"""
    instance = Instance(Store("tiered"), Module(text))
    expected = Instance(Store("baseline"), Module(text)).exports["count"](200_000)
    assert instance.exports["count"](200_000) == expected
    (functions,) = made
    try:
        assert functions.native.osr_entries >= 1  # the long call entered quick code at its loop
        assert functions._worker is False  # no worker was started
        for _ in range(3):
            assert instance.exports["count"](1000) == sum(range(1001))
        assert quick_functions(functions) == {0}
    finally:
        if functions.module_timer is not None:
            functions.module_timer.cancel()
            functions.module_timer.join()


@pytest.mark.parametrize("all_hot", [True, False])
def test_a_large_modules_hot_functions_get_quick_code(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, all_hot: bool
) -> None:
    """A large module (tiered function by function): every hot function gets quick code, and one with long
    calls also asks for LLVM's (without a worker it stays on quick code).  With ``WASMBOX_QUICK_ALL_LARGE=0``
    only the long-running one does; a short one is translated to Python."""
    from wasmbox.engines.native import engine

    monkeypatch.setattr(tiers, "QUICK_ALL_LARGE", all_hot)
    monkeypatch.setattr(tiers, "QUICK_AT_FIRST_CALL_LARGE", False)  # (the rule for hot functions: tested here)
    monkeypatch.setenv("WASMBOX_CACHE", str(tmp_path))
    monkeypatch.setenv("WASMBOX_TRANSLATION_WORKER", "0")
    monkeypatch.setattr(engine, "LAZY_FUNCTIONS", 0)  # every module is a large one
    monkeypatch.setattr(tiers, "TRANSLATE_AFTER", 1)
    monkeypatch.setattr(tiers, "NATIVE_BLOCKS_PER_CALL", 50)
    made = recording_tiers(monkeypatch)
    # (A module of its own per case: quick code is kept per module, for every instance of it.)
    text = f"""(module (memory {1 if all_hot else 2})
      (func $stash (export "stash") (param i32) (result i32)
        (i32.store (i32.const 8) (i32.mul (local.get 0) (i32.const 3))) (i32.load (i32.const 8)))
      (func (export "count") (param $n i32) (result i32) (local $s i32)
        (loop $again (local.set $s (i32.add (local.get $s) (local.get $n)))
          (local.set $n (i32.sub (local.get $n) (i32.const 1))) (br_if $again (local.get $n)))
        (local.get $s))
      (func (export "rare") (param i32) (result i32) (i32.add (local.get 0) (i32.const 1))))"""
    instance = Instance(Store("native"), Module(text))
    (functions,) = made
    assert not functions.native.whole  # tiered function by function
    # A function that has run fewer than QUICK_MIN_BLOCKS blocks gets none (hot as it is after two).
    assert [instance.exports["rare"](n) for n in range(20)] == list(range(1, 21))
    assert 2 not in quick_functions(functions)
    stash, count = instance.exports["stash"], instance.exports["count"]
    assert [stash(n) for n in range(300)] == [3 * n for n in range(300)]
    expected = Instance(Store("baseline"), Module(text)).exports["count"]
    assert [count(n) for n in range(100, 130)] == [expected(n) for n in range(100, 130)]
    assert hasattr(instance._instance.funcs[1].code, "native_address")
    if all_hot:
        assert quick_functions(functions) == {0, 1}
        assert hasattr(instance._instance.funcs[0].code, "native_address")
    else:
        assert quick_functions(functions) == {1}
        assert instance._instance.funcs[0].code.__code__.co_filename.startswith("<wasm function")  # Python


@pytest.mark.parametrize("at_first_call", [True, False])
def test_a_large_modules_functions_start_on_quick_code_at_their_first_call(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, at_first_call: bool
) -> None:
    """A large module's functions start on quick code at their first call (no time on the baseline), and the
    module's machine code is asked for the next run; with ``WASMBOX_QUICK_AT_FIRST_CALL_LARGE=0`` they start on
    the baseline and wait until they are hot.  A small module's start on the baseline either way."""
    from wasmbox.engines.native import engine

    monkeypatch.setattr(tiers, "QUICK_AT_FIRST_CALL_LARGE", at_first_call)
    monkeypatch.setattr(tiers, "NEXT_RUN_AFTER_QUICK", 10)  # (the two functions that run: 19 instructions)
    monkeypatch.setenv("WASMBOX_CACHE", str(tmp_path))
    monkeypatch.setenv("WASMBOX_TRANSLATION_WORKER", "0")
    made = recording_tiers(monkeypatch)
    text = f"""(module (memory {3 if at_first_call else 4})
      (func $twice (param i32) (result i32) (i32.mul (local.get 0) (i32.const 2)))
      (func (export "sum") (param $n i32) (result i32) (local $s i32)
        (loop $again (local.set $s (i32.add (local.get $s) (call $twice (local.get $n))))
          (local.set $n (i32.sub (local.get $n) (i32.const 1))) (br_if $again (local.get $n)))
        (local.get $s))
      (func (export "never") (result i32) (i32.const 7)))"""
    expected = Instance(Store("baseline"), Module(text)).exports["sum"](10)
    small = Instance(Store("tiered"), Module(text))
    monkeypatch.setattr(engine, "LAZY_FUNCTIONS", 0)  # every module from here on is a large one
    large = Instance(Store("tiered"), Module(text))
    small_tiers, large_tiers = made
    assert small_tiers.native.whole and not large_tiers.native.whole
    assert small.exports["sum"](10) == expected
    assert large.exports["sum"](10) == expected
    assert quick_functions(small_tiers) == set()  # one short call: not hot
    if at_first_call:
        assert quick_functions(large_tiers) == {0, 1}  # both that ran; "never" did not run
        assert large_tiers in tiers._wanted_next_run
        tiers._wanted_next_run.discard(large_tiers)  # (no worker at this test process's exit)
        assert large_tiers.baseline == {}
    else:
        assert quick_functions(large_tiers) == set()
        assert set(large_tiers.baseline) == {0, 1}


def test_large_frames_recursing_deeply_are_exhaustion(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """A frame of 3,000 locals (24 KB) per call, recursing until the stack budget runs out: the check comes
    before the frame is written, so the last call traps cleanly."""
    locals_ = " ".join(["i64"] * 3000)
    text = f"""(module (func $down (export "down") (param i32) (result i32) (local {locals_})
      (local.set 2999 (i64.extend_i32_u (local.get 0)))
      (if (result i32) (i32.eqz (local.get 0)) (then (i32.const 0))
        (else (i32.add (i32.wrap_i64 (i64.const 1)) (call $down (i32.sub (local.get 0) (i32.const 1))))))))"""
    instance, functions = quick_instance(monkeypatch, tmp_path, text)
    assert instance.exports["down"](20) == 20
    with pytest.raises(wasmbox.Exhaustion):
        instance.exports["down"](100_000)
    assert instance.exports["down"](30) == 30
    assert quick_functions(functions) == {0}


EXCEPTIONS = """(module
  (tag $pair (param i32 f64))
  (tag $one (param i32))
  (tag $none)
  (func $raise (param i32)
    (if (i32.eq (local.get 0) (i32.const 1)) (then (throw $pair (i32.const 7) (f64.const 2.5))))
    (if (i32.eq (local.get 0) (i32.const 2)) (then (throw $one (i32.const 9))))
    (if (i32.eq (local.get 0) (i32.const 3)) (then (throw $none)))
    (if (i32.eq (local.get 0) (i32.const 4)) (then (drop (i32.div_u (i32.const 1) (i32.const 0))))))
  ;; catch by tag (payload), by another tag, catch_all; anything else goes out
  (func (export "classify") (param i32) (result f64) (local $x f64)
    (block $all
      (block $by_one (result i32)
        (block $by_pair (result i32 f64)
          (try_table (catch $pair $by_pair) (catch $one $by_one) (catch_all $all)
            (call $raise (local.get 0)))
          (return (f64.const -1)))
        (local.set $x) (return (f64.add (f64.convert_i32_s) (local.get $x))))
      (return (f64.convert_i32_s (i32.mul (i32.const 100)))))
    (f64.const 1000))
  ;; only $one is caught here: the others pass through to the caller
  (func $inner (param i32) (result i32)
    (block $by_one (result i32)
      (try_table (catch $one $by_one) (call $raise (local.get 0)))
      (return (i32.const 0)))
    (i32.add (i32.const 1000)))
  (func (export "nested") (param i32) (result i32)
    (block $all
      (try_table (catch_all $all) (return (call $inner (local.get 0)))))
    (i32.const -5))
  ;; catch_ref keeps the exception; throw_ref rethrows it to the outer handler
  (func (export "rethrown") (param i32) (result i32) (local $held exnref)
    (block $outer (result i32)
      (try_table (catch $one $outer)
        (block $caught (result exnref)
          (try_table (catch_all_ref $caught) (call $raise (local.get 0)))
          (return (i32.const 0)))
        (local.set $held)
        (if (ref.is_null (local.get $held)) (then (return (i32.const -1))))
        (throw_ref (local.get $held)))
      (unreachable))
    (i32.add (i32.const 2000)))
  ;; a catch that branches back to a loop: count the exceptions of n calls
  (func (export "loop_catch") (param $n i32) (result i32) (local $caught i32)
    (loop $again
      (if (i32.eqz (local.get $n)) (then (return (local.get $caught))))
      (local.set $n (i32.sub (local.get $n) (i32.const 1)))
      (block $next (result i32)
        (try_table (catch $one $next) (catch_all $again) (call $raise (i32.rem_u (local.get $n) (i32.const 4))))
        (br $again))
      (local.set $caught (i32.add (local.get $caught)))
      (br $again))
    (unreachable))
  ;; a catch whose label is the function's: a return of the payload
  (func (export "to_function") (param i32) (result i32)
    (try_table (catch $one 0) (call $raise (local.get 0)))
    (i32.const 42))
  (func (export "null_rethrow") (throw_ref (ref.null exn))))"""


@pytest.mark.parametrize("mode", ["1", "loops"])
def test_exceptions_in_quick_code_agree_with_the_baseline(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, mode: str
) -> None:
    """try_table (catch, catch_all, catch_all_ref; labels of blocks, loops and the function), throw (the
    payload in the context record, caught by tag id without the host), throw_ref (through the host),
    exnref locals, traps passing through handlers, exceptions leaving quick code for Python."""
    instance, functions = quick_instance(monkeypatch, tmp_path, EXCEPTIONS, mode)
    reference = Instance(Store("baseline"), Module(EXCEPTIONS))
    calls = [("classify", (k,)) for k in range(5)] + [("nested", (k,)) for k in range(5)]
    calls += [("rethrown", (k,)) for k in range(5)] + [("loop_catch", (0,)), ("loop_catch", (5,))]
    calls += [("to_function", (k,)) for k in range(5)] + [("null_rethrow", ())]

    def result(exports: Any, name: str, args: tuple[Any, ...]) -> Any:
        try:
            return outcome(exports[name], args)
        except wasmbox.WasmException as exception:
            return ("exception", exception.payload)

    compared = [(result(instance.exports, n, a), result(reference.exports, n, a)) for n, a in calls]
    assert [ours for ours, _ in compared] == [theirs for _, theirs in compared]
    assert ("exception", ()) in [ours for ours, _ in compared]  # (an exception did leave machine code)
    first = functions.first
    if mode == "1":
        assert quick_functions(functions) == set(range(first, first + 8))
    else:
        assert first + 5 in quick_functions(functions)  # loop_catch entered at its loop


def test_a_table_entry_mends_itself_when_its_function_became_machine_code(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """A large module's table mirrors are not remade whenever a function becomes machine code; the first
    indirect call of it that goes through the host writes its entry, so the next ones are direct."""
    from wasmbox.engines.native import engine

    monkeypatch.setenv("WASMBOX_CACHE", str(tmp_path))
    monkeypatch.setenv("WASMBOX_TRANSLATION_WORKER", "0")
    monkeypatch.setattr(engine, "LAZY_FUNCTIONS", 0)  # every module is a large one
    monkeypatch.setattr(tiers, "TRANSLATE_AFTER", 1)
    monkeypatch.setattr(tiers, "QUICK_TESTING", "loops")  # run's loop on quick code (and the mirror made) at once
    made = recording_tiers(monkeypatch)
    text = """(module (type $t (func (param i32) (result i32)))
      (table 2 funcref) (elem (i32.const 0) $inc $double)
      (func $inc (type $t) (i32.add (local.get 0) (i32.const 1)))
      (func $double (type $t) (i32.mul (local.get 0) (i32.const 2)))
      (func (export "run") (param $n i32) (result i32) (local $s i32)
        (loop $again
          (local.set $s (call_indirect (type $t) (local.get $s) (i32.rem_u (local.get $n) (i32.const 2))))
          (local.set $n (i32.sub (local.get $n) (i32.const 1)))
          (br_if $again (local.get $n)))
        (local.get $s)))"""
    instance = Instance(Store("native"), Module(text))
    (functions,) = made
    expected = Instance(Store("baseline"), Module(text)).exports["run"]
    assert [instance.exports["run"](n) for n in (3000, 3001)] == [expected(3000), expected(3001)]
    assert {0, 1} <= quick_functions(functions)
    state = functions.namespace["T0"].elements.watcher
    assert not state.mirror.dirty  # (never remade for them) ...
    assert state.entries[0].code != 0 and state.entries[1].code != 0  # ... but their entries are direct now


def test_only_a_function_with_loops_gets_an_osr_door() -> None:
    """The OSR door enters loops; a function without any gets none (its code ends with its trap stubs), and
    one with loops has its door after the body, naming each reachable loop."""
    from wasmbox.engines.native.quick import compile_with_door

    module = Module(
        """(module
          (func (param i32) (result i32) (i32.add (local.get 0) (i32.const 1)))
          (func (param i32) (result i32)
            (loop $again (br_if $again (local.tee 0 (i32.sub (local.get 0) (i32.const 1)))))
            (local.get 0)))"""
    ).ir
    plain_code, plain_door, plain_loops = compile_with_door(module, 0, False)
    looping_code, looping_door, looping_loops = compile_with_door(module, 1, False)
    assert (plain_door, plain_loops) == (0, {})
    assert looping_door > 0 and list(looping_loops.values()) == [0]
    assert len(plain_code) < len(looping_code)
