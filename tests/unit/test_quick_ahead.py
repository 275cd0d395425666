"""Quick code compiled ahead by the translation worker (``native.quick_ahead``, ``TranslationWorker.plan_quick``).

The worker guesses which functions the program calls next and compiles them on the other core; the program takes
the code instead of compiling it.  What must hold: the guess follows calls (direct calls in the order of the code,
then what the start function, exports and tables reach, never what nothing references), the code made there is the
code the program would have made byte for byte, and a worker whose host addresses differ from the program's makes
none.  The worker is forked, so the checks that need one run in a fresh interpreter (a test process may hold other
threads, and then no worker is forked).
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from wasmbox import Module
from wasmbox.engines.native.quick import quick_supported
from wasmbox.engines.native.quick_ahead import FirstCallOrder

ROOT = Path(__file__).resolve().parents[2]

CALLS = """(module
  (table 2 funcref)
  (elem (i32.const 0) $in_table)
  (func $first (call $b) (call $c))
  (func $b (call $d))
  (func $c)
  (func $d)
  (func $exported (export "e") (call $h))
  (func $in_table)
  (func $nothing_calls)
  (func $h (call $c)))"""


def test_the_guess_walks_direct_calls_then_exports_and_tables() -> None:
    module = Module(CALLS).ir
    order = FirstCallOrder(module, 0, lambda index: True)
    # $b, then what $b calls, then $c; then the export and what it calls; then the table's; never $nothing_calls.
    assert list(order) == [1, 3, 2, 4, 7, 5]


def test_functions_refused_are_left_out_but_their_callees_are_walked() -> None:
    module = Module(CALLS).ir
    assert list(FirstCallOrder(module, 0, lambda index: index not in (1, 4))) == [3, 2, 7, 5]


def test_the_program_compiling_a_function_itself_moves_the_walk_there() -> None:
    """The program needed the export before the walk got there: what the export calls comes next ($h, and $c
    which $h calls), then the walk goes on where it was ($d, under $b)."""
    module = Module(CALLS).ir
    order = FirstCallOrder(module, 0, lambda index: True)
    assert next(order) == 1
    order.program_at(4)
    assert list(order) == [7, 2, 3, 5]


PROGRAM = r'''
import sys, time
from wasmbox import Instance, Module, Store
from wasmbox.engines import tiers
from wasmbox.engines.native import engine, quick
from wasmbox.engines.translation_worker import TranslationWorker

TEXT = """(module
  (type $unary (func (param i32) (result i32)))
  (table 1 funcref)
  (elem (i32.const 0) $in_table)
  (func $first (export "first") (result i32) (i32.const 1))
  (func $square (param i32) (result i32) (i32.mul (local.get 0) (local.get 0)))
  (func (export "sum") (param $n i32) (result i32) (local $s i32)
    (loop $again (local.set $s (i32.add (local.get $s) (call $square (local.get $n))))
      (local.set $n (i32.sub (local.get $n) (i32.const 1))) (br_if $again (local.get $n)))
    (local.get $s))
  (func $in_table (param i32) (result i32) (i32.add (local.get 0) (i32.const 7)))
  (func (export "indirect") (param i32) (result i32) (call_indirect (type $unary) (local.get 0) (i32.const 0)))
  (func $never (result i32) (i32.const 3)))"""
AHEAD = {1, 2, 3, 4}  # all but $first (the program compiles it) and $never (nothing calls it)


def made_ahead(worker, wanted, seconds=60.0):
    deadline = time.monotonic() + seconds
    while True:
        worker.take_quick(-1, True)  # (reads what has arrived)
        found = {index for index, _ in worker.ahead.made}
        if len(found) >= wanted or time.monotonic() > deadline:
            return found
        time.sleep(0.01)


# The worker itself: no code from a plan whose addresses are not its own; the program's code, byte for byte.
ir = Module(TEXT).ir
quick.embedded_addresses()  # (the host callbacks exist before the fork)
worker = TranslationWorker(ir.binary, frozenset(), ir)
assert worker.ahead is not None, "the worker was not forked"
worker._send(("quick-plan", 0, True, [1, 2, 3]))
time.sleep(1.0)
assert made_ahead(worker, 1, 0.0) == set(), "a plan with foreign addresses made code"
assert worker.plan_quick(0, True)
assert made_ahead(worker, len(AHEAD)) == AHEAD, worker.ahead.made.keys()
for (index, interruptible), made in sorted(worker.ahead.made.items()):
    assert made == quick.compile_with_door(ir, index, interruptible), f"function {index} differs"
worker.close()

# Through the tiers: a large module's functions come from the worker at their first calls.
engine.LAZY_FUNCTIONS = 0  # every module is a large one
tiers.NEXT_RUN_AFTER_QUICK = 10**9  # (no machine code for a next run: nothing left compiling at exit)
made = []
stand_ins = tiers.TieredFunctions.stand_ins
tiers.TieredFunctions.stand_ins = lambda self: made.append(self) or stand_ins(self)
compiled_here = []
compile_with_door = quick.compile_with_door
quick.compile_with_door = lambda module, index, interruptible: compiled_here.append(index) or compile_with_door(
    module, index, interruptible
)
instance = Instance(Store("tiered"), Module(TEXT))
(functions,) = made
assert instance.exports["first"]() == 1
worker = functions.worker
assert made_ahead(worker, len(AHEAD)) == AHEAD
reference = Instance(Store("baseline"), Module(TEXT))
assert instance.exports["sum"](20) == reference.exports["sum"](20)
assert instance.exports["indirect"](5) == reference.exports["indirect"](5) == 12
assert compiled_here == [0], compiled_here  # the rest came from the worker
assert not worker.ahead.made  # and all of it was taken
assert set(functions.native._instance.lazy.quick_only) == {0, 1, 2, 3, 4}
print("ok")
'''


@pytest.mark.skipif(not quick_supported() or sys.platform != "linux", reason="quick code runs on x86-64 Linux only")
def test_the_worker_makes_the_programs_code_and_the_program_takes_it(tmp_path: Path) -> None:
    environment = {
        **os.environ,
        "WASMBOX_CACHE": str(tmp_path),
        "WASMBOX_TRANSLATION_WORKER": "1",
        "PYTHONPATH": os.pathsep.join([str(ROOT / "src"), os.environ.get("PYTHONPATH", "")]),
    }
    if (os.cpu_count() or 1) < 2:
        pytest.skip("one core: no translation worker is started")
    done = subprocess.run(
        [sys.executable, "-c", PROGRAM], capture_output=True, text=True, timeout=300, env=environment, cwd=tmp_path
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert done.stdout.strip() == "ok"


def test_a_plan_stops_after_so_many_functions() -> None:
    module = Module(CALLS).ir
    assert list(FirstCallOrder(module, 0, lambda index: True, at_most=3)) == [1, 3, 2]


FULL_PIPE = r"""
import fcntl, termios, struct, threading, time
from wasmbox import Module
from wasmbox.engines.native import quick
from wasmbox.engines.translation_worker import TranslationWorker

