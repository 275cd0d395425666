"""What the tracer/debugger/profiler hooks cost: nothing when off, and how much when on.

Usage::

    python -m benchmarks.observer_cost --baseline DIR [--size small|large] [--repeat N]

``DIR`` is a checkout of wasmbox from before the hooks existed (for example
``git worktree add /tmp/before 2dc2122``); its ``src`` is imported in the
baseline's child processes.  Each (mode, program) runs in its own process,
``--repeat`` times, and the median run time (``_start`` only) is reported:

* ``before``: the baseline checkout, no hooks in the engine at all;
* ``off``: this checkout, no observer (what every store without a tool runs);
* ``calls``: an observer of function entry and exit (what the profiler needs);
* ``instructions``: an observer of every instruction too (the tracer and debugger).
"""

from __future__ import annotations

import argparse
import io
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
BENCH = Path(os.environ.get("WASMBOX_BENCH", ROOT.parent / "shared" / "bench"))
MODES = ("before", "off", "calls", "instructions")


def child(mode: str, program: str, size: str, repeat: int) -> None:
    from wasmbox import Linker, Module, Store, WasiExit
    from wasmbox.wasi import WasiConfig

    observer: Any = None
    if mode in ("calls", "instructions"):
        from wasmbox.runtime.observer import Observer

        class Counting(Observer):
            wants_instructions = mode == "instructions"

        observer = Counting()
    spec = json.loads((BENCH / "manifest.json").read_text())[program][size]
    path = BENCH / "wasm" / f"{program}.wasm"
    times = []
    for _ in range(repeat):
        stdout = io.BytesIO()
        store = Store() if observer is None else Store(observer=observer)
        linker = Linker(store)
        linker.define_wasi(WasiConfig(argv=[path.name, *spec["args"]], stdout=stdout))  # type: ignore[arg-type]
        instance = linker.instantiate(Module.from_file(path))
        start = time.perf_counter()
        try:
            instance.exports["_start"]()  # type: ignore[operator]
        except WasiExit:
            pass
        times.append(time.perf_counter() - start)
        assert spec["checksum"] in stdout.getvalue().decode(), f"{program}: wrong output"
    print(json.dumps({"run": statistics.median(times)}))


def measure(mode: str, program: str, size: str, repeat: int, baseline: Path) -> float:
    env = dict(os.environ)
    source = baseline / "src" if mode == "before" else ROOT / "src"
    env["PYTHONPATH"] = f"{source}{os.pathsep}{ROOT}"
    command = [sys.executable, "-m", "benchmarks.observer_cost", "--child", mode, program, size, str(repeat)]
    result = subprocess.run(command, capture_output=True, text=True, env=env, cwd=ROOT, timeout=3600)
    if result.returncode != 0:
        raise RuntimeError(f"{mode} {program}: {result.stderr[-500:]}")
    return float(json.loads(result.stdout.splitlines()[-1])["run"])


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--child", nargs=4, help=argparse.SUPPRESS)
    parser.add_argument("--baseline", type=Path, help="a checkout from before the hooks")
    parser.add_argument("--size", default="small", choices=["small", "large"])
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--programs", default="")
    args = parser.parse_args(argv)
    if args.child:
        mode, program, size, repeat = args.child
        child(mode, program, size, int(repeat))
        return 0
    if args.baseline is None:
        parser.error("--baseline DIR is required")
    manifest = json.loads((BENCH / "manifest.json").read_text())
    programs = args.programs.split(",") if args.programs else list(manifest)
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}")
    print(f"size {args.size}, median of {args.repeat} runs per cell, run time of _start in ms")
    print("| program | before | off | off/before | calls | calls/off | instructions | instructions/off |")
    print("|---|---|---|---|---|---|---|---|")
    ratios = []
    for program in programs:
        t = {mode: measure(mode, program, args.size, args.repeat, args.baseline) for mode in MODES}
        ratios.append(t["off"] / t["before"])
        print(
            f"| {program} | {t['before'] * 1e3:.1f} | {t['off'] * 1e3:.1f} | {t['off'] / t['before']:.2f} "
            f"| {t['calls'] * 1e3:.1f} | {t['calls'] / t['off']:.1f} "
            f"| {t['instructions'] * 1e3:.1f} | {t['instructions'] / t['off']:.1f} |",
            flush=True,
        )
    print(f"median off/before: {statistics.median(ratios):.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
