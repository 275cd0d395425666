"""The async ABI from Python: async exports run the event loop, async host imports return futures."""

from __future__ import annotations

import concurrent.futures
import sys
import threading

import pytest

from wasmbox.component import Component
from wasmbox.component.fibers import Fiber
from wasmbox.errors import Trap

CALLBACK_EXPORT = """(component
  (core module $M
    (import "" "task.return" (func $task.return (param i32)))
    (func (export "run") (param i32) (result i32)
      (global.set $x (local.get 0))
      (i32.const 1 (; YIELD ;)))
    (global $x (mut i32) (i32.const 0))
    (func (export "run-cb") (param i32 i32 i32) (result i32)
      (call $task.return (i32.mul (global.get $x) (i32.const 2)))
      (i32.const 0 (; EXIT ;))))
  (canon task.return (result u32) (core func $task.return))
  (core instance $m (instantiate $M (with "" (instance (export "task.return" (func $task.return))))))
  (func (export "run") async (param "x" u32) (result u32)
    (canon lift (core func $m "run") async (callback (core func $m "run-cb")))))"""

HOST_IMPORT = """(component
  (import "fetch" (func $fetch async (param "x" u32) (result u32)))
  (core module $Memory (memory (export "mem") 1))
  (core instance $memory (instantiate $Memory))
  (core module $M
    (import "" "task.return" (func $task.return (param i32)))
    (import "" "fetch" (func $fetch (param i32) (result i32)))
    (func (export "run")
      (call $task.return (i32.add (call $fetch (i32.const 20)) (i32.const 1)))))
  (canon task.return (result u32) (core func $task.return))
  (canon lower (func $fetch) (core func $fetch'))
  (core instance $m (instantiate $M (with "" (instance
    (export "task.return" (func $task.return))
    (export "fetch" (func $fetch'))))))
  (func (export "run") async (result u32) (canon lift (core func $m "run") async)))"""

DEADLOCK = """(component
  (core module $Memory (memory (export "mem") 1))
  (core instance $memory (instantiate $Memory))
  (core module $M
    (import "" "waitable-set.new" (func $new (result i32)))
    (import "" "waitable-set.wait" (func $wait (param i32 i32) (result i32)))
    (func (export "run") (drop (call $wait (call $new) (i32.const 0)))))
  (canon waitable-set.new (core func $new))
  (canon waitable-set.wait (memory (core memory $memory "mem")) (core func $wait))
  (core instance $m (instantiate $M (with "" (instance
    (export "waitable-set.new" (func $new)) (export "waitable-set.wait" (func $wait))))))
  (func (export "run") async (canon lift (core func $m "run") async)))"""


def test_async_export_with_callback_runs_its_event_loop_when_called_from_python() -> None:
    instance = Component(CALLBACK_EXPORT).instantiate()
    assert instance.exports["run"](21) == 42
    assert instance.exports["run"](5) == 10  # the instance is usable again: the task ended


def test_async_host_import_returning_a_future_blocks_the_task_until_the_future_completes() -> None:
    pending: list[concurrent.futures.Future[int]] = []

    def fetch(x: int) -> concurrent.futures.Future[int]:
        future: concurrent.futures.Future[int] = concurrent.futures.Future()
        pending.append(future)
        threading.Timer(0.05, future.set_result, (x * 2,)).start()  # completed later, on another thread
        return future

    instance = Component(HOST_IMPORT).instantiate({"fetch": fetch})
    assert instance.exports["run"]() == 41
    assert len(pending) == 1 and pending[0].done()


def test_async_host_import_may_also_return_a_plain_value() -> None:
    instance = Component(HOST_IMPORT).instantiate({"fetch": lambda x: x + 1})
    assert instance.exports["run"]() == 22


