"""Store limits: deadlines, interruption, memory/table/instance limits, call depth."""

from __future__ import annotations

import gc
import threading
import traceback

import pytest
from tests.conftest import core_wast_files, require_testsuite

from wasmbox import ENGINES, Exhaustion, Func, FuncType, Instance, Module, Store, Trap
from wasmbox.engines.interp import FunctionTranslator
from wasmbox.errors import TrapFrame
from wasmbox.ir.instructions import WASM_2_0
from wasmbox.ir.types import I32
from wasmbox.runtime.instance import BACKTRACE_FRAMES
from wasmbox.runtime.sandbox import Sandbox
from wasmbox.text.parser import parse_module_text
from wasmbox.wast import run_script

SPIN = '(module (func (export "spin") (loop $l (br $l))))'


@pytest.mark.parametrize("engine", ENGINES)
def test_deadline_stops_an_infinite_loop(engine: str) -> None:
    store = Store(engine, deadline=0.1)
    spin = Instance(store, Module(SPIN)).exports["spin"]
    with pytest.raises(Trap, match="deadline exceeded"):
        spin()


@pytest.mark.parametrize("engine", ENGINES)
def test_interrupt_from_another_thread(engine: str) -> None:
    store = Store(engine, interruptible=True)
    spin = Instance(store, Module(SPIN)).exports["spin"]
    timer = threading.Timer(0.05, store.interrupt)
    timer.start()
    with pytest.raises(Trap, match="interrupted"):
        spin()
    timer.join()


@pytest.mark.parametrize("engine", ENGINES)
def test_interrupt_needs_an_interruptible_store(engine: str) -> None:
    with pytest.raises(RuntimeError, match="interruptible"):
        Store(engine).interrupt()


def test_checks_are_compiled_only_when_asked_for() -> None:
    module = parse_module_text(SPIN)
    func = module.funcs[0]
    t = module.types[func.type_index]

    def source(interruptible: bool, metered: bool) -> str:
        translator = FunctionTranslator(module, 0, t, list(t.params), func.body, module.types, module.func_types())
        translator.interruptible = interruptible
        translator.metered = metered
        return translator.translate()

    assert "SANDBOX" not in source(False, False)
    assert "SANDBOX.stop" in source(True, False) and "SANDBOX.fuel" not in source(True, False)
    assert "SANDBOX.fuel" in source(False, True) and "SANDBOX.stop" not in source(False, True)


@pytest.mark.parametrize("engine", ENGINES)
def test_memory_limit_makes_grow_fail(engine: str) -> None:
    module = Module('(module (memory 1) (func (export "grow") (param i32) (result i32) (memory.grow (local.get 0))))')
    grow = Instance(Store(engine, max_memory_pages=4), module).exports["grow"]
    assert grow(2) == 1
    assert grow(2) == -1  # would reach 5 pages
    assert grow(1) == 3
    with pytest.raises(Trap, match="resource limit exceeded"):
        Instance(Store(engine, max_memory_pages=4), Module("(module (memory 5))"))


@pytest.mark.parametrize("engine", ENGINES)
def test_table_and_instance_limits(engine: str) -> None:
    module = Module(
        '(module (table 1 funcref) (func (export "grow") (param i32) (result i32)'
        " (table.grow (ref.null func) (local.get 0))))"
    )
    store = Store(engine, max_table_elements=10, max_instances=1)
    grow = Instance(store, module).exports["grow"]
    assert grow(9) == 1
    assert grow(1) == -1
    with pytest.raises(Trap, match="resource limit exceeded"):
        Instance(store, module)


@pytest.mark.parametrize("engine", ENGINES)
def test_call_depth_limit(engine: str) -> None:
    module = Module(
        '(module (func $down (export "down") (param i32) (result i32)'
        " (if (result i32) (i32.eqz (local.get 0)) (then (i32.const 0))"
        " (else (i32.add (i32.const 1) (call $down (i32.sub (local.get 0) (i32.const 1))))))))"
    )
    down = Instance(Store(engine, max_call_depth=100), module).exports["down"]
    assert down(90) == 90
    with pytest.raises(Exhaustion, match="call stack exhausted"):
        down(200)
    with pytest.raises(ValueError):
        Store(engine, max_call_depth=0)


