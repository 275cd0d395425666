"""Loading a serialized module in a fresh process: deserialize + instantiate, and the first call.

Usage: python -m benchmarks.serialize [--functions 300] [--runs 3]

A module of ``--functions`` functions (each a small loop calling the next, so
every one is real code for LLVM) is compiled once here (``Module.compile``)
and serialized.  Each run starts a fresh Python process (``wasmbox`` already
imported before the clock starts, as in a worker process) that deserializes
the bytes, instantiates them and calls the module's entry once; it reports
deserialize + instantiate time, first-call time (linking the shipped code
happens there), their sum, whether the process had to compile anything
(``Module.compiled``) and whether it imported llvmlite.  Each run gets an
empty code cache, as a worker on a fresh machine would.  Beside it, the same from the
module's bytes with an empty code cache: what a worker pays without the
serialized code.  Medians over ``--runs``.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

CHILD = r"""
import json, sys, time
from wasmbox import Instance, Module, Store
data = open(sys.argv[1], "rb").read()
mode = sys.argv[2]
start = time.perf_counter()
module = Module.deserialize(data) if mode == "serialized" else Module(data)
compiled = module.compiled
instance = Instance(Store(), module)
ready = time.perf_counter()
result = instance.exports["run"](20000)
done = time.perf_counter()
print(json.dumps({"load": ready - start, "first_call": done - ready, "compiled_before": compiled, "result": result,
                  "llvmlite": "llvmlite" in sys.modules}))
"""


def module_text(functions: int) -> str:
    parts = ["(module"]
    for i in range(functions):
        callee = f"(call $f{i + 1} (local.get 1))" if i + 1 < functions else "(local.get 1)"
        parts.append(
            f"(func $f{i} (param i32) (result i32) (local i32) (local.set 1 (i32.const {i}))"
            f" (loop $l (local.set 1 (i32.add (i32.mul (local.get 1) (i32.const 31)) (local.get 0)))"
            f" (local.set 0 (i32.sub (local.get 0) (i32.const 1))) (br_if $l (i32.gt_s (local.get 0) (i32.const 0))))"
            f" (i32.xor (local.get 1) {callee}))"
        )
    parts.append('(func (export "run") (param i32) (result i32) (call $f0 (local.get 0))))')
    return "\n".join(parts)


def child(path: Path, mode: str, cache: str) -> dict[str, object]:
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src"), "WASMBOX_CACHE": cache}
    result = subprocess.run(
        [sys.executable, "-c", CHILD, str(path), mode], capture_output=True, text=True, check=True, env=env
    )
    return json.loads(result.stdout)  # type: ignore[no-any-return]


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--functions", type=int, default=300)
    parser.add_argument("--runs", type=int, default=3)
    options = parser.parse_args(argv)
    from wasmbox import Module, encode, parse_wat

    with tempfile.TemporaryDirectory() as scratch:
        binary = encode(parse_wat(module_text(options.functions)))
        plain = Path(scratch) / "module.wasm"
        plain.write_bytes(binary)
        serialized = Path(scratch) / "module.bin"
        serialized.write_bytes(Module(binary).compile().serialize())
        rows: dict[str, list[dict[str, object]]] = {"serialized": [], "bytes, empty cache": []}
        for run in range(options.runs):
            rows["serialized"].append(child(serialized, "serialized", str(Path(scratch) / f"cache-s{run}")))
            rows["bytes, empty cache"].append(child(plain, "bytes", str(Path(scratch) / f"cache-b{run}")))
    print(f"# {options.functions} functions, {len(binary)} bytes; medians of {options.runs} fresh processes")
    print(
        "| from | deserialize/load + instantiate ms | first call ms | total ms | compiled before the call"
        " | llvmlite imported |"
    )
    print("|---|---:|---:|---:|---|---|")
    for name, results in rows.items():
        load = statistics.median(float(r["load"]) for r in results) * 1000  # type: ignore[arg-type]
        first = statistics.median(float(r["first_call"]) for r in results) * 1000  # type: ignore[arg-type]
        total = statistics.median(float(r["load"]) + float(r["first_call"]) for r in results) * 1000  # type: ignore[arg-type]
        compiled = all(r["compiled_before"] for r in results)
        llvm = sorted({"yes" if r["llvmlite"] else "no" for r in results})
        assert len({r["result"] for r in results}) == 1
        print(f"| {name} | {load:.1f} | {first:.1f} | {total:.1f} | {'yes' if compiled else 'no'} | {'/'.join(llvm)} |")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