def test_waiting_on_nothing_is_a_deadlock_trap_not_a_hang() -> None:
    limit = sys.getrecursionlimit()
    instance = Component(DEADLOCK).instantiate()
    with pytest.raises(Trap, match="deadlock detected"):
        instance.exports["run"]()
    # The deadlocked task's stack is unwound, not parked for ever: its core call has ended (it had raised the
    # process's recursion limit for its duration) and its fiber's thread is gone.
    assert sys.getrecursionlimit() == limit
    fibers = [thread for thread in threading.enumerate() if thread.name == "wasmbox-fiber"]
    for thread in fibers:
        thread.join(timeout=10)
    assert not any(thread.is_alive() for thread in fibers)


def test_fibers_hand_values_back_and_forth_and_surface_errors() -> None:
    seen: list[int] = []

    def body(first: int) -> str:
        seen.append(first)
        seen.append(fiber.suspend("paused"))
        return "done"

    fiber = Fiber(body)
    assert fiber.resume(1) == "paused"
    assert fiber.resume(2) == "done"
    assert seen == [1, 2] and fiber.finished

    def failing(_: object) -> None:
        raise Trap("unreachable", "unreachable")

    with pytest.raises(Trap, match="unreachable"):
        Fiber(failing).resume()


def test_abandoned_fiber_unwinds() -> None:
    unwound: list[bool] = []

    def body(_: object) -> None:
        try:
            fiber.suspend()
        finally:
            unwound.append(True)

    fiber = Fiber(body)
    fiber.resume()
    fiber.abandon()
    assert unwound == [True]


# A stackful async export that waits on a stream end whose event is already pending (its write was met by a
# read in the same instance), called through an `async` lower by a synchronous export that returns the code.
WAIT_ON_READY_EVENT = """(component
  (component $Inner
    (core module $Memory (memory (export "mem") 1))
    (core instance $memory (instantiate $Memory))
    (core module $M
      (import "" "mem" (memory 1))
      (import "" "stream.new" (func $stream.new (result i64)))
      (import "" "stream.read" (func $stream.read (param i32 i32 i32) (result i32)))
      (import "" "stream.write" (func $stream.write (param i32 i32 i32) (result i32)))
      (import "" "waitable-set.new" (func $waitable-set.new (result i32)))
      (import "" "waitable-set.wait" (func $waitable-set.wait (param i32 i32) (result i32)))
      (import "" "waitable.join" (func $waitable.join (param i32 i32)))
      (import "" "task.return" (func $task.return))
      (func (export "f")
        (local $ends i64) (local $rx i32) (local $tx i32) (local $ws i32)
        (local.set $ends (call $stream.new))
        (local.set $rx (i32.wrap_i64 (local.get $ends)))
        (local.set $tx (i32.wrap_i64 (i64.shr_u (local.get $ends) (i64.const 32))))
        (if (i32.ne (call $stream.write (local.get $tx) (i32.const 16) (i32.const 4)) (i32.const -1))
          (then unreachable))
        (if (i32.ne (call $stream.read (local.get $rx) (i32.const 32) (i32.const 4)) (i32.const 0x40))
          (then unreachable))
        (local.set $ws (call $waitable-set.new))
        (call $waitable.join (local.get $tx) (local.get $ws))
        (if (i32.ne (call $waitable-set.wait (local.get $ws) (i32.const 0)) (i32.const 3 (; STREAM_WRITE ;)))
          (then unreachable))
        (call $task.return)))
    (type $ST (stream u8))
    (canon stream.new $ST (core func $stream.new))
    (canon stream.read $ST async (memory (core memory $memory "mem")) (core func $stream.read))
    (canon stream.write $ST async (memory (core memory $memory "mem")) (core func $stream.write))
    (canon waitable-set.new (core func $waitable-set.new))
    (canon waitable-set.wait (memory (core memory $memory "mem")) (core func $waitable-set.wait))
    (canon waitable.join (core func $waitable.join))
    (canon task.return (core func $task.return))
    (core instance $m (instantiate $M (with "" (instance
      (export "mem" (memory $memory "mem"))
      (export "stream.new" (func $stream.new))
      (export "stream.read" (func $stream.read))
      (export "stream.write" (func $stream.write))
      (export "waitable-set.new" (func $waitable-set.new))
      (export "waitable-set.wait" (func $waitable-set.wait))
      (export "waitable.join" (func $waitable.join))
      (export "task.return" (func $task.return))))))
    (func (export "f") async (canon lift (core func $m "f") async)))
  (component $Outer
    (import "f" (func $f async))
    (core module $Memory (memory (export "mem") 1))
    (core instance $memory (instantiate $Memory))
    (core module $M
      (import "" "f" (func $f (result i32)))
      (func (export "run") (result i32) (call $f)))
    (canon lower (func $f) async (memory (core memory $memory "mem")) (core func $f'))
    (core instance $m (instantiate $M (with "" (instance (export "f" (func $f'))))))
    (func (export "run") (result u32) (canon lift (core func $m "run"))))
  (instance $inner (instantiate $Inner))
  (instance $outer (instantiate $Outer (with "f" (func $inner "f"))))
  (export "run" (func $outer "run")))"""