PLAIN_RECURSION = '(module (func $f (export "f") (call $f)))'
DIVE_FROM_HOST = """(module
  (import "host" "dive_from_host" (func $dive_from_host (result i32)))
  (func $down (export "down") (call $down))
  (func (export "outer") (result i32) (i32.add (call $dive_from_host) (i32.const 1))))"""


@pytest.mark.parametrize("engine", ENGINES)
def test_exhaustion_leaves_the_garbage_collector_as_it_was(engine: str) -> None:
    """An exhausted call stack unwinds with the cyclic collector paused (``Sandbox.exhausted``); after it the
    collector is on again, or still off when the embedder had turned it off, and the error carries the wasm
    backtrace but not the thousands of engine frames it unwound."""
    store = Store(engine, max_call_depth=5_000)
    f = Instance(store, Module(PLAIN_RECURSION)).exports["f"]
    assert gc.isenabled()
    with pytest.raises(Exhaustion) as caught:
        f()
    assert gc.isenabled()
    assert 0 < len(caught.value.frames) <= BACKTRACE_FRAMES  # machine code keeps its innermost 64
    assert all(frame.func_index == 0 for frame in caught.value.frames)
    assert len(traceback.extract_tb(caught.value.__traceback__)) < 20
    gc.disable()
    try:
        with pytest.raises(Exhaustion):
            f()
        assert not gc.isenabled()
    finally:
        gc.enable()


def test_a_recursions_backtrace_counts_its_repeated_frames() -> None:
    """A backtrace of 256 identical frames prints three of them and a count, not 256 lines; frames that differ are
    all printed (``Trap.__str__``)."""
    f = Instance(Store("baseline", max_call_depth=1_000), Module(PLAIN_RECURSION)).exports["f"]
    with pytest.raises(Exhaustion) as caught:
        f()
    lines = str(caught.value).splitlines()
    assert lines[:2] == ["call stack exhausted", "wasm backtrace:"]
    assert len(lines) == 2 + 1 + 3 + 1  # the innermost frame (no call offset), three repeats, the count
    assert lines[-1] == "  ...: the frame above repeated 252 more times (to frame 255)"
    assert len(caught.value.frames) == BACKTRACE_FRAMES  # the frames themselves are all kept
    mixed = Trap("unreachable")
    mixed.frames = [TrapFrame(0, "$a", 1), TrapFrame(1, "$b", 2), TrapFrame(0, "$a", 1)]
    assert str(mixed).splitlines()[2:] == ["  0: $a @0x1", "  1: $b @0x2", "  2: $a @0x1"]