steps = " ".join(f"(local.set 0 (i32.add (local.get 0) (i32.const {k})))" for k in range(600))
functions = [f'(func (export "f{n}") (param i32) (result i32) {steps} (local.get 0))' for n in range(150)]
text = "(module " + " ".join(functions) + ")"
ir = Module(text).ir
quick.embedded_addresses()
worker = TranslationWorker(ir.binary, frozenset(), ir)
assert worker.ahead is not None, "the worker was not forked"
assert worker.plan_quick(0, True)

def waiting() -> int:
    return struct.unpack("i", fcntl.ioctl(worker.ahead.descriptor, termios.FIONREAD, b"\0\0\0\0"))[0]

deadline = time.monotonic() + 120
last, still = -1, 0
while still < 20:  # the pipe is full (it holds ~1 MiB; 149 functions of ~9 KB of code do not fit): 1 s unchanged
    assert time.monotonic() < deadline, waiting()
    now = waiting()
    still = still + 1 if now == last and now > 500_000 else 0
    last = now
    time.sleep(0.05)
translated = threading.Event()
assert worker.request("python", 149, True, 1.0, lambda kind, code, extra: translated.set())
assert translated.wait(120), "a worker with its pipe full served nothing"
made = set()
while len(made) < 149 and time.monotonic() < deadline:  # the program reads: the plan goes on
    worker.take_quick(-1, True)
    made = {index for index, _ in worker.ahead.made}
    time.sleep(0.01)
assert made == set(range(1, 150)), sorted(set(range(1, 150)) - made)[:10]
worker.close()
print("ok")
"""


@pytest.mark.skipif(not quick_supported() or sys.platform != "linux", reason="quick code runs on x86-64 Linux only")
def test_a_worker_whose_pipe_is_full_still_serves_requests(tmp_path: Path) -> None:
    """A program in a long loop reads no code made ahead; the worker must still make what it is asked for (a
    hot function's code), and go on with the plan once the program reads again."""
    environment = {
        **os.environ,
        "WASMBOX_CACHE": str(tmp_path),
        "PYTHONPATH": os.pathsep.join([str(ROOT / "src"), os.environ.get("PYTHONPATH", "")]),
    }
    done = subprocess.run(
        [sys.executable, "-c", FULL_PIPE], capture_output=True, text=True, timeout=600, env=environment, cwd=tmp_path
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert done.stdout.strip() == "ok"
