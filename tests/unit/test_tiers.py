"""Tiered execution of large modules: results, moves between tiers, limits and traps on every tier.

The module here has more functions than the tiering threshold (400), as real
programs do; its exports are called until they move up, and must give the
same results before and after.
"""

from __future__ import annotations

import time
import uuid

import pytest

import wasmbox
from wasmbox import Instance, Module, Store
from wasmbox.engines import tiers
from wasmbox.errors import Exhaustion, Trap

FILLER = 450


def large_module_text(variant: int = 0) -> str:
    filler = "\n".join(
        f"  (func $f{i} (param i32) (result i32) (i32.add (local.get 0) (i32.const {i})))" for i in range(FILLER)
    )
    calls = "\n".join(
        f"      (local.set $s (i32.add (local.get $s) (call $f{i} (i32.const 1))))" for i in range(0, FILLER, 7)
    )
    return f"""(module
  (memory (export "memory") 1)
  (global $sp (mut i32) (i32.const 65536))
{filler}
  (func $fib (export "fib") (param $n i32) (result i32)
    (global.set $sp (i32.sub (global.get $sp) (i32.const 16)))
    (i32.store (global.get $sp) (local.get $n))
    (if (result i32) (i32.lt_u (local.get $n) (i32.const 2))
      (then (local.get $n))
      (else (i32.add (call $fib (i32.sub (i32.load (global.get $sp)) (i32.const 1)))
                     (call $fib (i32.sub (i32.load (global.get $sp)) (i32.const 2))))))
    (global.set $sp (i32.add (global.get $sp) (i32.const 16))))
  (func $stash (export "stash") (param $n i32) (result i32)
    (global.set $sp (i32.sub (global.get $sp) (i32.const 16)))
    (i32.store (global.get $sp) (i32.mul (local.get $n) (i32.const 3)))
    (local.set $n (i32.load (global.get $sp)))
    (global.set $sp (i32.add (global.get $sp) (i32.const 16)))
    (local.get $n))
  (func $sum (export "sum") (param $n i32) (result i64) (local $total i64)
    (block $done
      (loop $again
        (br_if $done (i32.eqz (local.get $n)))
        (local.set $total (i64.add (local.get $total) (i64.extend_i32_u (local.get $n))))
        (local.set $n (i32.sub (local.get $n) (i32.const 1)))
        (br $again)))
    (local.get $total))
  (func (export "call_all") (result i32) (local $s i32)
{calls}
      (local.get $s))
  (func (export "spin") (loop $l (br $l)))
  (func $deep (export "deep") (param i32) (result i32) (i32.add (call $deep (local.get 0)) (i32.const 1)))
  (func $fails (param i32) (result i32) (i32.div_u (i32.const 1) (local.get 0)))
  (func (export "trap") (result i32) (call $fails (i32.const 0)))
  (func (export "sp") (result i32) (global.get $sp))
  (func (export "variant") (result i32) (i32.const {variant}))
)"""


def fib(n: int) -> int:
    return n if n < 2 else fib(n - 1) + fib(n - 2)


ENGINES = [e for e in ("interp", "native") if e in wasmbox.ENGINES]
MODULE = Module(large_module_text())


@pytest.fixture(autouse=True)
def in_process(monkeypatch: pytest.MonkeyPatch) -> None:
    """Moves happen here, at once (no worker): what the tests observe is then deterministic.  These tests
    follow the tiers without the quick compiler (a host it does not run on, or a function it does not
    take); with it, every hot function gets its code first (test_quick_compiler)."""
    monkeypatch.setattr(tiers, "_quick_supported", lambda: False)
    monkeypatch.setattr(tiers, "WORKER_FUNCTIONS", 10**9)
    monkeypatch.setenv("WASMBOX_TRANSLATION_WORKER", "0")
    monkeypatch.setattr(tiers, "TRANSLATE_AFTER", 1)


def function_index(name: str) -> int:
    return next(e.index for e in MODULE.ir.exports if e.name == name)