def test_exhaustion_in_two_threads_at_once_leaves_the_collector_on() -> None:
    """Pauses overlap when two stores unwind at once; the collector is on again after the last."""
    module = Module(PLAIN_RECURSION)
    failures: list[BaseException] = []

    def exhaust(engine: str) -> None:
        f = Instance(Store(engine, max_call_depth=3_000), module).exports["f"]
        for _ in range(20):
            try:
                f()
            except Exhaustion:
                continue
            except BaseException as error:  # noqa: BLE001 - reported below
                failures.append(error)

    threads = [threading.Thread(target=exhaust, args=(engine,)) for engine in ("interp", "baseline", "baseline")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert failures == [] and gc.isenabled()


@pytest.mark.parametrize("engine", ENGINES)
def test_exhaustion_caught_by_a_host_function_ends_the_pause_there(engine: str) -> None:
    store = Store(engine, max_call_depth=5_000)
    holder: dict[str, Instance] = {}
    seen: list[bool] = []

    def dive_from_host() -> int:
        try:
            holder["instance"].exports["down"]()
        except Exhaustion:
            seen.append(gc.isenabled())  # back at the host: the wasm below has unwound
        return 41

    imports = {"host": {"dive_from_host": Func(store, FuncType((), (I32,)), dive_from_host)}}
    holder["instance"] = Instance(store, Module(DIVE_FROM_HOST), imports)
    assert holder["instance"].exports["outer"]() == 42
    assert seen == [True] and gc.isenabled()


COUNTDOWN = """(module (func (export "f") (param i32) (result i32) (local i32)
  (block $done (loop $l
     (br_if $done (i32.eqz (local.get 0)))
     (local.set 1 (i32.add (local.get 1) (local.get 0)))
     (local.set 0 (i32.sub (local.get 0) (i32.const 1)))
     (br $l)))
  (local.get 1)))"""


@pytest.mark.parametrize("engine", ENGINES)
@pytest.mark.parametrize("n", [0, 1, 7, 100])
def test_fuel_counts_every_executed_instruction(engine: str, n: int) -> None:
    # Counted by hand: block and loop once; each of the n iterations runs
    # local.get, i32.eqz, br_if, 4 for the sum, 4 for the decrement and br
    # (12); the last test is 3 more, and the final local.get 1.
    store = Store(engine, fuel=1_000_000)
    assert Instance(store, Module(COUNTDOWN)).exports["f"](n) == n * (n + 1) // 2
    assert 1_000_000 - (store.fuel_remaining() or 0) == 12 * n + 6


@pytest.mark.parametrize("engine", ENGINES)
def test_out_of_fuel_and_top_up(engine: str) -> None:
    store = Store(engine, fuel=50)
    f = Instance(store, Module(COUNTDOWN)).exports["f"]
    with pytest.raises(Trap, match="out of fuel"):
        f(100)
    assert store.fuel_remaining() == 0
    store.add_fuel(10_000)
    assert f(10) == 55
    assert Store(engine).fuel_remaining() is None
    with pytest.raises(RuntimeError):
        Store(engine).add_fuel(1)


def test_spec_suite_unchanged_with_fuel_and_interruption_compiled_in() -> None:
    require_testsuite()
    metered = Sandbox(fuel=10**15, interruptible=True)
    failures = []
    for path in core_wast_files():
        failures += run_script(path, "interp", WASM_2_0, metered).failures
    assert not failures, "\n".join(failures[:10])
    assert metered.fuel is not None and metered.fuel < 10**15  # the code really was metered


@pytest.mark.parametrize("engine", ENGINES)
def test_huge_tables_are_refused_by_default(engine: str) -> None:
    # A valid module may declare 2^32-1 table elements; the host must not
    # try to allocate them.
    with pytest.raises(Trap, match="resource limit exceeded"):
        Instance(Store(engine), Module("(module (table 4000000000 funcref))"))
    grow = Instance(
        Store(engine),
        Module(
            '(module (table 0 funcref) (func (export "g") (result i32) (table.grow (ref.null func) (i32.const -1))))'
        ),
    ).exports["g"]
    assert grow() == -1


@pytest.mark.parametrize("engine", ENGINES)
def test_a_host_function_that_catches_a_refused_reentry_leaves_the_collector_on(engine: str) -> None:
    """Wasm calling the host calling wasm again, as deep as the store allows: the entry that finds no depth left
    refuses at once (it never began, so it must not pause the collector); the host catches that and returns."""
    for max_call_depth in range(400, 410):  # one of them runs out at an entry from the host, not in a frame
        _reenter_until_refused(engine, max_call_depth)


def _reenter_until_refused(engine: str, max_call_depth: int) -> None:
    store = Store(engine, max_call_depth=max_call_depth)
    holder: dict[str, Instance] = {}
    states: list[bool] = []

    def dive_from_host() -> int:
        try:
            return int(holder["instance"].exports["outer"]()) + 1  # type: ignore[operator]
        except Exhaustion:
            states.append(gc.isenabled())
            return 0

    imports = {"host": {"dive_from_host": Func(store, FuncType((), (I32,)), dive_from_host)}}
    holder["instance"] = Instance(store, Module(DIVE_FROM_HOST), imports)
    depth = holder["instance"].exports["outer"]()
    assert isinstance(depth, int) and depth > 10
    assert states and all(states) and gc.isenabled()
