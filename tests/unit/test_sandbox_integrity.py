"""Sandbox integrity: values crossing the API are checked, the host process never crashes, a guest
cannot make the host allocate without bound.

Cases that could crash the process (deep recursion, small thread stacks) run in a subprocess and
the test asserts on its exit status and output.
"""

from __future__ import annotations

import gc
import os
import random
import signal
import subprocess
import sys
import textwrap
import threading
import time
import weakref
from pathlib import Path

import pytest
from tests.conftest import PEAK_RESIDENT_MB

import wasmbox
from wasmbox import (
    ENGINES,
    EXTERNREF,
    F64,
    I32,
    ConcurrentUseError,
    Exhaustion,
    Func,
    FuncType,
    Instance,
    Memory,
    Module,
    OutOfBoundsError,
    Store,
    Table,
    Trap,
)
from wasmbox.errors import ImplementationLimitError

ROOT = Path(__file__).resolve().parents[2]


def run_child(source: str, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    """Run ``source`` in a fresh interpreter (a segfault there fails the test, not the test run)."""
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src")}
    program = PEAK_RESIDENT_MB + textwrap.dedent(source)
    return subprocess.run([sys.executable, "-c", program], capture_output=True, text=True, timeout=timeout, env=env)


# --- values crossing the API -------------------------------------------------------------------

SBRK = """(module (import "env" "sbrk" (func $sbrk (param i32) (result i32)))
  (memory (export "memory") 1)
  (func (export "grow") (param i32) (result i32) (call $sbrk (local.get 0)))
  (func (export "load") (param i32) (result i32) (i32.load (local.get 0)))
  (func (export "size") (result i32) memory.size))"""


@pytest.mark.parametrize("engine", ENGINES)
def test_a_guest_cannot_shrink_memory_through_host_glue(engine: str) -> None:
    """``def sbrk(pages): return memory.grow(pages)`` with the guest passing 0xFFFFFFFE (-2 as the
    host sees an i32) once shrank the memory below zero pages, after which every bounds check
    passed and the guest overwrote host memory."""
    store = Store(engine)
    secret = bytearray(b"HOST-SECRET-DATA")
    holder: dict[str, Memory] = {}

    @wasmbox.func
    def sbrk(pages: int) -> int:
        return holder["memory"].grow(pages)

    instance = Instance(store, Module(SBRK), {"env": {"sbrk": sbrk}})
    memory = instance.exports["memory"]
    assert isinstance(memory, Memory)
    holder["memory"] = memory
    with pytest.raises(Trap, match="raised ValueError: pages must be between 0 and 65536, got -2"):
        instance.exports["grow"](-2)
    assert memory.size == 1 and instance.exports["size"]() == 1
    with pytest.raises(Trap, match="out of bounds memory access"):
        instance.exports["load"](0x100000)
    assert secret == b"HOST-SECRET-DATA"


@pytest.mark.parametrize("bad", [-1, -(2**31), 1.5, True, "1", None, 65537, 2**40])
def test_memory_grow_refuses_bad_deltas_and_changes_nothing(bad: object) -> None:
    memory = Instance(Store(), Module('(module (memory (export "m") 1 3))')).exports["m"]
    assert isinstance(memory, Memory)
    with pytest.raises((TypeError, ValueError)):
        memory.grow(bad)  # type: ignore[arg-type]
    assert memory.size == 1 and memory.data_len == 65536 and len(memory.buffer) == 65536
    assert memory.grow(2) == 1 and memory.grow(1) == -1 and memory.size == 3


def test_memory_read_and_write_check_addresses() -> None:
    memory = Instance(Store(), Module('(module (memory (export "m") 1))')).exports["m"]
    assert isinstance(memory, Memory)
    memory.write(65532, b"abcd")
    assert memory.read(65532, 4) == b"abcd"
    for address, length in [(-1, 1), (65533, 4), (0, -1), (2**64, 1), (0, 65537)]:
        with pytest.raises((OutOfBoundsError, ValueError)):
            memory.read(address, length)
    with pytest.raises(OutOfBoundsError):
        memory.write(65534, b"xyz")
    with pytest.raises((TypeError, ValueError)):
        memory.write(-1, b"x")
    with pytest.raises(TypeError):
        memory.write(0, "text")  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        memory.read(1.0, 2)  # type: ignore[arg-type]
    assert memory.read(65532, 4) == b"abcd"
    assert isinstance(OutOfBoundsError("x"), IndexError)


@pytest.mark.parametrize("engine", ENGINES)
def test_table_indices_are_checked(engine: str) -> None:
    instance = Instance(
        Store(engine),
        Module('(module (table (export "t") 2 funcref) (func $f (export "f")) (elem (i32.const 1) $f))'),
    )
    table = instance.exports["t"]
    assert isinstance(table, Table)
    last = table.get(1)
    for index in (-1, 2, 2**32 + 1):
        with pytest.raises(OutOfBoundsError):
            table.get(index)
        with pytest.raises(OutOfBoundsError):
            table.set(index, None)
    with pytest.raises(TypeError):
        table.get(0.0)  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        table.set(0, "not a function")
    with pytest.raises((TypeError, ValueError)):
        table.grow(-1)
    with pytest.raises(TypeError):
        table.grow(1.5)  # type: ignore[arg-type]
    assert table.size == 2 and table.get(0) is None and table.get(1) == last


@pytest.mark.parametrize("engine", ENGINES)
def test_host_results_are_checked(engine: str) -> None:
    store = Store(engine)
    module = Module(
        """(module (import "h" "none" (func $none)) (import "h" "two" (func $two (result i32 f64)))
          (import "h" "float" (func $float (result f64)))
          (func (export "none") (call $none))
          (func (export "two") (result i32 f64) (call $two))
          (func (export "float") (result f64) (call $float)))"""
    )
    results: dict[str, object] = {"none": 7, "two": [3, 2.5], "float": 10**400}
    imports = {
        "h": {
            "none": Func(store, FuncType((), ()), lambda: results["none"]),
            "two": Func(store, FuncType((), (I32, F64)), lambda: results["two"]),
            "float": Func(store, FuncType((), (F64,)), lambda: results["float"]),
        }
    }
    instance = Instance(store, module, imports)
    with pytest.raises(Trap, match="has no results but returned int"):
        instance.exports["none"]()
    assert instance.exports["two"]() == (3, 2.5)  # a list is as good as a tuple
    with pytest.raises(Trap, match="too large for f64"):
        instance.exports["float"]()


def test_a_host_recursion_error_is_exhaustion() -> None:
    def recurse(n: int) -> int:
        return recurse(n + 1)

    store = Store()
    module = Module(
        '(module (import "h" "r" (func $r (param i32) (result i32))) (func (export "f") (result i32) '
        "(call $r (i32.const 0))))"
    )
    instance = Instance(store, module, {"h": {"r": Func(store, FuncType((I32,), (I32,)), recurse)}})
    with pytest.raises(Exhaustion):
        instance.exports["f"]()


@pytest.mark.parametrize("engine", ENGINES)
def test_null_references_cross_instances_and_hosts(engine: str) -> None:
    store = Store(engine)
    first = Instance(
        store,
        Module(
            '(module (func (export "e") (result externref) ref.null extern) '
            '(func (export "f") (result funcref) ref.null func))'
        ),
    )
    second = Instance(
        store,
        Module(
            """(module (import "a" "e" (func $e (result externref))) (import "a" "f" (func $f (result funcref)))
              (import "h" "n" (func $n (result externref)))
              (func (export "e") (result i32) (ref.is_null (call $e)))
              (func (export "f") (result i32) (ref.is_null (call $f)))
              (func (export "n") (result i32) (ref.is_null (call $n))))"""
        ),
        {
            "a": {"e": first.exports["e"], "f": first.exports["f"]},
            "h": {"n": Func(store, FuncType((), (EXTERNREF,)), lambda: None)},
        },
    )
    assert [second.exports[name]() for name in ("e", "f", "n")] == [1, 1, 1]


# --- no crash, whatever the configuration ------------------------------------------------------

RECURSE = '(module (func $f (export "f") (param i32) (result i32) (i32.add (call $f (local.get 0)) (i32.const 1))))'


@pytest.mark.parametrize("engine", ENGINES)
def test_deepest_allowed_recursion_is_exhaustion_not_a_crash(engine: str) -> None:
    child = run_child(
        f"""
        from wasmbox import Exhaustion, Instance, Module, Store
        f = Instance(Store({engine!r}, max_call_depth=1_000_000), Module({RECURSE!r})).exports["f"]
        try:
            f(0)
        except Exhaustion as error:
            print("exhausted", error.kind)
        """
    )
    assert child.returncode == 0, child.stderr[-2000:]
    assert "exhausted call stack exhausted" in child.stdout


@pytest.mark.parametrize("engine", ENGINES)
@pytest.mark.parametrize("stack_kib", [256, 2048, 6144])
def test_threads_with_small_stacks_get_exhaustion(engine: str, stack_kib: int) -> None:
    child = run_child(
        f"""
        import threading
        from wasmbox import Exhaustion, Instance, Module, Store
        def run():
            f = Instance(Store({engine!r}), Module({RECURSE!r})).exports["f"]
            try:
                f(0)
            except Exhaustion as error:
                print("exhausted", error.kind, flush=True)
        threading.stack_size({stack_kib} * 1024)
        thread = threading.Thread(target=run)
        thread.start()
        thread.join()
        """
    )
    assert child.returncode == 0, child.stderr[-2000:]
    assert "exhausted call stack exhausted" in child.stdout


REENTER = """(module (import "h" "h" (func $h (param i32) (result i32)))
  (func (export "f") (param i32) (result i32)
    (if (result i32) (i32.eqz (local.get 0)) (then (i32.const 0))
      (else (i32.add (i32.const 1) (call $h (i32.sub (local.get 0) (i32.const 1))))))))"""


@pytest.mark.parametrize("engine", ENGINES)
def test_deep_reentrancy_through_the_host_is_exhaustion(engine: str) -> None:
    child = run_child(
        f"""
        from wasmbox import Exhaustion, Func, FuncType, I32, Instance, Module, Store
        store = Store({engine!r}, max_call_depth=1_000_000)
        holder = {{}}
        host = Func(store, FuncType((I32,), (I32,)), lambda n: holder["f"](n))
        holder["f"] = Instance(store, Module({REENTER!r}), {{"h": {{"h": host}}}}).exports["f"]
        print("shallow", holder["f"](100))
        try:
            holder["f"](60_000)
        except Exhaustion as error:
            print("exhausted", error.kind)
        print("again", holder["f"](100))
        """
    )
    assert child.returncode == 0, child.stderr[-2000:]
    assert child.stdout.split("\n")[:3] == ["shallow 100", "exhausted call stack exhausted", "again 100"]


WAIT_THEN_RECURSE = """(module (import "h" "wait" (func $wait))
  (func $down (param i32) (result i32)
    (if (result i32) (i32.eqz (local.get 0)) (then (i32.const 0))
      (else (i32.add (i32.const 1) (call $down (i32.sub (local.get 0) (i32.const 1)))))))
  (func $f (export "f") (param i32) (result i32)
    (if (result i32) (i32.eqz (local.get 0))
      (then (call $wait) (call $down (i32.const 5000)))
      (else (i32.add (i32.const 1) (call $f (i32.sub (local.get 0) (i32.const 1))))))))"""

COUNTDOWN = """(module (func $c (export "c") (param i32) (result i32)
  (if (result i32) (i32.eqz (local.get 0)) (then (i32.const 0))
    (else (call $c (i32.sub (local.get 0) (i32.const 1)))))))"""


@pytest.mark.parametrize("engine", ENGINES)
def test_one_store_limit_does_not_apply_to_another_thread(engine: str) -> None:
    """Depth is counted per store: a store limited to 100 levels, used in one thread, does not cut
    short a store allowing 1,000,000 in another (once one process-wide recursion limit did)."""
    reached, go = threading.Event(), threading.Event()
    deep_store = Store(engine, max_call_depth=1_000_000)

    def wait() -> None:
        reached.set()
        go.wait(30)

    deep = Instance(deep_store, Module(WAIT_THEN_RECURSE), {"h": {"wait": Func(deep_store, FuncType(), wait)}})
    results: list[object] = []

    def run_deep() -> None:
        try:
            results.append(deep.exports["f"](5000))
        except Exception as error:  # noqa: BLE001 - reported by the assertion below
            results.append(error)

    thread = threading.Thread(target=run_deep)
    thread.start()
    try:
        assert reached.wait(60)
        countdown = Instance(Store(engine, max_call_depth=100), Module(COUNTDOWN)).exports["c"]
        assert countdown(50) == 0
        with pytest.raises(Exhaustion):
            countdown(200)
    finally:
        go.set()
        thread.join()
    assert results == [10_000]


@pytest.mark.parametrize("engine", ENGINES)
def test_a_busy_store_refuses_a_second_thread(engine: str) -> None:
    store = Store(engine, deadline=5.0)
    instance = Instance(
        store,
        Module(
            '(module (func (export "spin") (loop $l (br $l))) '
            '(func (export "div") (param i32 i32) (result i32) (i32.div_u (local.get 0) (local.get 1))))'
        ),
    )
    outcome: list[BaseException] = []

    def spin() -> None:
        try:
            instance.exports["spin"]()
        except Trap as trap:
            outcome.append(trap)

    store_interrupt = threading.Timer(1.0, store.interrupt)
    thread = threading.Thread(target=spin)
    thread.start()
    time.sleep(0.3)
    try:
        with pytest.raises(ConcurrentUseError):
            instance.exports["div"](10, 0)  # would trap (or worse) on the other thread's context
    finally:
        store_interrupt.start()
        thread.join()
    assert outcome and outcome[0].kind == "interrupted"
    assert instance.exports["div"](10, 2) == 5


def test_sigint_never_makes_a_native_call_return_a_wrong_value() -> None:
    """A SIGINT arriving while machine code calls back into Python once got swallowed by ctypes,
    and the call went on with garbage (19 of 40 calls returned wrong sums)."""
    script = textwrap.dedent(
        """
        import signal, sys
        # A process started in the background by a shell without job control inherits SIGINT ignored,
        # and Python then never raises KeyboardInterrupt: make the child's handling the default.
        signal.signal(signal.SIGINT, signal.default_int_handler)
        from wasmbox import Func, FuncType, I32, Instance, Module, Store
        store = Store("native")
        module = Module('''(module (import "h" "inc" (func $inc (param i32) (result i32)))
          (func (export "f") (param i32) (result i32) (local i32)
            (loop $l (local.set 1 (call $inc (local.get 1))) (br_if $l (i32.lt_u (local.get 1) (local.get 0))))
            (local.get 1)))''')
        f = Instance(store, module, {"h": {"inc": Func(store, FuncType((I32,), (I32,)), lambda x: x + 1)}}).exports["f"]
        print("ready", flush=True)
        try:
            while True:
                if f(2000) != 2000:
                    print("WRONG", flush=True)
                    sys.exit(3)
        except KeyboardInterrupt:
            print("interrupted", flush=True)
        """
    )
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src")}
    generator = random.Random(12)
    for _ in range(8):
        child = subprocess.Popen(
            [sys.executable, "-c", script], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env
        )
        assert child.stdout is not None
        child.stdout.readline()
        time.sleep(generator.uniform(0.05, 0.4))
        child.send_signal(signal.SIGINT)
        out, err = child.communicate(timeout=60)
        assert child.returncode == 0 and out.strip() == "interrupted", out + err[-2000:]
        assert "Exception ignored" not in err


# --- resources a guest cannot exceed -----------------------------------------------------------


def encode_module(types: bytes, body: bytes, locals_: bytes = b"\x00") -> bytes:
    """A module of one function of type 0 exported as "f"; ``types`` is the type section's content."""

    def uleb(value: int) -> bytes:
        out = bytearray()
        while True:
            byte, value = value & 0x7F, value >> 7
            out.append(byte | (0x80 if value else 0))
            if not value:
                return bytes(out)

    def section(ident: int, content: bytes) -> bytes:
        return bytes([ident]) + uleb(len(content)) + content

    entry = locals_ + body
    code = b"\x01" + uleb(len(entry)) + entry
    return (
        b"\0asm\1\0\0\0"
        + section(1, types)
        + section(3, b"\x01\x00")
        + section(7, b"\x01\x01f\x00\x00")
        + section(10, code)
    )


def test_implementation_limits_refuse_at_validation() -> None:
    params = b"\x01\x60" + bytes([0xE9, 0x07]) + b"\x7f" * 1001 + b"\x00"  # 1,001 i32 parameters
    with pytest.raises(ImplementationLimitError, match="parameters of type 0: 1001 exceeds .* 1000"):
        Module(encode_module(params, b"\x0b"))
    ok = b"\x01\x60" + bytes([0xE8, 0x07]) + b"\x7f" * 1000 + b"\x00"
    Module(encode_module(ok, b"\x0b"))
    targets = 65_521
    br_table = b"\x02\x40\x41\x00\x0e" + bytes([0xF1, 0xFF, 0x03]) + b"\x00" * targets + b"\x00\x0b\x0b"
    with pytest.raises(ImplementationLimitError, match="br_table: 65521 targets"):
        Module(encode_module(b"\x01\x60\x00\x00", br_table))
    assert issubclass(ImplementationLimitError, wasmbox.ValidationError)


@pytest.mark.parametrize("engine", ENGINES)
def test_many_locals_recursing_are_bounded(engine: str) -> None:
    """37 bytes: a function of 50,000 locals calling itself once pushed the Python engines past 4 GB."""
    child = run_child(
        f"""
        from wasmbox import Exhaustion, Instance, Module, Store
        module = Module(bytes.fromhex("0061736d0100000001040160000003020100070501016600000a0a010801d086037e10000b"))
        try:
            Instance(Store({engine!r}), module).exports["f"]()
        except Exhaustion:
            print("exhausted")
        print(peak_resident_mb())
        """
    )
    assert child.returncode == 0, child.stderr[-2000:]
    lines = child.stdout.split()
    assert lines[0] == "exhausted" and int(lines[1]) < 1024, child.stdout


@pytest.mark.parametrize("engine", ENGINES)
def test_deep_nesting_runs(engine: str) -> None:
    depth = 3000
    body = b"\x41\x01" + b"\x02\x01" * depth + b"\x0b" * depth + b"\x0b"  # block (type 1): [i32] -> [i32]
    types = b"\x02\x60\x00\x01\x7f\x60\x01\x7f\x01\x7f"
    assert Instance(Store(engine), Module(encode_module(types, body))).exports["f"]() == 1


@pytest.mark.parametrize("engine", ENGINES)
def test_dropped_instances_are_freed(engine: str) -> None:
    module = Module(
        '(module (memory (export "m") 1) (table 1 funcref) (func $f (export "f") (result i32) '
        '(i32.const 42)) (elem (i32.const 0) $f) (global (export "g") funcref (ref.func $f)))'
    )
    store = Store(engine)
    references = []
    for _ in range(50):
        instance = Instance(store, module)
        assert instance.exports["f"]() == 42
        references.append(weakref.ref(instance._instance))
        del instance
    gc.collect()
    assert sum(ref() is not None for ref in references) == 0


@pytest.mark.parametrize("engine", ENGINES)
def test_caught_exceptions_give_back_their_frames(engine: str) -> None:
    """Frames an exception unwinds did not give back their call depth on the native engine: a loop
    catching 30,000 exceptions from a callee ran out of stack."""
    module = Module(
        """(module (tag $t (param i32))
          (func $thrower (param i32) (throw $t (local.get 0)))
          (func (export "loop") (param i32) (result i32) (local i32)
            (loop $l
              (block $caught (result i32)
                (try_table (catch $t $caught) (call $thrower (local.get 1)))
                (i32.const 0))
              (local.set 1 (i32.add (i32.const 1)))
              (br_if $l (i32.lt_u (local.get 1) (local.get 0))))
            (local.get 1)))"""
    )
    assert Instance(Store(engine, max_call_depth=1000), module).exports["loop"](30_000) == 30_000


@pytest.mark.parametrize("engine", ENGINES)
def test_table_writes_reach_indirect_calls(engine: str) -> None:
    """Native code calls through a mirror of the table, now updated write by write."""
    module = Module(
        """(module (type $t (func (result i32))) (table (export "t") 4 funcref)
          (func $one (export "one") (result i32) (i32.const 1)) (func $two (export "two") (result i32) (i32.const 2))
          (func (export "set") (param i32 i32)
            (table.set (local.get 0) (if (result funcref) (local.get 1) (then (ref.func $two)) (else (ref.func $one)))))
          (func (export "grow") (result i32) (table.grow (ref.func $two) (i32.const 2)))
          (func (export "fill") (table.fill (i32.const 0) (ref.func $one) (table.size)))
          (func (export "call") (param i32) (result i32) (call_indirect (type $t) (local.get 0))))"""
    )
    instance = Instance(Store(engine), module)
    exports, table = instance.exports, instance.exports["t"]
    assert isinstance(table, Table)
    with pytest.raises(Trap, match="uninitialized element"):
        exports["call"](0)
    exports["set"](0, 1)
    assert exports["call"](0) == 2
    table.set(0, exports["one"])
    assert exports["call"](0) == 1
    assert exports["grow"]() == 4 and exports["call"](5) == 2
    exports["fill"]()
    assert [exports["call"](i) for i in range(6)] == [1] * 6
    table.set(3, None)
    with pytest.raises(Trap, match="uninitialized element"):
        exports["call"](3)
    table.grow(100, exports["two"])
    assert exports["call"](105) == 2 and exports["call"](2) == 1


@pytest.mark.parametrize("engine", ["interp", "baseline"])  # (tiered reaches machine code, which has its guard)
def test_python_engines_use_no_c_stack_per_wasm_call(engine: str) -> None:
    """Why deep recursion on the Python engines cannot overflow the C stack: a wasm call there is a
    plain Python call, which CPython 3.11 makes without a C frame."""
    from wasmbox.runtime import stack

    if stack.stack_pointer() is None:
        pytest.skip("no way to read the stack pointer on this platform")
    store = Store(engine)
    seen: list[int] = []

    def probe() -> None:
        seen.append(stack.stack_pointer() or 0)

    module = Module(
        """(module (import "h" "probe" (func $probe))
          (func $down (export "down") (param i32)
            (if (i32.eqz (local.get 0)) (then (call $probe))
              (else (call $down (i32.sub (local.get 0) (i32.const 1)))))))"""
    )
    down = Instance(store, module, {"h": {"probe": Func(store, FuncType(), probe)}}).exports["down"]
    down(10)
    down(2010)
    assert abs(seen[0] - seen[1]) / 2000 < 16, seen


@pytest.mark.parametrize("engine", ENGINES)
def test_address_space_exhaustion_is_typed_and_recovers(engine: str) -> None:
    """Each memory reserves its maximum size of address space; under RLIMIT_AS that runs out, which
    must be a typed error, and dropping instances must give it back."""
    child = run_child(
        f"""
        import gc, resource
        from wasmbox import Exhaustion, Instance, Module, Store
        module = Module('(module (memory (export "m") 1) (func (export "f") (result i32) (i32.const 7)))')
        store = Store({engine!r})
        Instance(store, module).exports["f"]()
        resource.setrlimit(resource.RLIMIT_AS, (14 << 30, 14 << 30))
        kept = []
        try:
            for _ in range(64):
                kept.append(Instance(store, module))
        except Exhaustion as error:
            print("refused", error.kind)
        kept.clear()
        gc.collect()
        print("recovered", Instance(store, module).exports["f"]())
        """
    )
    assert child.returncode == 0, child.stderr[-2000:]
    assert child.stdout.split("\n")[:2] == ["refused resource limit exceeded", "recovered 7"], child.stdout
