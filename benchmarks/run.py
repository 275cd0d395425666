"""Benchmark runner: ../shared/bench programs on wasmbox and on peers, one run.

Usage::

    python -m benchmarks.run [--size small|large] [--peers wasmbox,pywasm,wasmtime]
                             [--programs fib,sieve,...] [--runs N] [--timeout SECONDS]

Each (peer, program) runs in its own Python process so that none warms up or
slows down another; the child reports its load time (decode/compile/
instantiate) and its run time (``_start``) and the program's output, which
must contain the checksum from ``manifest.json``.  The table gives run times
and the ratio of each peer's run time to the first peer's.  With ``--runs N`` each
cell is the median of N runs, the peers taking turns (a process's run time moves
with where its code and data land: the bench programs' large sizes measured
0.22-0.28 s from one process to the next on this machine, wasmtime's and
wasmbox's alike, so one run per cell is a coin toss at the 10% level).  Peers come from PyPI
(``pip install pywasm wasmtime``); ``gcc`` builds the C sources natively with
``-O2`` (its time is the whole process).  ``wasmbox:native`` and
``wasmbox:interp`` pick an engine; plain ``wasmbox`` is the portable one.
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
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BENCH = Path(os.environ.get("WASMBOX_BENCH", ROOT.parent / "shared" / "bench"))


def run_wasmbox(path: Path, args: list[str], engine: str) -> tuple[float, float, str]:
    from wasmbox import Linker, Module, Store, WasiExit
    from wasmbox.wasi import WasiConfig

    stdout = io.BytesIO()
    start = time.perf_counter()
    module = Module.from_file(path)
    linker = Linker(Store(engine))
    linker.define_wasi(WasiConfig(argv=[path.name, *args], stdout=stdout))  # type: ignore[arg-type]
    instance = linker.instantiate(module)
    loaded = time.perf_counter()
    try:
        instance.exports["_start"]()  # type: ignore[operator]
    except WasiExit as exit_:
        if exit_.code != 0:
            raise
    done = time.perf_counter()
    return loaded - start, done - loaded, stdout.getvalue().decode()


def run_pywasm(path: Path, args: list[str]) -> tuple[float, float, str]:
    import pywasm

    runtime = pywasm.core.Runtime()
    wasi = pywasm.wasi.Preview1([path.name, *args], {}, {})
    pipe = io.BytesIO()
    wasi.fd[1].pipe = pipe
    wasi.bind(runtime)
    start = time.perf_counter()
    module = runtime.instance_from_file(str(path))
    loaded = time.perf_counter()
    wasi.main(runtime, module)
    done = time.perf_counter()
    return loaded - start, done - loaded, pipe.getvalue().decode()


def run_wasmtime(path: Path, args: list[str]) -> tuple[float, float, str]:
    import wasmtime

    engine = wasmtime.Engine()
    store = wasmtime.Store(engine)
    with tempfile.TemporaryDirectory() as scratch:
        out = Path(scratch) / "stdout"
        config = wasmtime.WasiConfig()
        config.argv = [path.name, *args]
        config.stdout_file = str(out)
        store.set_wasi(config)
        start = time.perf_counter()
        module = wasmtime.Module.from_file(engine, str(path))
        linker = wasmtime.Linker(engine)
        linker.define_wasi()
        instance = linker.instantiate(store, module)
        loaded = time.perf_counter()
        try:
            instance.exports(store)["_start"](store)  # type: ignore[operator]
        except wasmtime.ExitTrap as exit_:
            if exit_.code != 0:
                raise
        done = time.perf_counter()
        return loaded - start, done - loaded, out.read_text()


def run_gcc(program: str, args: list[str]) -> tuple[float, float, str]:
    """The same C program built natively with ``gcc -O2`` (whole-process time, startup included)."""
    build = Path(tempfile.gettempdir()) / "wasmbox-bench-gcc"
    build.mkdir(exist_ok=True)
    binary = build / program
    start = time.perf_counter()
    if not binary.exists():
        source = BENCH / "src" / f"{program}.c"
        subprocess.run(["gcc", "-O2", "-o", str(binary), str(source), "-lm"], check=True)
    loaded = time.perf_counter()
    done = subprocess.run([str(binary), *args], capture_output=True, text=True, check=True)
    finished = time.perf_counter()
    return loaded - start, finished - loaded, done.stdout


def child(peer: str, program: str, size: str) -> None:
    manifest = json.loads((BENCH / "manifest.json").read_text())
    args = manifest[program][size]["args"]
    path = BENCH / "wasm" / f"{program}.wasm"
    if peer.startswith("wasmbox"):
        engine = peer.split(":", 1)[1] if ":" in peer else "interp"
        load, run, output = run_wasmbox(path, args, engine)
    elif peer == "pywasm":
        load, run, output = run_pywasm(path, args)
    elif peer == "wasmtime":
        load, run, output = run_wasmtime(path, args)
    elif peer == "gcc":
        load, run, output = run_gcc(program, args)
    else:
        raise SystemExit(f"unknown peer {peer}")
    print(json.dumps({"load": load, "run": run, "output": output}))


def measure(peer: str, program: str, size: str, timeout: float) -> dict[str, object]:
    command = [sys.executable, "-m", "benchmarks.run", "--child", peer, program, size]
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=timeout, cwd=ROOT)
    except subprocess.TimeoutExpired:
        return {"error": f"timeout {timeout:.0f}s"}
    if done.returncode != 0:
        return {"error": (done.stderr.strip().splitlines() or ["failed"])[-1][:80]}
    return dict(json.loads(done.stdout.strip().splitlines()[-1]))


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--child", nargs=3, metavar=("PEER", "PROGRAM", "SIZE"), help=argparse.SUPPRESS)
    parser.add_argument("--size", default="small", choices=["small", "large"])
    parser.add_argument("--peers", default="wasmbox,pywasm,wasmtime")
    parser.add_argument("--programs", default="")
    parser.add_argument("--runs", type=int, default=1, help="runs per peer and program (the median is shown)")
    parser.add_argument("--timeout", type=float, default=600.0)
    options = parser.parse_args(argv)
    if options.child:
        child(*options.child)
        return 0
    manifest = json.loads((BENCH / "manifest.json").read_text())
    programs = options.programs.split(",") if options.programs else list(manifest)
    peers = options.peers.split(",")
    print(f"# {options.size} sizes; {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}")
    print("# run time of _start in seconds (load = decode + compile + instantiate, not included)")
    if options.runs > 1:
        print(f"# median of {options.runs} runs per cell, the peers taking turns")
    header = "| program | " + " | ".join(peers) + " | " + " | ".join(f"{p}/{peers[0]}" for p in peers[1:]) + " |"
    print(header)
    print("|" + "---|" * (1 + 2 * len(peers) - 1))
    ratios: dict[str, list[float]] = {p: [] for p in peers[1:]}
    failures = 0
    for program in programs:
        expected = manifest[program][options.size]["checksum"]
        cells, runs = [], {}
        times: dict[str, list[float]] = {peer: [] for peer in peers}
        errors: dict[str, str] = {}
        for _ in range(max(options.runs, 1)):
            for peer in peers:
                if peer in errors:
                    continue
                result = measure(peer, program, options.size, options.timeout)
                if "error" in result:
                    errors[peer] = str(result["error"])
                elif expected not in str(result["output"]):
                    errors[peer] = "wrong checksum"
                else:
                    times[peer].append(float(result["run"]))  # type: ignore[arg-type]
        for peer in peers:
            if peer in errors:
                cells.append(errors[peer])
                failures += 1
                continue
            runs[peer] = statistics.median(times[peer])
            cells.append(f"{runs[peer]:.4f}")
        ratio_cells = []
        for peer in peers[1:]:
            if peer in runs and peers[0] in runs and runs[peers[0]] > 0:
                ratio = runs[peer] / runs[peers[0]]
                ratios[peer].append(ratio)
                ratio_cells.append(f"{ratio:.3g}")
            else:
                ratio_cells.append("-")
        print(f"| {program} | " + " | ".join(cells) + " | " + " | ".join(ratio_cells) + " |", flush=True)
    for peer, values in ratios.items():
        if values:
            print(
                f"median {peer}/{peers[0]} run-time ratio: {statistics.median(values):.3g} over {len(values)} programs"
            )
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
