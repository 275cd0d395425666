"""Tail calls (Wasm 3.0): a program made of them, timed on wasmbox's engines and on wasmtime-py.

Usage::

    python -m benchmarks.tail_calls [--iterations N] [--repeat R] [--engines interp,baseline,native,wasmtime]

The program (``PROGRAM``) runs three chains of ``N`` tail calls each: a counting loop
(``return_call`` to itself), mutual recursion (``return_call`` between two functions) and
mutual recursion through a table between functions of different types
(``return_call_indirect``).  Each engine runs in its own process, under a store whose
``max_call_depth`` is 10, so the run also shows that the chains take constant stack.
Reported: the median run time of the three chains over ``R`` runs (instantiation, and the
native engine's compilation, not included), and nanoseconds per tail call.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
ENGINES = ("interp", "baseline", "native", "wasmtime")

PROGRAM = """(module
  (type $by_i64 (func (param i64) (result i64)))
  (type $by_three (func (param i64 i32 f64) (result i64)))
  (table 2 funcref)
  (elem (i32.const 0) $odd_three $even_indirect)
  (func $count (export "count") (param $n i64) (param $acc i64) (result i64)
    (if (result i64) (i64.eqz (local.get $n))
      (then (local.get $acc))
      (else (return_call $count (i64.sub (local.get $n) (i64.const 1)) (i64.add (local.get $acc) (i64.const 3))))))
  (func $even (export "even") (param $n i64) (result i64)
    (if (result i64) (i64.eqz (local.get $n)) (then (i64.const 1))
      (else (return_call $odd (i64.sub (local.get $n) (i64.const 1))))))
  (func $odd (param $n i64) (result i64)
    (if (result i64) (i64.eqz (local.get $n)) (then (i64.const 0))
      (else (return_call $even (i64.sub (local.get $n) (i64.const 1))))))
  (func $even_indirect (export "even_indirect") (param $n i64) (result i64)
    (if (result i64) (i64.eqz (local.get $n)) (then (i64.const 1))
      (else (return_call_indirect (type $by_three)
        (i64.sub (local.get $n) (i64.const 1)) (i32.const 7) (f64.const 0.5) (i32.const 0)))))
  (func $odd_three (param $n i64) (param i32) (param f64) (result i64)
    (if (result i64) (i64.eqz (local.get $n)) (then (i64.const 0))
      (else (return_call_indirect (type $by_i64) (i64.sub (local.get $n) (i64.const 1)) (i32.const 1)))))
)"""


def expected(iterations: int) -> list[int]:
    parity = 1 - iterations % 2
    return [3 * iterations, parity, parity]


def run_chains(engine: str, iterations: int) -> tuple[float, list[int]]:
    """Instantiate the program on ``engine`` and time the three chains."""
    if engine == "wasmtime":
        import wasmtime

        config = wasmtime.Config()
        config.wasm_tail_call = True
        wasm_engine = wasmtime.Engine(config)
        store = wasmtime.Store(wasm_engine)
        theirs = wasmtime.Instance(store, wasmtime.Module(wasm_engine, PROGRAM), []).exports(store)
        calls: list[Any] = [lambda *args, f=theirs[n]: f(store, *args) for n in ("count", "even", "even_indirect")]
    else:
        from wasmbox import Instance, Module, Store

        ours = Instance(Store(engine=engine, max_call_depth=10), Module(PROGRAM)).exports
        calls = [ours["count"], ours["even"], ours["even_indirect"]]
    start = time.perf_counter()
    results = [calls[0](iterations, 0), calls[1](iterations), calls[2](iterations)]
    return time.perf_counter() - start, results


def child(engine: str, iterations: int, repeat: int) -> None:
    times = []
    for _ in range(repeat):
        elapsed, results = run_chains(engine, iterations)
        assert results == expected(iterations), f"{engine}: {results}"
        times.append(elapsed)
    print(json.dumps({"run": statistics.median(times)}))


def measure(engine: str, iterations: int, repeat: int) -> float:
    env = dict(os.environ)
    env["PYTHONPATH"] = f"{ROOT / 'src'}{os.pathsep}{ROOT}"
    command = [sys.executable, "-m", "benchmarks.tail_calls", "--child", engine, str(iterations), str(repeat)]
    result = subprocess.run(command, capture_output=True, text=True, env=env, cwd=ROOT, timeout=3600)
    if result.returncode != 0:
        raise RuntimeError(f"{engine}: {result.stderr[-500:]}")
    return float(json.loads(result.stdout.splitlines()[-1])["run"])


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--child", nargs=3, metavar=("ENGINE", "ITERATIONS", "REPEAT"), help=argparse.SUPPRESS)
    parser.add_argument("--iterations", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--engines", default=",".join(ENGINES))
    options = parser.parse_args(argv)
    if options.child:
        engine, iterations, repeat = options.child
        child(engine, int(iterations), int(repeat))
        return 0
    calls = 3 * options.iterations
    print(f"# {calls:,} tail calls in three chains; {platform.machine()}, {os.cpu_count()} cores, "
          f"Python {platform.python_version()}; median of {options.repeat}")  # fmt: skip
    print("| engine | run (s) | ns per tail call |")
    print("|---|---|---|")
    for engine in options.engines.split(","):
        seconds = measure(engine, options.iterations, options.repeat)
        print(f"| {engine} | {seconds:.3f} | {seconds / calls * 1e9:.0f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