def tier_of(instance: Instance, name: str) -> str:
    code = instance._instance.funcs[function_index(name)].code
    if hasattr(code, "native_address"):
        return "native"
    filename = code.__code__.co_filename
    return "python" if filename.startswith("<wasm function") else "baseline"


@pytest.mark.parametrize("engine", ENGINES)
def test_results_are_the_same_on_every_tier(engine: str) -> None:
    # A module of its own: no translation an earlier run cached puts fib on a tier before it is hot.
    instance = Instance(Store(engine), Module(large_module_text(uuid.uuid4().int % 1_000_000 + 1)))
    fib_export = instance.exports["fib"]
    assert tier_of(instance, "fib") == "baseline" or instance.exports["fib"](0) == 0
    results = [fib_export(n) for n in range(2, 16)]
    assert results == [fib(n) for n in range(2, 16)]
    # fib's calls are short, but it calls itself: on the native engine the calls it makes stay in its
    # machine code.  stash's calls are short and it calls nothing: Python, not machine code.
    assert tier_of(instance, "fib") == ("native" if engine == "native" else "python")
    stash = instance.exports["stash"]
    assert [stash(n) for n in range(200)] == [3 * n for n in range(200)]
    assert tier_of(instance, "stash") == "python"
    assert instance.exports["sp"]() == 65536  # the stack pointer global is back where it started
    expected = sum(1 + i for i in range(0, FILLER, 7))
    assert instance.exports["call_all"]() == expected
    assert instance.exports["call_all"]() == expected


def test_long_calls_become_machine_code_on_the_native_engine(monkeypatch: pytest.MonkeyPatch) -> None:
    if "native" not in ENGINES:
        pytest.skip("the native engine needs llvmlite")
    monkeypatch.setattr(tiers, "NATIVE_BLOCKS_PER_CALL", 50)
    instance = Instance(Store("native"), MODULE)
    total = instance.exports["sum"]
    assert total(1000) == 500500
    assert total(1000) == 500500
    assert tier_of(instance, "sum") == "native"
    assert total(100_000) == 100_000 * 100_001 // 2
    # Python tiers and machine code share the global: stash (Python) runs after sum (native).
    stash = instance.exports["stash"]
    assert [stash(n) for n in range(200)] == [3 * n for n in range(200)]
    assert tier_of(instance, "stash") == "python"
    assert instance.exports["fib"](10) == 55 and instance.exports["sp"]() == 65536


@pytest.mark.parametrize("engine", ENGINES)
def test_deadline_stops_a_loop_on_each_tier(engine: str) -> None:
    store = Store(engine, deadline=0.2)
    instance = Instance(store, MODULE)
    for _ in range(2):  # the first run on the baseline, the second translated
        with pytest.raises(Trap, match="deadline exceeded"):
            instance.exports["spin"]()


@pytest.mark.parametrize("engine", ENGINES)
def test_runaway_recursion_is_exhaustion(engine: str) -> None:
    instance = Instance(Store(engine, max_call_depth=3000), MODULE)
    for _ in range(2):
        with pytest.raises(Exhaustion):
            instance.exports["deep"](1)


@pytest.mark.parametrize("engine", ENGINES)
def test_traps_name_the_functions_on_each_tier(engine: str) -> None:
    instance = Instance(Store(engine), MODULE)
    for _ in range(3):
        with pytest.raises(Trap, match="integer divide by zero") as caught:
            instance.exports["trap"]()
        names = [frame.name for frame in caught.value.frames]
        assert "$fails" in names


