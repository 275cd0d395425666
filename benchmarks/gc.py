"""GC (Wasm 3.0): binary trees, an allocation-heavy program, on wasmbox's engines and wasmtime-py.

Usage::

    python -m benchmarks.gc [--depth D] [--repeat R] [--engines interp,baseline,native,wasmtime]

The program (``PROGRAM``) is the binary-trees benchmark written in WAT with GC structs: for
each depth d from 4 to ``D`` (step 2) it builds 2^(D - d + 4) complete trees of depth d, walks
each to count its nodes and drops it, then builds and walks one tree of depth ``D``.  Every node
is a ``struct`` of two nullable references, so the run allocates millions of short-lived objects
and the engine's collector must reclaim them as it goes.  Each engine runs in its own process
(the native engine hands GC modules to the portable engine, see NOTES.md); reported: the median
run time over ``R`` runs (instantiation not included), nodes allocated per second, and the
process's peak resident memory (``ru_maxrss``).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
ENGINES = ("interp", "baseline", "native", "wasmtime")

PROGRAM = """(module
  (type $node (struct (field $left (ref null $node)) (field $right (ref null $node))))
  (func $make (param $depth i32) (result (ref $node))
    (if (result (ref $node)) (i32.eqz (local.get $depth))
      (then (struct.new $node (ref.null $node) (ref.null $node)))
      (else (struct.new $node
        (call $make (i32.sub (local.get $depth) (i32.const 1)))
        (call $make (i32.sub (local.get $depth) (i32.const 1)))))))
  (func $count (param $tree (ref null $node)) (result i32)
    (if (result i32) (ref.is_null (struct.get $node $left (local.get $tree)))
      (then (i32.const 1))
      (else (i32.add (i32.const 1) (i32.add
        (call $count (struct.get $node $left (local.get $tree)))
        (call $count (struct.get $node $right (local.get $tree))))))))
  ;; Nodes counted over all trees of the benchmark for a maximum depth.
  (func (export "run") (param $max i32) (result i64)
    (local $depth i32) (local $iterations i32) (local $total i64)
    (local.set $depth (i32.const 4))
    (block $done
      (loop $depths
        (br_if $done (i32.gt_s (local.get $depth) (local.get $max)))
        (local.set $iterations
          (i32.shl (i32.const 1) (i32.add (i32.sub (local.get $max) (local.get $depth)) (i32.const 4))))
        (loop $trees
          (local.set $total (i64.add (local.get $total)
            (i64.extend_i32_u (call $count (call $make (local.get $depth))))))
          (local.tee $iterations (i32.sub (local.get $iterations) (i32.const 1)))
          (br_if $trees))
        (local.set $depth (i32.add (local.get $depth) (i32.const 2)))
        (br $depths)))
    (i64.add (local.get $total) (i64.extend_i32_u (call $count (call $make (local.get $max))))))
)"""


def expected(depth: int) -> int:
    """The nodes the program counts (and allocates) for a maximum depth."""
    total = 0
    for d in range(4, depth + 1, 2):
        total += (1 << (depth - d + 4)) * ((1 << (d + 1)) - 1)
    return total + (1 << (depth + 1)) - 1


def run(engine: str, depth: int) -> tuple[float, int]:
    if engine == "wasmtime":
        import wasmtime

        config = wasmtime.Config()
        config.wasm_gc = True
        config.wasm_function_references = True
        wasm_engine = wasmtime.Engine(config)
        store = wasmtime.Store(wasm_engine)
        export = wasmtime.Instance(store, wasmtime.Module(wasm_engine, PROGRAM), []).exports(store)["run"]

        def call(d: int) -> Any:
            return export(store, d)

    else:
        from wasmbox import Instance, Module, Store

        call = Instance(Store(engine=engine), Module(PROGRAM)).exports["run"]
    start = time.perf_counter()
    nodes = call(depth)
    return time.perf_counter() - start, int(nodes)


def child(engine: str, depth: int, repeat: int) -> None:
    times = []
    for _ in range(repeat):
        elapsed, nodes = run(engine, depth)
        assert nodes == expected(depth), f"{engine}: {nodes} nodes, expected {expected(depth)}"
        times.append(elapsed)
    peak_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(json.dumps({"run": statistics.median(times), "peak_mb": peak_kb / 1024}))


def measure(engine: str, depth: int, repeat: int) -> dict[str, float]:
    env = dict(os.environ)
    env["PYTHONPATH"] = f"{ROOT / 'src'}{os.pathsep}{ROOT}"
    command = [sys.executable, "-m", "benchmarks.gc", "--child", engine, str(depth), str(repeat)]
    result = subprocess.run(command, capture_output=True, text=True, env=env, cwd=ROOT, timeout=3600)
    if result.returncode != 0:
        raise RuntimeError(f"{engine}: {result.stderr[-500:]}")
    return json.loads(result.stdout.splitlines()[-1])  # type: ignore[no-any-return]


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--child", nargs=3, metavar=("ENGINE", "DEPTH", "REPEAT"), help=argparse.SUPPRESS)
    parser.add_argument("--depth", type=int, default=14)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--engines", default=",".join(ENGINES))
    options = parser.parse_args(argv)
    if options.child:
        engine, depth, repeat = options.child
        child(engine, int(depth), int(repeat))
        return 0
    nodes = expected(options.depth)
    print(f"# binary trees to depth {options.depth}: {nodes:,} structs allocated per run; {platform.machine()}, "
          f"{os.cpu_count()} cores, Python {platform.python_version()}; median of {options.repeat}")  # fmt: skip
    print("| engine | run (s) | structs per s | peak RSS (MB) |")
    print("|---|---|---|---|")
    for engine in options.engines.split(","):
        found = measure(engine, options.depth, options.repeat)
        seconds = found["run"]
        print(f"| {engine} | {seconds:.3f} | {nodes / seconds:,.0f} | {found['peak_mb']:.0f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
