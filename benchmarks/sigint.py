"""How fast Ctrl-C stops ``wasmbox run`` of an endless loop, on each engine.

Usage::

    python -m benchmarks.sigint [--engines interp,baseline,native,tiered] [--runs N] [--limit S]

The program is a WASI command whose ``_start`` prints ``ready`` and then runs ``(loop br 0)`` forever.  For each
run a fresh ``wasmbox run --engine E`` process starts (with an empty native-code cache, so the native engine
compiles and the tiered engine's background work is in flight), the parent waits for ``ready``, waits a
further random 0.1-1.0 s, sends SIGINT and measures the time until the process has exited.  A row PASSes when
every run ended within ``--limit`` seconds (default 0.5) with exit status 130 and a first stderr line of
``wasmbox: interrupted``, and no Python traceback.  Signals are sent by the parent, so the latency includes
the child's exit (atexit handlers, detaching a worker process).
"""

from __future__ import annotations

import argparse
import os
import random
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

PROGRAM = """(module
  (import "wasi_snapshot_preview1" "fd_write" (func $fd_write (param i32 i32 i32 i32) (result i32)))
  (memory (export "memory") 1)
  (data (i32.const 16) "ready\\n")
  (func (export "_start")
    (i32.store (i32.const 0) (i32.const 16))
    (i32.store (i32.const 4) (i32.const 6))
    (drop (call $fd_write (i32.const 1) (i32.const 0) (i32.const 1) (i32.const 8)))
    (loop $forever (br $forever))))
"""


def one_run(program: Path, engine: str, cache: Path, pause: float) -> tuple[float, int, str]:
    """Latency from SIGINT to exit, the exit status and the first line of stderr."""
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src"), "WASMBOX_CACHE": str(cache)}
    child = subprocess.Popen(
        [sys.executable, "-m", "wasmbox.cli", "run", "--engine", engine, str(program)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    assert child.stdout is not None
    if child.stdout.readline().strip() != "ready":
        child.kill()
        _, err = child.communicate()
        return float("inf"), -1, (err.strip().splitlines() or ["no ready line"])[0]
    time.sleep(pause)
    sent = time.perf_counter()
    child.send_signal(signal.SIGINT)
    try:
        _, err = child.communicate(timeout=30)
    except subprocess.TimeoutExpired:
        child.kill()
        _, err = child.communicate()
        return float("inf"), -9, "still running 30 s after SIGINT"
    latency = time.perf_counter() - sent
    first = err.strip().splitlines()[0] if err.strip() else ""
    if "Traceback" in err:
        first = "traceback: " + first
    return latency, child.returncode, first


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--engines", default="interp,baseline,native,tiered")
    parser.add_argument("--runs", type=int, default=10)
    parser.add_argument("--limit", type=float, default=0.5)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    generator = random.Random(args.seed)
    with tempfile.TemporaryDirectory() as scratch:
        program = Path(scratch) / "forever.wat"
        program.write_text(PROGRAM)
        print(f"{'engine':10} {'runs':>4} {'median s':>9} {'max s':>7}  statuses  verdict")
        for engine in args.engines.split(","):
            latencies: list[float] = []
            statuses: set[int] = set()
            problems: list[str] = []
            for run in range(args.runs):
                cache = Path(scratch) / f"cache-{engine}-{run}"
                latency, status, first = one_run(program, engine, cache, generator.uniform(0.1, 1.0))
                latencies.append(latency)
                statuses.add(status)
                if status != 130 or not first.startswith("wasmbox: interrupted") or latency > args.limit:
                    problems.append(f"run {run}: status {status}, {latency:.3f} s, {first!r}")
            verdict = "PASS" if not problems else "FAIL"
            shown = ",".join(map(str, sorted(statuses)))
            print(
                f"{engine:10} {len(latencies):>4} {statistics.median(latencies):>9.3f} {max(latencies):>7.3f}"
                f"  {shown:8}  {verdict}"
            )
            for problem in problems:
                print("    " + problem)


if __name__ == "__main__":
    main()