@pytest.mark.parametrize("engine", ENGINES)
def test_the_worker_delivers_translations(engine: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(tiers, "WORKER_FUNCTIONS", 400)
    monkeypatch.delenv("WASMBOX_TRANSLATION_WORKER")
    module = Module(large_module_text())  # a module of its own: its own worker
    instance = Instance(Store(engine), module)
    worker = tiers.translation_worker(module.ir)
    assert worker is not None
    stash = instance.exports["stash"]  # short calls, none of its own: the Python tier
    deadline = time.monotonic() + 60
    while tier_of(instance, "stash") != "python" and time.monotonic() < deadline:
        assert stash(12) == 36
    assert tier_of(instance, "stash") == "python"
    assert stash(15) == 45


@pytest.mark.parametrize("engine", ENGINES)
def test_a_second_run_starts_on_the_translations_the_first_left(
    engine: str, tmp_path: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("WASMBOX_CACHE", str(tmp_path))
    first = Instance(Store(engine), Module(large_module_text()))
    for n in range(100):
        first.exports["stash"](n)
    assert tier_of(first, "stash") == "python"
    second = Instance(Store(engine), Module(large_module_text()))
    assert second.exports["stash"](2) == 6  # one short call: on the baseline it would not move yet
    assert tier_of(second, "stash") == "python"
    assert [second.exports["stash"](n) for n in range(12)] == [3 * n for n in range(12)]
    # Without the first run's cache, that one short call leaves stash on the baseline.
    monkeypatch.setenv("WASMBOX_CACHE", str(tmp_path / "empty"))
    third = Instance(Store(engine), Module(large_module_text()))
    assert third.exports["stash"](2) == 6
    assert tier_of(third, "stash") == "baseline"


def tiered_functions_made(monkeypatch: pytest.MonkeyPatch) -> list[tiers.TieredFunctions]:
    """The tiers of each instance made from now on (in the order made)."""
    made: list[tiers.TieredFunctions] = []
    original = tiers.TieredFunctions.stand_ins

    def recording(self: tiers.TieredFunctions) -> dict[int, object]:
        made.append(self)
        return original(self)

    monkeypatch.setattr(tiers.TieredFunctions, "stand_ins", recording)
    return made


def fresh_instance() -> Instance:
    """An instance on the native engine of a module of its own, never run before: no code cache has
    machine code of its functions yet."""
    return Instance(Store("native"), Module(large_module_text(uuid.uuid4().int % 1_000_000 + 1)))


def test_a_long_first_call_moves_to_machine_code_at_its_loop(monkeypatch: pytest.MonkeyPatch) -> None:
    """sum(n) is called once and loops n times: it enters machine code in the middle of that call
    (on-stack replacement) and returns what the interpreter would have."""
    if "native" not in ENGINES:
        pytest.skip("the native engine needs llvmlite")
    monkeypatch.setattr(tiers, "OSR_AFTER", 2000)
    made = tiered_functions_made(monkeypatch)
    instance = fresh_instance()
    assert instance.exports["sum"](300_000) == 300_000 * 300_001 // 2
    (tiered,) = made
    function = tiered.baseline[function_index("sum")]
    assert function.osr, "the loop got no entry into machine code"
    assert function.executed < 300_000  # the interpreter ran only the start of the loop
    assert tiered.native.osr_entries == 1


def test_a_large_module_leaves_the_functions_it_ran_for_the_next_run_hottest_first(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    if "native" not in ENGINES:
        pytest.skip("the native engine needs llvmlite")
    # (Whole-module code is for modules whose code is small: this one is "too large" for it here.)
    monkeypatch.setattr("wasmbox.engines.native.engine.WHOLE_MODULE_CODE_AT_MOST", 0)
    monkeypatch.setattr(tiers, "TRANSLATE_AFTER", 10**6)  # everything stays on the baseline, counting
    made = tiered_functions_made(monkeypatch)
    instance = fresh_instance()
    assert instance.exports["sum"](3000) == 3000 * 3001 // 2
    assert instance.exports["fib"](12) == fib(12)
    instance.exports["call_all"]()
    (functions,) = made
    chosen = [index for index, _ in functions.functions_for_next_run()]
    called = {function_index(name) for name in ("sum", "fib", "call_all")} | {0, 7, FILLER - 1 - (FILLER - 1) % 7}
    assert set(chosen) == functions.ran and called <= set(chosen)  # every function that ran, none that did not
    assert function_index("spin") not in chosen
    assert chosen[0] == function_index("sum")  # the most blocks per instruction: first
    # A budget takes the hottest that fit: sum alone here.
    monkeypatch.setattr(tiers, "NEXT_RUN_INSTRUCTIONS", functions.size(function_index("sum")))
    assert [index for index, _ in functions.functions_for_next_run()] == [function_index("sum")]
