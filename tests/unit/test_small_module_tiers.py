"""A small module's way to machine code (issue 13, cold start): its hot functions' own code first, then
the whole module's, on one native side; and the worker that makes it, a copy of the process.
"""

from __future__ import annotations

import os
import select
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import wasmbox
from wasmbox import Instance, Module, Store
from wasmbox.engines import tiers, translation_worker
from wasmbox.engines.interp import translation

pytestmark = pytest.mark.skipif("native" not in wasmbox.ENGINES, reason="machine code needs llvmlite")

# `work` loops long, calls `double` directly and `double`/`triple` through the table; `double` counts
# its calls in a mutable global (native code has a private copy, synced at every crossing).
SMALL = """(module
  (type $unary (func (param i32) (result i32)))
  (global $count (mut i32) (i32.const 0))
  (table 2 funcref)
  (elem (i32.const 0) $double $triple)
  (func $double (type $unary)
    (global.set $count (i32.add (global.get $count) (i32.const 1)))
    (i32.mul (local.get 0) (i32.const 2)))
  (func $triple (type $unary) (i32.mul (local.get 0) (i32.const 3)))
  (func $work (export "work") (param $n i32) (result i32) (local $s i32)
    (block $done
      (loop $again
        (br_if $done (i32.eqz (local.get $n)))
        (local.set $s (i32.add (local.get $s) (call $double (local.get $n))))
        (local.set $s (i32.add (local.get $s)
          (call_indirect (type $unary) (local.get $n) (i32.and (local.get $n) (i32.const 1)))))
        (local.set $n (i32.sub (local.get $n) (i32.const 1)))
        (br $again)))
    (local.get $s))
  (func (export "count") (result i32) (global.get $count)))"""

WORK = 2  # function indices
DOUBLE = 0


def doubled(n: int) -> int:
    """Calls of `double` in work(n): one per round, and one more through the table for even rounds."""
    return n + n // 2


def expected_work(n: int) -> int:
    return sum(2 * k + (3 * k if k % 2 else 2 * k) for k in range(1, n + 1))