def test_waiting_on_an_event_already_pending_does_not_yield_to_the_caller() -> None:
    # RETURNED (2), not STARTED with a subtask index: the wait found its event and the task ran on to its end.
    instance = Component(WAIT_ON_READY_EVENT).instantiate()
    assert instance.exports["run"]() == 2


# A write of 8 bytes met by a read of 4, then the writer cancels: the copy had made progress but was still
# going on (its progress event not yet delivered), so cancelling it reports CANCELLED with the 4 bytes copied.
CANCEL_AFTER_PARTIAL_COPY = """(component
  (core module $Memory (memory (export "mem") 1))
  (core instance $memory (instantiate $Memory))
  (core module $M
    (import "" "mem" (memory 1))
    (import "" "stream.new" (func $stream.new (result i64)))
    (import "" "stream.read" (func $stream.read (param i32 i32 i32) (result i32)))
    (import "" "stream.write" (func $stream.write (param i32 i32 i32) (result i32)))
    (import "" "stream.cancel-write" (func $stream.cancel-write (param i32) (result i32)))
    (func (export "run") (result i32)
      (local $ends i64) (local $rx i32) (local $tx i32) (local $cancelled i32)
      (local.set $ends (call $stream.new))
      (local.set $rx (i32.wrap_i64 (local.get $ends)))
      (local.set $tx (i32.wrap_i64 (i64.shr_u (local.get $ends) (i64.const 32))))
      (if (i32.ne (call $stream.write (local.get $tx) (i32.const 16) (i32.const 8)) (i32.const -1))
        (then unreachable))
      (if (i32.ne (call $stream.read (local.get $rx) (i32.const 32) (i32.const 4)) (i32.const 0x40))
        (then unreachable))
      (local.set $cancelled (call $stream.cancel-write (local.get $tx)))
      ;; the buffer came back: a new read finds no writer and blocks
      (if (i32.ne (call $stream.read (local.get $rx) (i32.const 32) (i32.const 4)) (i32.const -1))
        (then unreachable))
      (local.get $cancelled)))
  (type $ST (stream u8))
  (canon stream.new $ST (core func $stream.new))
  (canon stream.read $ST async (memory (core memory $memory "mem")) (core func $stream.read))
  (canon stream.write $ST async (memory (core memory $memory "mem")) (core func $stream.write))
  (canon stream.cancel-write $ST async (core func $stream.cancel-write))
  (core instance $m (instantiate $M (with "" (instance
    (export "mem" (memory $memory "mem"))
    (export "stream.new" (func $stream.new))
    (export "stream.read" (func $stream.read))
    (export "stream.write" (func $stream.write))
    (export "stream.cancel-write" (func $stream.cancel-write))))))
  (func (export "run") (result u32) (canon lift (core func $m "run"))))"""


def test_cancelling_a_copy_that_made_partial_progress_reports_cancelled_with_the_progress() -> None:
    instance = Component(CANCEL_AFTER_PARTIAL_COPY).instantiate()
    assert instance.exports["run"]() == 0x42  # CANCELLED (2) | 4 elements << 4
