"""Fan a module's calls out over worker processes, compiling it once.

A ``wasmbox.Module`` pickles as its serialized form, machine code included
(``Module.compile`` makes the code now; otherwise it is made when the module
gets hot), so ``concurrent.futures.ProcessPoolExecutor`` (with the ``spawn``
start method, which starts each worker from nothing) ships the compiled
module to every worker once, and no worker compiles it again.

Run: ``python examples/process_pool.py [WORKERS] [TASKS]``.  Each task counts
the primes below a bound in wasm; the output gives the total, and for each
worker whether the machine code had to be made there (it must not) and how
long its first call took.
"""

from __future__ import annotations

import os
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from multiprocessing import get_context

from wasmbox import Instance, Module, Store

PRIMES = """(module
  (func (export "count_primes") (param $from i32) (param $to i32) (result i32)
    (local $n i32) (local $d i32) (local $count i32) (local $prime i32)
    (local.set $n (local.get $from))
    (block $done
      (loop $numbers
        (br_if $done (i32.ge_u (local.get $n) (local.get $to)))
        (local.set $prime (i32.ge_u (local.get $n) (i32.const 2)))
        (local.set $d (i32.const 2))
        (block $checked
          (loop $divisors
            (br_if $checked (i32.gt_u (i32.mul (local.get $d) (local.get $d)) (local.get $n)))
            (if (i32.eqz (i32.rem_u (local.get $n) (local.get $d)))
              (then (local.set $prime (i32.const 0)) (br $checked)))
            (local.set $d (i32.add (local.get $d) (i32.const 1)))
            (br $divisors)))
        (local.set $count (i32.add (local.get $count) (local.get $prime)))
        (local.set $n (i32.add (local.get $n) (i32.const 1)))
        (br $numbers)))
    (local.get $count)))"""

_instance: Instance | None = None
_first_call: float | None = None
_compiled_here = False


def start_worker(module: Module) -> None:
    """Runs once per worker: the module arrived already compiled (unpickled with its machine code)."""
    global _instance, _compiled_here
    _compiled_here = not module.compiled
    _instance = Instance(Store(), module)


def count(bounds: tuple[int, int]) -> tuple[int, int, bool, float | None]:
    global _first_call
    assert _instance is not None
    started = time.perf_counter()
    result = _instance.exports["count_primes"](*bounds)
    if _first_call is None:
        _first_call = time.perf_counter() - started
    return result, os.getpid(), _compiled_here, _first_call  # type: ignore[return-value]


def main(workers: int = 2, tasks: int = 8, limit: int = 400_000) -> int:
    module = Module(PRIMES).compile()  # machine code made once, here
    step = limit // tasks
    chunks = [(i * step, (i + 1) * step) for i in range(tasks)]
    with ProcessPoolExecutor(
        workers, mp_context=get_context("spawn"), initializer=start_worker, initargs=(module,)
    ) as pool:
        results = list(pool.map(count, chunks))
    total = sum(result for result, *_ in results)
    print(f"primes below {limit}: {total}")
    for pid in sorted({pid for _, pid, _, _ in results}):
        compiled, first = next((c, f) for _, p, c, f in results if p == pid)
        print(f"worker {pid}: compiled there: {'yes' if compiled else 'no'}, first call {first * 1000:.1f} ms")
    return total


if __name__ == "__main__":
    main(*(int(argument) for argument in sys.argv[1:3]))