@pytest.fixture
def tiered(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[tuple[Instance, Any]]:
    """An instance on the tiered engine whose moves happen here, at once (no worker, no timer), and
    its ``TieredFunctions``; no earlier run's code (a cache of its own)."""
    monkeypatch.setattr(tiers, "TRANSLATE_AFTER", 1)
    monkeypatch.setattr(tiers, "NATIVE_BLOCKS_PER_CALL", 50)
    monkeypatch.setattr(tiers, "NATIVE_BLOCKS_PER_CALL_OUT", 1)
    instance, functions = tiered_instance(monkeypatch, tmp_path, SMALL)
    yield instance, functions
    stop_module_timer(functions)


def tiered_instance(monkeypatch: pytest.MonkeyPatch, cache: Path, text: str) -> tuple[Instance, Any]:
    """``text`` instantiated on the tiered engine with no worker and no whole-module timer (the whole module's
    code only when a test asks), a code cache of its own, and its ``TieredFunctions``."""
    monkeypatch.setenv("WASMBOX_TRANSLATION_WORKER", "0")
    return instance_and_tiers(monkeypatch, cache, text)


def instance_and_tiers(monkeypatch: pytest.MonkeyPatch, cache: Path, text: str) -> tuple[Instance, Any]:
    """``text`` instantiated on the tiered engine with no whole-module timer and a code cache of its own, and
    its ``TieredFunctions``."""
    monkeypatch.setenv("WASMBOX_CACHE", str(cache))
    monkeypatch.setattr(tiers, "MODULE_NATIVE_AFTER", 3600.0)
    # The tiers without the quick compiler (a host it does not run on, or functions it does not take);
    # with it, hot functions get its code first (test_quick_compiler).
    monkeypatch.setattr(tiers, "_quick_supported", lambda: False)
    made: list[Any] = []
    stand_ins = tiers.TieredFunctions.stand_ins

    def record(self: Any) -> Any:
        made.append(self)
        return stand_ins(self)

    monkeypatch.setattr(tiers.TieredFunctions, "stand_ins", record)
    instance = Instance(Store("tiered"), Module(text))
    (functions,) = made
    assert functions.native is not None and functions.native.whole  # a small module
    return instance, functions


def stop_module_timer(functions: Any) -> None:
    if functions.module_timer is not None:
        functions.module_timer.cancel()  # (a thread left waiting would keep later tests from forking)
        functions.module_timer.join()


def is_native(instance: Instance, index: int) -> bool:
    return hasattr(instance._instance.funcs[index].code, "native_address")


def test_a_small_modules_long_running_function_gets_machine_code_of_its_own_first(
    tiered: tuple[Instance, Any],
) -> None:
    instance, functions = tiered
    work, count = instance.exports["work"], instance.exports["count"]
    calls = 0
    while not is_native(instance, WORK):
        assert work(300) == expected_work(300)
        calls += 1
        assert calls < 20, "work never became machine code"
    assert not functions.native.ready()  # the whole module's code was not asked for
    assert functions.native._instance.lazy is not None  # compiled alone, calling through the code table
    assert work(300) == expected_work(300)
    assert count() == doubled(300) * (calls + 1)  # the global, shared by the Python tiers and machine code


def test_the_whole_modules_code_takes_over_the_same_native_side(tiered: tuple[Instance, Any]) -> None:
    from wasmbox.engines.native.engine import QUICK

    instance, functions = tiered
    work, count = instance.exports["work"], instance.exports["count"]
    while not is_native(instance, WORK):
        work(300)
    native_side = functions.native._instance
    before = count()
    functions.install_module(None, QUICK)
    assert functions.native.ready() and functions.native._instance is native_side
    assert native_side.lazy is None
    first = functions.first
    for index in range(first, first + 3):
        assert native_side.code_table[index] == native_side.addresses[index]
        assert is_native(instance, index)
    assert work(301) == expected_work(301)
    assert count() == before + doubled(301)
    # Code for one function that arrives after the whole module's is not used.
    late = functions.native.compile_function(WORK)
    assert late.native_address == native_side.addresses[WORK]


ROOT = Path(__file__).resolve().parents[2]
FORK_TEST_ALONE = "WASMBOX_FORK_TEST_ALONE"


def test_a_forked_worker_translates_as_this_process_does(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("WASMBOX_CACHE", str(tmp_path))
    if not translation_worker._fork_is_safe():
        # Earlier tests left threads in this process (a whole run's do), so here the worker would be
        # started, not forked: the test runs alone, in a fresh pytest process.
        if os.environ.get(FORK_TEST_ALONE):
            pytest.fail("threads run even in a fresh process: the forked worker cannot be tested")
        this_test = f"{Path(__file__).relative_to(ROOT)}::test_a_forked_worker_translates_as_this_process_does"
        command = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", this_test]
        done = subprocess.run(
            command, cwd=ROOT, env={**os.environ, FORK_TEST_ALONE: "1"}, capture_output=True, text=True, timeout=600
        )
        assert done.returncode == 0 and "1 passed" in done.stdout, done.stdout[-4000:] + done.stderr[-2000:]
        return
    module = Module(SMALL)
    view = module.ir
    binary = view.binary if view.binary is not None else wasmbox.encode(view)
    # A descriptor this process holds (as a guest's stdout pipe would be): the worker must let it go.
    read_end, write_end = os.pipe()
    worker = translation_worker.TranslationWorker(binary, view.features, view)
    delivered: list[Any] = []
    arrived = threading.Event()

    def deliver(kind: str, code: Any, extra: Any) -> None:
        delivered.append((kind, code))
        arrived.set()

    try:
        assert worker.pid != 0 and worker.process is None  # a copy of this process, not a new interpreter
        os.close(write_end)
        readable, _, _ = select.select([read_end], [], [], 60)
        assert readable and os.read(read_end, 1) == b""  # end of file: the worker holds no copy of it
        assert worker.request("python", WORK, False, 1.0, deliver)
        assert arrived.wait(60), "the worker sent nothing"
    finally:
        os.close(read_end)
        worker.close()
    kind, code = delivered[0]
    expected, _, _ = translation(view, WORK, view.func_types(), False)
    assert kind == "python" and code.co_code == expected.co_code and code.co_consts == expected.co_consts
    worker.thread.join(60)
    assert worker.pid == 0  # reaped: no zombie left behind


def test_the_worker_is_started_fresh_when_forking_is_not_safe(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WASMBOX_WORKER_START", "spawn")
    assert not translation_worker._fork_is_safe()
    monkeypatch.delenv("WASMBOX_WORKER_START")
    stop = threading.Event()
    other = threading.Thread(target=stop.wait, name="someone-elses")
    other.start()
    try:
        assert not translation_worker._fork_is_safe()  # it might hold a lock the copy would need
    finally:
        stop.set()
        other.join()


def test_a_long_call_that_calls_out_enters_machine_code_once_the_whole_module_is_machine_code(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """A loop calling other functions on every round gets no entry into machine code while they run in Python
    (each call would cross back); once the whole module is machine code its calls stay there, and the loop gets
    its entry (hashmap's main loop stayed on the baseline for the whole of a cold run: 78 s against 3 s)."""
    from wasmbox.engines.native.engine import QUICK

    monkeypatch.setattr(tiers, "TRANSLATE_AFTER", 10**6)  # `work` stays on the baseline
    monkeypatch.setattr(tiers, "NATIVE_BLOCKS_PER_CALL_OUT", 100)  # ... and counts as calling out too much
    # A module of its own: no other instance in this process has its machine code.
    salt = f"(global $salt i32 (i32.const {uuid.uuid4().int % 10**9}))\n  (table 2 funcref)"
    instance, functions = tiered_instance(monkeypatch, tmp_path, SMALL.replace("(table 2 funcref)", salt))
    try:
        assert instance.exports["work"](40) == expected_work(40)
        function = functions.baseline[WORK]
        assert function.calls_out * tiers.NATIVE_BLOCKS_PER_CALL_OUT > function.executed
        inside_loop = min(function.builder.loop_headers)
        functions.osr_wanted(function, 10**6, inside_loop)
        assert not function.osr  # its callees run in Python: no entry
        functions.install_module(None, QUICK)
        functions.osr_wanted(function, 10**6, inside_loop)
        assert function.osr  # now they are machine code too
    finally:
        stop_module_timer(functions)


RECURSIVE = """(module
  (func $fib (export "fib") (param $n i32) (result i32)
    (if (result i32) (i32.lt_u (local.get $n) (i32.const 2))
      (then (local.get $n))
      (else (i32.add (call $fib (i32.sub (local.get $n) (i32.const 1)))
                     (call $fib (i32.sub (local.get $n) (i32.const 2)))))))
  (func (export "variant") (result i32) (i32.const VARIANT)))"""


def test_a_recursive_function_runs_as_python_until_its_machine_code_arrives(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """fib's calls are short, but the calls it makes of itself stay in its machine code: the worker
    makes that, and meanwhile the portable engine's Python (made here at once) runs the calls."""
    text = RECURSIVE.replace("VARIANT", str(uuid.uuid4().int % 1_000_000))  # its own worker and cache files
    instance, functions = instance_and_tiers(monkeypatch, tmp_path, text)  # no whole-module code: fib's own
    fib = instance.exports["fib"]
    index = functions.first  # fib is the module's first function
    try:
        assert fib(20) == 6765  # long enough to get hot on the baseline
        assert functions.worker is not None, "no worker could start here"
        deadline = time.monotonic() + 120
        while not is_native(instance, index) and time.monotonic() < deadline:
            assert fib(15) == 610
        assert functions.translated >= 1  # Python ran its calls while the machine code was made
        assert is_native(instance, index), "fib's machine code never arrived"
        assert functions.native._instance.lazy is not None  # its own code, not the whole module's
        assert fib(24) == 46368
    finally:
        stop_module_timer(functions)


def test_the_worker_takes_many_requests_in_one_frame(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """``request_all`` (what a large module's run asks for at its exit: thousands of functions) is one frame;
    the worker makes each function of it, the highest priority first."""
    import io

    monkeypatch.setenv("WASMBOX_CACHE", str(tmp_path))
    module = Module("""(module
      (func (result i32) (i32.const 1)) (func (result i32) (i32.const 2)) (func (result i32) (i32.const 3)))""").ir
    requests, replies = io.BytesIO(), io.BytesIO()
    translation_worker._write_frame(requests, ("python*", -1, False, [[0, 1.0], [2, 3.0]]))
    requests.seek(0)
    translation_worker.serve_module(module, requests, replies)  # (returns when the requests end, all made)
    replies.seek(0)
    made = []
    while replies.tell() < len(replies.getvalue()):
        kind, index, interruptible, code, _ = translation_worker._read_frame(replies)
        assert code is not None
        made.append((kind, index, interruptible))
    assert made == [("python", 2, False), ("python", 0, False)]
