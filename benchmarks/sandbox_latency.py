"""How promptly the sandbox stops runaway code.

Usage: python -m benchmarks.sandbox_latency [--runs N]

Measures, per engine, the wall time from calling an infinite loop under a
0.1 s deadline until the trap arrives (target: within 0.2 s), the same for an
infinite recursion-free loop with calls, and for ``store.interrupt()`` from a
timer thread after 0.1 s.  Reports median and worst over the runs.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import threading
import time

from wasmbox import ENGINES, Instance, Module, Store, Trap

LOOP = '(module (func (export "spin") (loop $l (br $l))))'
CALLS = '(module (func $f) (func (export "spin") (loop $l (call $f) (br $l))))'


def stop_time(store: Store, source: str, interrupt_after: float | None = None) -> float:
    spin = Instance(store, Module(source)).exports["spin"]
    timer = threading.Timer(interrupt_after, store.interrupt) if interrupt_after else None
    start = time.perf_counter()
    if timer is not None:
        timer.start()
    try:
        spin()  # type: ignore[operator]
    except Trap:
        pass
    return time.perf_counter() - start


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=20)
    options = parser.parse_args(argv)
    print("| engine | case | median s | worst s |")
    print("|---|---|---|---|")
    for engine in ENGINES:
        cases = {
            "deadline 0.1 s, tight loop": lambda e=engine: stop_time(Store(e, deadline=0.1), LOOP),
            "deadline 0.1 s, loop with calls": lambda e=engine: stop_time(Store(e, deadline=0.1), CALLS),
            "interrupt() after 0.1 s": lambda e=engine: stop_time(Store(e, interruptible=True), LOOP, 0.1),
        }
        for name, case in cases.items():
            times = [case() for _ in range(options.runs)]
            print(f"| {engine} | {name} | {statistics.median(times):.3f} | {max(times):.3f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
